import { createClient, nodeKeyFiles, readTlsFiles } from './fs';
import type { RuntimeAdapter } from './types';
import { argon2Thread } from './argon2-thread';
import { nodeEd25519 } from './ed25519-node';
import { nodeWalCheckpointer } from './wal-checkpoint-node';
import { closeReason, type WsHandlers, type WsPeer } from '../ws/types';
import { ConnectionWatch } from './settle';

interface DenoSocket {
  readyState: number;
  bufferedAmount: number;
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((e: { data: string | ArrayBuffer }) => void) | null;
  onclose: ((e: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
}

interface DenoServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}
declare const Deno: {
  env: { toObject(): Record<string, string> };
  args: string[];
  serve(
    opts: { port: number; hostname: string; cert?: string; key?: string; onListen?(addr: { port: number }): void },
    handler: (req: Request, info: { remoteAddr: { hostname: string; port: number } }) => Response | Promise<Response>,
  ): DenoServer;
  upgradeWebSocket(req: Request, opts: { idleTimeout: number }): { socket: DenoSocket; response: Response };
  addSignalListener(sig: 'SIGTERM' | 'SIGINT', fn: () => void): void;
  exit(code: number): never;
  stderr: { writeSync(b: Uint8Array): number };
  stdout: { writeSync(b: Uint8Array): number };
};

export const denoAdapter: RuntimeAdapter = {
  name: 'deno',
  // Deno runs node:worker_threads and the N-API bindings (sodium-native, libsql), so agent signatures
  // (libsodium thread) and WAL checkpoints (checkpoint thread) work as on Node, and take that work off the
  // event loop's thread there too.
  ed25519: nodeEd25519,
  walCheckpointer: nodeWalCheckpointer,
  argon2: argon2Thread,
  env: () => Deno.env.toObject(),
  args: () => [...Deno.args],
  serve(fetch, opts) {
    const watch = new ConnectionWatch();
    return new Promise((resolve) => {
      let server: DenoServer;
      // eslint-disable-next-line prefer-const
      server = Deno.serve(
        {
          port: opts.port,
          hostname: opts.host,
          ...(opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : {}),
          onListen: (addr) =>
            resolve({
              port: addr.port,
              // Deno closes upgraded sockets with the server; the sessions' drain has closed them before.
              dropWebSockets: () => {},
              async close(graceMs) {
                let timer: ReturnType<typeof setTimeout> | undefined;
                await Promise.race([
                  watch.drain(graceMs, () => server.shutdown()),
                  new Promise<void>((r) => (timer = setTimeout(r, graceMs))),
                ]);
                if (timer) clearTimeout(timer);
              },
            }),
        },
        async (req, info) => {
          const seen = watch.begin(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
          let res: Response | undefined;
          try {
            res = await fetch(req, {
              clientIp: info.remoteAddr.hostname,
              // Deno pings an idle socket itself and closes it when no pong comes within idleTimeout.
              upgrade: (h: WsHandlers) => {
                const { socket, response } = Deno.upgradeWebSocket(req, {
                  idleTimeout: Math.max(1, Math.round(opts.ws.pingIntervalMs / 1000)),
                });
                socket.binaryType = 'arraybuffer';
                const peer: WsPeer = {
                  send: (data) => {
                    if (socket.readyState === 1) socket.send(data);
                  },
                  close: (code, reason) => {
                    if (socket.readyState <= 1) socket.close(code, closeReason(reason));
                  },
                  bufferedAmount: () => socket.bufferedAmount,
                  get isOpen() {
                    return socket.readyState === 1;
                  },
                };
                socket.onopen = () => h.open(peer);
                socket.onmessage = (e) => {
                  if (typeof e.data !== 'string' && e.data.byteLength > opts.ws.maxPayload) return socket.close(1009, 'Message too big');
                  h.message(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
                };
                socket.onerror = () => {};
                socket.onclose = (e) => h.close(e.code, e.reason);
                return response;
              },
            });
          } finally {
            await seen.end(res);
          }
          return res;
        },
      );
    });
  },
  onShutdownSignal(handler) {
    let fired = false;
    const once = (sig: string) => () => {
      if (fired) return;
      fired = true;
      handler(sig);
    };
    Deno.addSignalListener('SIGTERM', once('SIGTERM'));
    Deno.addSignalListener('SIGINT', once('SIGINT'));
  },
  exit: (code) => Deno.exit(code),
  createClient,
  keyFiles: nodeKeyFiles,
  readTls: readTlsFiles,
  stderr: (line) => {
    Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`));
  },
  stdout: (line) => {
    Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
  },
};
