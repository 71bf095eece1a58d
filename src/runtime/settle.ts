/**
 * Deno and Bun: how a draining server stops without dropping requests. Their servers offer no
 * per-connection control and cannot close the listener apart from the connections: stopping closes
 * every connection that has no request being handled at that instant, including ones whose request is
 * already on its way (the client sees it dropped, or reset on Bun). So:
 * - the listener stays open a little longer while every answer says `Connection: close` (set by the
 *   app), so each keep-alive client gets its current request answered and is told to go;
 * - a client that comes back on a new connection meanwhile has its request handled but its answer held
 *   until the server is stopping: it counts as in flight then, so the stop waits for it, and it does not
 *   come back a third time while the listener is still open;
 * - the server stops once every connection that was open when draining began has had its answer or
 *   been idle IDLE_MS, and no request arrived for IDLE_MS — or half the grace period has passed.
 * Connections are told apart by the peer's address and port.
 */

/** A connection without a request for this long is idle: the stop may close it. */
const IDLE_MS = 100;
const POLL_MS = 20;

interface Conn {
  inFlight: number;
  last: number;
}

export class ConnectionWatch {
  #conns = new Map<string, Conn>();
  /** Connections open when draining began; undefined while serving. */
  #before?: Set<string>;
  #lastArrival = 0;
  #release?: () => void;
  #released?: Promise<void>;

  /** A request arrived on the connection `key`; pass its answer through `end`, which may hold it. */
  begin(key: string): { end: (res: Response | undefined) => Promise<void> } {
    const now = Date.now();
    this.#lastArrival = now;
    let conn = this.#conns.get(key);
    if (!conn) {
      // Connections closed by the client are never reported: forget the ones quiet for minutes.
      if (this.#conns.size > 10_000)
        for (const [k, c] of this.#conns) if (c.inFlight === 0 && now - c.last > 600_000) this.#conns.delete(k);
      conn = { inFlight: 0, last: now };
      this.#conns.set(key, conn);
    }
    conn.inFlight++;
    conn.last = now;
    const held = this.#before !== undefined && !this.#before.has(key) ? this.#released : undefined;
    return {
      end: async (res) => {
        if (held) await held;
        conn.inFlight--;
        conn.last = Date.now();
        // Closed after this answer (Connection: close) or no longer HTTP (a WebSocket).
        if (!res || res.status === 101 || res.headers.get('connection')?.toLowerCase() === 'close') this.#conns.delete(key);
      },
    };
  }

  /** Waits until the server may stop (see above); `stop` is then started and held answers are released. */
  async drain<T>(graceMs: number, stop: () => Promise<T>): Promise<T> {
    this.#before = new Set(this.#conns.keys());
    this.#released = new Promise<void>((r) => (this.#release = r));
    const deadline = Date.now() + graceMs / 2;
    for (;;) {
      const now = Date.now();
      let busy = now - this.#lastArrival < IDLE_MS;
      for (const key of this.#before) {
        const c = this.#conns.get(key);
        if (c && (c.inFlight > 0 || now - c.last < IDLE_MS)) busy = true;
      }
      if (!busy || now >= deadline) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const stopped = stop();
    this.#release!();
    return stopped;
  }
}
