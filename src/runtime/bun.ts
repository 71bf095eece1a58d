import { argon2Thread } from './argon2-thread';
import { processAdapterBase } from './fs';
import type { RuntimeAdapter } from './types';
import { closeReason, type WsHandlers, type WsPeer } from '../ws/types';
import { ConnectionWatch } from './settle';

interface BunSocket {
  data: { h: WsHandlers; peer?: WsPeer };
  readyState: number;
  send(data: Uint8Array): number;
  close(code?: number, reason?: string): void;
  ping(): void;
  getBufferedAmount(): number;
}
interface BunServer {
  port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(req: Request): { address: string; port: number } | null;
  upgrade(req: Request, opts: { data: BunSocket['data'] }): boolean;
}
declare const Bun: {
  serve(opts: {
    port: number;
    hostname: string;
    tls?: { cert: string; key: string };
    fetch(req: Request, server: BunServer): Response | undefined | Promise<Response | undefined>;
    websocket: {
      perMessageDeflate: boolean;
      maxPayloadLength: number;
      idleTimeout: number;
      sendPings: boolean;
      open(ws: BunSocket): void;
      message(ws: BunSocket, msg: string | Uint8Array): void;
      close(ws: BunSocket, code: number, reason: string): void;
    };
  }): BunServer;
};

export const bunAdapter: RuntimeAdapter = {
  name: 'bun',
  ...processAdapterBase,
  argon2: argon2Thread,
  async serve(fetch, opts) {
    const live = new Set<BunSocket>();
    const watch = new ConnectionWatch();
    const pinger = setInterval(() => {
      for (const ws of live) if (ws.readyState === 1) ws.ping();
    }, opts.ws.pingIntervalMs);
    const server = Bun.serve({
      port: opts.port,
      hostname: opts.host,
      ...(opts.tls ? { tls: opts.tls } : {}),
      fetch: async (req, srv) => {
        let upgraded = false;
        const peer = srv.requestIP(req);
        const seen = watch.begin(`${peer?.address}:${peer?.port}`);
        let res: Response | undefined;
        try {
          res = await fetch(req, {
            clientIp: peer?.address,
            upgrade: (h) => {
              upgraded = srv.upgrade(req, { data: { h } });
              return upgraded ? new Response(null, { status: 200 }) : new Response('upgrade failed', { status: 400 });
            },
          });
        } finally {
          await seen.end(upgraded ? undefined : res);
        }
        return upgraded ? undefined : res;
      },
      websocket: {
        perMessageDeflate: false,
        maxPayloadLength: opts.ws.maxPayload,
        idleTimeout: Math.min(960, Math.max(1, Math.round((2 * opts.ws.pingIntervalMs) / 1000))),
        sendPings: true,
        open(ws) {
          live.add(ws);
          const peer: WsPeer = {
            send: (data) => {
              if (ws.readyState === 1) ws.send(data);
            },
            close: (code, reason) => {
              if (ws.readyState <= 1) ws.close(code, closeReason(reason));
            },
            bufferedAmount: () => ws.getBufferedAmount(),
            get isOpen() {
              return ws.readyState === 1;
            },
          };
          ws.data.peer = peer;
          ws.data.h.open(peer);
        },
        message(ws, msg) {
          ws.data.h.message(typeof msg === 'string' ? msg : new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
        },
        close(ws, code, reason) {
          live.delete(ws);
          ws.data.h.close(code, reason);
        },
      },
    });
    return {
      port: server.port,
      dropWebSockets: () => clearInterval(pinger),
      async close(graceMs) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          watch.drain(graceMs, () => server.stop(false)),
          new Promise<void>((r) => {
            timer = setTimeout(() => {
              void server.stop(true);
              r();
            }, graceMs);
          }),
        ]);
        if (timer) clearTimeout(timer);
      },
    };
  },
};
