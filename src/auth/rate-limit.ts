/**
 * Fixed-window counter per key (client IP) for the auth endpoints. In memory: every instance limits
 * on its own, so N instances behind a balancer admit up to N × max per window.
 */
export class RateLimiter {
  #windows = new Map<string, { start: number; count: number }>();
  constructor(readonly opts: { enabled: boolean; max: number; windowMs: number }) {}

  /** Returns 0 when allowed, else the seconds until the window resets. */
  hit(key: string, now: number): number {
    if (!this.opts.enabled) return 0;
    let w = this.#windows.get(key);
    if (!w || now - w.start >= this.opts.windowMs) {
      w = { start: now, count: 0 };
      this.#windows.set(key, w);
      if (this.#windows.size > 100_000) this.#sweep(now);
    }
    w.count++;
    if (w.count > this.opts.max) return Math.max(1, Math.ceil((w.start + this.opts.windowMs - now) / 1000));
    return 0;
  }

  #sweep(now: number): void {
    for (const [k, w] of this.#windows) if (now - w.start >= this.opts.windowMs) this.#windows.delete(k);
  }
}
