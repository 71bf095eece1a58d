import { connect, type Socket } from 'node:net';

/**
 * HTTP/1.1 over a bare TCP socket, for tests that care about what happens to the connection itself
 * (keep-alive reuse, who closes, FIN versus reset) — things fetch() hides by retrying or pooling.
 */

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** How a wait for a response ended without one. */
export class ConnectionEnded extends Error {
  constructor(
    /** `eof`: the server closed cleanly (FIN); `reset`: ECONNRESET/EPIPE; `timeout`: nothing came. */
    readonly kind: 'eof' | 'reset' | 'timeout',
    /** Bytes of a response that had arrived before the end (0 = none at all). */
    readonly partialBytes: number,
    detail = '',
  ) {
    super(
      `connection ${kind} before a complete response${partialBytes ? ` (${partialBytes} bytes of one)` : ''}${detail ? `: ${detail}` : ''}`,
    );
  }
}

export class RawConnection {
  #buf = Buffer.alloc(0);
  #waiter?: () => void;
  /** The server's FIN has been seen. */
  eof = false;
  /** A socket error (ECONNRESET, EPIPE, …), if one happened. */
  error?: NodeJS.ErrnoException;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#waiter?.();
    });
    socket.on('end', () => {
      this.eof = true;
      this.#waiter?.();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.error = err;
      this.#waiter?.();
    });
    socket.on('close', () => this.#waiter?.());
  }

  /** Connects; rejects with the socket error (ECONNREFUSED once the listener is closed). */
  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host });
      s.setNoDelay(true);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawConnection(s));
      });
      s.once('error', reject);
    });
  }

  /** Nothing says the connection is over: no FIN, no error, not destroyed. */
  get usable(): boolean {
    return !this.eof && !this.error && !this.socket.destroyed;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next complete response on this connection (Content-Length or chunked body). */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.#parse();
      if (parsed) return parsed;
      if (this.error) throw new ConnectionEnded('reset', this.#buf.length, this.error.code);
      if (this.eof || this.socket.destroyed) throw new ConnectionEnded('eof', this.#buf.length);
      const left = deadline - Date.now();
      if (left <= 0) throw new ConnectionEnded('timeout', this.#buf.length);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left); // sleep-ok: the deadline of an event wait; data or a close wakes it first
        this.#waiter = () => {
          clearTimeout(t);
          this.#waiter = undefined;
          resolve();
        };
      });
    }
  }

  /** Resolves once the server has closed the connection (FIN, reset or destroy), false after `timeoutMs`. */
  async closed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.eof && !this.error && !this.socket.destroyed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left); // sleep-ok: the deadline of an event wait; data or a close wakes it first
        this.#waiter = () => {
          clearTimeout(t);
          this.#waiter = undefined;
          resolve();
        };
      });
    }
    return true;
  }

  close(): void {
    this.socket.destroy();
  }

  #parse(): RawResponse | undefined {
    const end = this.#buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let rest = this.#buf.subarray(end + 4);
    let body: Buffer;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let at = 0;
      for (;;) {
        const eol = rest.indexOf('\r\n', at);
        if (eol < 0) return undefined;
        const size = Number.parseInt(rest.subarray(at, eol).toString('latin1'), 16);
        if (rest.length < eol + 2 + size + 2) return undefined;
        if (size === 0) {
          at = eol + 4;
          break;
        }
        parts.push(rest.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
      rest = rest.subarray(at);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (rest.length < length) return undefined;
      body = rest.subarray(0, length);
      rest = rest.subarray(length);
    }
    this.#buf = Buffer.from(rest);
    return { status, headers, body: body.toString('utf8') };
  }
}
