import { randomUUID } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { serve } from '@hono/node-server';
import { WebSocketServer, type WebSocket } from 'ws';
import { processAdapterBase } from './fs';
import { argon2Thread } from './argon2-thread';
import { nodeEd25519 } from './ed25519-node';
import { nodeWalCheckpointer } from './wal-checkpoint-node';
import type { Bindings } from '../http/types';
import type { FetchHandler, RuntimeAdapter, ServeOptions } from './types';
import { closeReason, type WsHandlers, type WsPeer } from '../ws/types';
import { ServiceError, errorBody } from '../errors';

/**
 * WebSocket upgrades on Node: the upgrade request goes through the app like any request (routing, auth
 * gate, upgrade gate); a route that accepts calls `upgrade(handlers)` and the socket is then handed to
 * `ws` (no extensions, bounded payload, a server ping on every socket every WS_PING_INTERVAL).
 */
function attachWebSockets(server: Server, fetch: FetchHandler, opts: ServeOptions): () => void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: opts.ws.maxPayload, clientTracking: false });
  const live = new Set<WebSocket>();
  const pinger = setInterval(() => {
    for (const ws of live) if (ws.readyState === ws.OPEN) ws.ping();
  }, opts.ws.pingIntervalMs);
  pinger.unref?.();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('error', () => socket.destroy());
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string') headers.set(k, v);
      else if (Array.isArray(v)) for (const item of v) headers.append(k, item);
    }
    const scheme = (socket as Socket & { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const request = new Request(`${scheme}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method, headers });
    let accepted: WsHandlers | undefined;
    const upgrade = (handlers: WsHandlers) => {
      accepted = handlers;
      return new Response(null, { status: 200 });
    };
    Promise.resolve(fetch(request, { clientIp: socket.remoteAddress, upgrade }))
      .then(async (res) => {
        if (accepted && res.status === 200 && !socket.destroyed) {
          const handlers = accepted;
          wss.handleUpgrade(req, socket, head, (ws) => wire(ws, handlers, live));
          return;
        }
        const body = Buffer.from(await res.arrayBuffer());
        const lines = [`HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ''}`];
        res.headers.forEach((value, key) => {
          lines.push(`${key}: ${value}`);
        });
        lines.push(`content-length: ${body.length}`, 'connection: close', '', '');
        socket.end(Buffer.concat([Buffer.from(lines.join('\r\n')), body]));
      })
      .catch(() => socket.destroy());
  });
  return () => {
    clearInterval(pinger);
    for (const ws of live) ws.terminate();
  };
}

function wire(ws: WebSocket, h: WsHandlers, live: Set<WebSocket>): void {
  live.add(ws);
  const peer: WsPeer = {
    send: (data) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: true });
    },
    close: (code, reason) => {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, closeReason(reason));
    },
    bufferedAmount: () => ws.bufferedAmount,
    get isOpen() {
      return ws.readyState === ws.OPEN;
    },
  };
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    h.message(isBinary ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : buf.toString('utf8'));
  });
  ws.on('error', () => {});
  ws.once('close', (code: number, reason: Buffer) => {
    live.delete(ws);
    h.close(code, reason.toString('utf8'));
  });
  h.open(peer);
}

/**
 * Requests Node's HTTP parser refuses before the app sees them (a 70 KB URL, a header line without a
 * colon, a client too slow to send its headers) would get Node's bare status line with no body; they
 * get the same JSON envelope as every other error instead, then the connection is closed — its byte
 * stream can no longer be trusted to be at a request boundary.
 */
function answerClientErrors(server: Server): void {
  const answered = new WeakSet<Socket>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || started) {
      socket.destroy();
      return;
    }
    const se =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new ServiceError(
            'REQUEST_HEADERS_TOO_LARGE',
            'The request line and headers are larger than this server accepts (16 KB); shorten the URL or headers',
          )
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new ServiceError('REQUEST_TIMEOUT', 'The request was not received in time')
          : new ServiceError('MALFORMED_REQUEST', `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`);
    const requestId = randomUUID();
    const body = Buffer.from(JSON.stringify(errorBody(se, requestId)));
    const head = [
      `HTTP/1.1 ${se.status} ${STATUS_CODES[se.status] ?? ''}`,
      'content-type: application/json',
      `content-length: ${body.length}`,
      `x-request-id: ${requestId}`,
      `X-Timestamp: ${Date.now()}`,
      'Access-Control-Allow-Origin: *',
      'connection: close',
      '',
      '',
    ].join('\r\n');
    socket.end(Buffer.concat([Buffer.from(head), body]));
    // Bytes still arriving are not read any more; do not wait on the client to close its side.
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

/** How often a draining server looks for idle keep-alive connections to close. */
const IDLE_SWEEP_MS = 50;
/**
 * How long a connection must have been without a request before a draining server closes it: a
 * keep-alive client sends its next request right after an answer, but on a busy host that can take a
 * while, and a request arriving just after the close would be reset.
 */
const IDLE_CLOSE_MS = 300;

/**
 * Shutdown of the HTTP side on Node. `server.close()` alone is not enough: it closes the connections
 * that look idle at that instant — including ones whose next request already sits unread in the
 * socket buffer, which the client then sees reset — and leaves busy keep-alive connections serving
 * request after request until the forced close resets them. Instead:
 * - the listener stops accepting (net.Server's close, without http's closing of idle connections);
 * - every response from now on says `Connection: close` (set by the app), so Node ends its connection
 *   after writing it, and responses already being prepared get the header here;
 * - a connection with no request in flight is closed only once it has been quiet for IDLE_CLOSE_MS
 *   and idle at two sweeps in a row with no byte read in between: an event-loop turn lies between
 *   them, so a request that had already arrived would have been read and would show as in flight.
 * Upgraded (WebSocket) sockets are not HTTP connections any more and are left alone.
 */
function trackConnections(server: Server, tls: boolean) {
  interface Conn {
    inFlight: Set<import('node:http').ServerResponse>;
    /** When the last answer was done (or the connection opened). */
    quietSince: number;
    /** bytesRead at the last sweep that found the connection idle. */
    idleAt?: number;
  }
  const conns = new Map<Socket, Conn>();
  let draining = false;
  // Over TLS, requests name the TLS socket, which exists once the handshake is done.
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    conns.set(socket, { inFlight: new Set(), quietSince: Date.now() });
    socket.once('close', () => conns.delete(socket));
  });
  server.on('upgrade', (_req: IncomingMessage, socket: Socket) => conns.delete(socket));
  server.on('request', (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const conn = conns.get(req.socket);
    if (!conn) return;
    if (draining) res.setHeader('Connection', 'close');
    conn.inFlight.add(res);
    conn.idleAt = undefined;
    res.once('close', () => {
      conn.inFlight.delete(res);
      conn.quietSince = Date.now();
    });
  });
  return (graceMs: number) =>
    new Promise<void>((done) => {
      draining = true;
      for (const conn of conns.values()) for (const res of conn.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      NetServer.prototype.close.call(server);
      const finish = () => {
        clearInterval(sweep);
        clearTimeout(force);
        done();
      };
      const sweep = setInterval(() => {
        const now = Date.now();
        for (const [socket, conn] of conns) {
          if (conn.inFlight.size > 0) continue;
          if (conn.idleAt === socket.bytesRead && now - conn.quietSince >= IDLE_CLOSE_MS) socket.destroy();
          else conn.idleAt = socket.bytesRead;
        }
        if (conns.size === 0) finish();
      }, IDLE_SWEEP_MS);
      const force = setTimeout(() => {
        for (const socket of conns.keys()) socket.destroy();
        finish();
      }, graceMs);
    });
}

export const nodeAdapter: RuntimeAdapter = {
  name: 'node',
  ...processAdapterBase,
  ed25519: nodeEd25519,
  walCheckpointer: nodeWalCheckpointer,
  argon2: argon2Thread,
  serve(fetch, opts) {
    return new Promise((resolve, reject) => {
      let stopSockets: () => void = () => {};
      const server = serve(
        {
          fetch: (req, env: { incoming?: { socket?: { remoteAddress?: string } }; outgoing?: Bindings['outgoing'] }) =>
            fetch(req, { clientIp: env?.incoming?.socket?.remoteAddress, outgoing: env?.outgoing }),
          port: opts.port,
          hostname: opts.host,
          ...(opts.tls ? { createServer: createHttpsServer, serverOptions: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
        },
        (info: AddressInfo) =>
          resolve({
            port: info.port,
            close: (graceMs) => drainHttp(graceMs),
            dropWebSockets: () => stopSockets(),
          }),
      );
      const drainHttp = trackConnections(server as unknown as Server, Boolean(opts.tls));
      stopSockets = attachWebSockets(server as unknown as Server, fetch, opts);
      answerClientErrors(server as unknown as Server);
      (server as unknown as Server).once('error', reject);
    });
  },
};
