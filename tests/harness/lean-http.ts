// A lean keep-alive HTTP/1.1 client for the fleet bench's load generator (plain http: only).
//
// Why it exists: the fleet bench runs its generator on the same 2-core box as the server it
// measures, so every CPU microsecond the generator spends per request is taken from the server.
// About half of the generator's cost was node:http's client machinery (ClientRequest, Agent,
// IncomingMessage and their streams). This client writes each request as ONE string/buffer on a
// pooled net.Socket and parses the response in place from the socket's data events.
//
// Scope: up to `maxSockets` sockets to one host:port, one request in flight per socket (no
// pipelining), a FIFO queue when all are busy. Idle sockets are reused most recently used first
// (like node:http's Agent, `scheduling: 'lifo'`): with the oldest first every socket stayed in
// rotation and the 10,000-agent p99 was 2-5x node:http's; with the newest first it is on par.
// A socket idle longer than `idleTimeoutMs` (4 s, under Node's 5 s server keep-alive timeout) is
// closed instead of reused, so a request is not sent on a socket the server is closing. Bodies by content-length, chunked (extensions and
// trailers consumed; trailers discarded) or read-until-close; none for HEAD / 1xx / 204 / 304.
// Errors reject with `code` (the errno, or ETIMEDOUT / EPROTO / ERR_POOL_DESTROYED) and
// `retryable` = the socket had served a request before and closed before any response byte, so
// the request may never have reached the server (Edgelet retries that once).
import { connect, type Socket } from 'node:net';

export interface LeanRequest {
  method: string;
  /** Request target, e.g. `/api/v3/agent/status`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Socket inactivity while this request is in flight, like ClientRequest.setTimeout (0 = none). */
  timeoutMs?: number;
}

export interface LeanResponse {
  status: number;
  /** Lower-cased names; repeats joined with ", " (set-cookie: an array). */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Sent on a socket that had already served a request. */
  reused: boolean;
}

export type LeanHttpError = Error & { code: string; retryable: boolean };

function httpError(code: string, message: string, retryable = false): LeanHttpError {
  return Object.assign(new Error(message), { code, retryable });
}

// Methods node:http sends without `content-length: 0` when they have no body.
const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
const INVALID_HEADER = /[\r\n\0]/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: |$)/;
const CHUNK_SIZE = /^[0-9a-fA-F]+$/;
const MAX_LINE = 64 * 1024;

interface Pending {
  data: string | Buffer;
  head: boolean;
  timeoutMs: number;
  resolve: (r: LeanResponse) => void;
  reject: (e: LeanHttpError) => void;
}

// Parser states.
const HEAD = 0,
  FIXED = 1,
  CHUNK_LINE = 2,
  CHUNK_DATA = 3,
  CHUNK_END = 4,
  TRAILERS = 5,
  UNTIL_CLOSE = 6,
  DONE = 7;

export class LeanHttpPool {
  readonly host: string;
  readonly port: number;
  readonly maxSockets: number;
  readonly idleTimeoutMs: number;
  /** Sockets opened over the pool's life (for tests and stats). */
  opened = 0;
  private readonly hostHeader: string;
  private readonly conns = new Set<Conn>();
  private readonly idle: Conn[] = [];
  private readonly queue: Pending[] = [];
  private destroyed = false;
  /** Milliseconds for idle ageing; tests pass a hand-moved clock so ageing needs no waiting. */
  private readonly now: () => number;

  constructor(o: { host: string; port: number; maxSockets?: number; idleTimeoutMs?: number; now?: () => number }) {
    this.now = o.now ?? (() => performance.now());
    this.host = o.host.replace(/^\[(.*)\]$/, '$1');
    this.port = o.port;
    this.maxSockets = Math.max(1, o.maxSockets ?? 256);
    this.idleTimeoutMs = o.idleTimeoutMs ?? 4000;
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.hostHeader = this.port === 80 ? h : `${h}:${this.port}`;
  }

  request(r: LeanRequest): Promise<LeanResponse> {
    if (this.destroyed) return Promise.reject(httpError('ERR_POOL_DESTROYED', 'pool destroyed'));
    if (/[\s\0]/.test(r.method + r.path)) return Promise.reject(httpError('ERR_INVALID_CHAR', 'invalid character in method or path'));
    let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\nconnection: keep-alive\r\n`;
    let hasLength = false;
    const headers = r.headers ?? {};
    for (const name in headers) {
      const value = headers[name]!;
      if (INVALID_HEADER.test(name) || INVALID_HEADER.test(value)) {
        return Promise.reject(httpError('ERR_INVALID_CHAR', `invalid character in header ${JSON.stringify(name)}`));
      }
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      head += `${name}: ${value}\r\n`;
    }
    const body = r.body;
    if (!hasLength && (body !== undefined || !NO_BODY_METHODS.has(r.method))) {
      head += `content-length: ${body === undefined ? 0 : Buffer.byteLength(body)}\r\n`;
    }
    head += '\r\n';
    const data = body === undefined ? head : typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head, 'latin1'), body]);
    return new Promise((resolve, reject) => {
      const p: Pending = { data, head: r.method === 'HEAD', timeoutMs: r.timeoutMs ?? 0, resolve, reject };
      const c = this.takeIdle() ?? (this.conns.size < this.maxSockets ? this.open() : undefined);
      if (c) c.send(p);
      else this.queue.push(p);
    });
  }

  /** Closes every socket; in-flight and queued requests are rejected. */
  destroy(): void {
    this.destroyed = true;
    for (const p of this.queue.splice(0)) p.reject(httpError('ERR_POOL_DESTROYED', 'pool destroyed'));
    for (const c of [...this.conns]) c.abort(httpError('ERR_POOL_DESTROYED', 'pool destroyed'));
  }

  private open(): Conn {
    this.opened++;
    const c = new Conn(connect({ host: this.host, port: this.port }), this);
    this.conns.add(c);
    return c;
  }

  /** The most recently parked socket that has not been idle too long; older ones are closed. */
  private takeIdle(): Conn | undefined {
    const now = this.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (now - c.idleSince <= this.idleTimeoutMs) return c;
      this.conns.delete(c);
      c.close();
    }
    return undefined;
  }

  /** A socket finished a response and stays open: give it the next queued request or park it. */
  release(c: Conn): void {
    const next = this.queue.shift();
    if (next) c.send(next);
    else {
      c.idleSince = this.now();
      this.idle.push(c);
    }
  }

  /** A socket is gone (or going): forget it; a queued request may now open a new one. */
  drop(c: Conn): void {
    if (!this.conns.delete(c)) return;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.queue.length && !this.destroyed) this.open().send(this.queue.shift()!);
  }
}

/** One pooled socket and the incremental parser of its current response. */
class Conn {
  /** When it was last parked idle (the pool's `now()`). */
  idleSince = 0;
  private p: Pending | null = null;
  private served = 0;
  private reused = false;
  private gotBytes = false;
  private error: LeanHttpError | null = null;
  private buf: Buffer | null = null;
  private state = HEAD;
  private status = 0;
  private headers: Record<string, string | string[]> = {};
  private chunks: Buffer[] = [];
  private remaining = 0;
  private closeAfter = false;

  constructor(
    private readonly socket: Socket,
    private readonly pool: LeanHttpPool,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('timeout', () => this.abort(httpError('ETIMEDOUT', 'request timed out')));
    socket.on('error', (e: NodeJS.ErrnoException) => (this.error ??= httpError(e.code ?? 'ECONNRESET', e.message)));
    socket.on('end', () => {
      if (this.p && this.state === UNTIL_CLOSE) this.complete();
      pool.drop(this); // half-closed by the server: never reuse it
    });
    socket.on('close', () => {
      pool.drop(this);
      const p = this.p;
      if (!p) return;
      this.p = null;
      const e = this.error ?? httpError('ECONNRESET', 'socket hang up');
      // Only a plain network failure on a reused socket before any response byte is safe to retry.
      if (
        this.reused &&
        !this.gotBytes &&
        this.error?.code !== 'ETIMEDOUT' &&
        this.error?.code !== 'EPROTO' &&
        this.error?.code !== 'ERR_POOL_DESTROYED'
      )
        e.retryable = true;
      p.reject(e);
    });
  }

  send(p: Pending): void {
    this.p = p;
    this.reused = this.served > 0;
    this.gotBytes = false;
    if (p.timeoutMs > 0) this.socket.setTimeout(p.timeoutMs);
    this.socket.write(p.data);
  }

  /** Closes an idle socket (nothing in flight). */
  close(): void {
    this.socket.destroy();
  }

  abort(e: LeanHttpError): void {
    this.error ??= e;
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    if (!this.p) return this.abort(httpError('EPROTO', 'unsolicited response bytes'));
    this.gotBytes = true;
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    try {
      this.parse();
    } catch (e) {
      return this.abort(e as LeanHttpError);
    }
    if (this.state === DONE) this.complete();
  }

  private parse(): void {
    const buf = this.buf!;
    let i = 0;
    while (i < buf.length || this.state === DONE || (this.state === FIXED && this.remaining === 0)) {
      const s = this.state;
      if (s === HEAD) {
        const end = buf.indexOf('\r\n\r\n', i, 'latin1');
        if (end < 0) break;
        this.parseHead(buf.toString('latin1', i, end));
        i = end + 4;
      } else if (s === FIXED || s === CHUNK_DATA) {
        const n = Math.min(this.remaining, buf.length - i);
        if (n > 0) this.chunks.push(buf.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining > 0) break;
        this.state = s === FIXED ? DONE : CHUNK_END;
      } else if (s === CHUNK_LINE || s === TRAILERS) {
        const eol = buf.indexOf('\r\n', i, 'latin1');
        if (eol < 0) break;
        if (s === TRAILERS)
          this.state = eol === i ? DONE : TRAILERS; // trailer fields are consumed, not kept
        else {
          const size = buf.toString('latin1', i, eol).split(';', 1)[0]!.trim(); // drop chunk extensions
          if (!CHUNK_SIZE.test(size)) throw httpError('EPROTO', `bad chunk size line`);
          this.remaining = parseInt(size, 16);
          this.state = this.remaining === 0 ? TRAILERS : CHUNK_DATA;
        }
        i = eol + 2;
      } else if (s === CHUNK_END) {
        if (buf.length - i < 2) break;
        if (buf[i] !== 13 || buf[i + 1] !== 10) throw httpError('EPROTO', 'chunk not followed by CRLF');
        i += 2;
        this.state = CHUNK_LINE;
      } else if (s === UNTIL_CLOSE) {
        this.chunks.push(buf.subarray(i));
        i = buf.length;
      } else break; // DONE: anything left over is checked in complete()
    }
    this.buf = i < buf.length ? buf.subarray(i) : null;
    if (this.buf && this.buf.length > MAX_LINE && (this.state === HEAD || this.state === CHUNK_LINE || this.state === TRAILERS)) {
      throw httpError('EPROTO', 'response header or chunk line too long');
    }
  }

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    const m = STATUS_LINE.exec(lines[0]!);
    if (!m) throw httpError('EPROTO', `bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    const status = Number(m[2]);
    const headers: Record<string, string | string[]> = {};
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw httpError('EPROTO', `bad header line ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers[name];
      if (name === 'set-cookie') (Array.isArray(prev) ? prev : (headers[name] = [])).push(value);
      else headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    }
    if (status === 101) throw httpError('EPROTO', 'unexpected 101 Switching Protocols');
    if (status < 200) return; // interim (100 Continue, 103 Early Hints): the final head follows
    this.status = status;
    this.headers = headers;
    const connection = String(headers.connection ?? '').toLowerCase();
    this.closeAfter = connection.includes('close') || (m[1] === '0' && !connection.includes('keep-alive'));
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (this.p!.head || status === 204 || status === 304) this.state = DONE;
    else if (typeof te === 'string' && /(^|,)\s*chunked\s*$/i.test(te)) this.state = CHUNK_LINE;
    else if (te === undefined && typeof cl === 'string') {
      const values = new Set(cl.split(',').map((v) => v.trim()));
      const [v] = values;
      if (values.size !== 1 || !/^\d+$/.test(v!)) throw httpError('EPROTO', `bad content-length ${JSON.stringify(cl)}`);
      this.remaining = Number(v);
      this.state = FIXED;
    } else {
      this.state = UNTIL_CLOSE;
      this.closeAfter = true;
    }
  }

  private complete(): void {
    const p = this.p!;
    const res: LeanResponse = {
      status: this.status,
      headers: this.headers,
      body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks),
      reused: this.reused,
    };
    this.p = null;
    this.served++;
    this.state = HEAD;
    this.chunks = [];
    this.headers = {};
    if (p.timeoutMs > 0) this.socket.setTimeout(0);
    if (this.closeAfter || this.buf || this.socket.readableEnded) this.socket.destroy();
    else this.pool.release(this);
    p.resolve(res);
  }
}
