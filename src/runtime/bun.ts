import { processAdapterBase } from './fs';
import type { RuntimeAdapter } from './types';

interface BunServer {
  port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(req: Request): { address: string } | null;
}
declare const Bun: {
  serve(opts: {
    port: number;
    hostname: string;
    tls?: { cert: string; key: string };
    fetch(req: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
};

export const bunAdapter: RuntimeAdapter = {
  name: 'bun',
  ...processAdapterBase,
  async serve(fetch, opts) {
    const server = Bun.serve({
      port: opts.port,
      hostname: opts.host,
      ...(opts.tls ? { tls: opts.tls } : {}),
      fetch: (req, srv) => fetch(req, { clientIp: srv.requestIP(req)?.address }),
    });
    return {
      port: server.port,
      async close(graceMs) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          server.stop(false),
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
