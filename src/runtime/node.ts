import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { processAdapterBase } from './fs';
import type { RuntimeAdapter } from './types';

export const nodeAdapter: RuntimeAdapter = {
  name: 'node',
  ...processAdapterBase,
  serve(fetch, opts) {
    return new Promise((resolve, reject) => {
      const server = serve(
        {
          fetch: (req, env: { incoming?: { socket?: { remoteAddress?: string } } }) => fetch(req, { clientIp: env?.incoming?.socket?.remoteAddress }),
          port: opts.port,
          hostname: opts.host,
          ...(opts.tls ? { createServer: createHttpsServer, serverOptions: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
        },
        (info: AddressInfo) =>
          resolve({
            port: info.port,
            close: (graceMs) =>
              new Promise<void>((done) => {
                const s = server as unknown as Server;
                const force = setTimeout(() => {
                  s.closeAllConnections?.();
                  done();
                }, graceMs);
                s.close(() => {
                  clearTimeout(force);
                  done();
                });
                s.closeIdleConnections?.();
              }),
          }),
      );
      (server as unknown as Server).once('error', reject);
    });
  },
};
