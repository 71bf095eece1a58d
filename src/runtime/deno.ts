import { createClient } from '@libsql/client';
import { nodeKeyFiles, readTlsFiles } from './fs';
import type { RuntimeAdapter } from './types';

interface DenoServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}
declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    opts: { port: number; hostname: string; cert?: string; key?: string; onListen?(addr: { port: number }): void },
    handler: (req: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): DenoServer;
  addSignalListener(sig: 'SIGTERM' | 'SIGINT', fn: () => void): void;
  exit(code: number): never;
  stderr: { writeSync(b: Uint8Array): number };
};

export const denoAdapter: RuntimeAdapter = {
  name: 'deno',
  env: () => Deno.env.toObject(),
  serve(fetch, opts) {
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
              async close(graceMs) {
                let timer: ReturnType<typeof setTimeout> | undefined;
                await Promise.race([server.shutdown(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
                if (timer) clearTimeout(timer);
              },
            }),
        },
        (req, info) => fetch(req, { clientIp: info.remoteAddr.hostname }),
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
};
