import { ServiceError } from '../src/errors';

/**
 * Serializes write transactions inside one process. Embedded SQLite has one writer, and its busy
 * handler waits synchronously: two overlapping write transactions from the same process would block
 * the event loop on each other. Waiters queue in order; one that waits longer than `maxWaitMs`
 * gets a retryable 503 instead of piling up behind a stall.
 */
export class WriteLock {
  #held = false;
  #queue: Array<{ grant: () => void; timer?: ReturnType<typeof setTimeout> }> = [];
  constructor(readonly maxWaitMs: number) {}

  get enabled(): boolean {
    return this.maxWaitMs > 0;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  async acquire(): Promise<() => void> {
    if (!this.enabled) return () => {};
    if (!this.#held) {
      this.#held = true;
      return this.#releaser();
    }
    return new Promise((resolve, reject) => {
      const entry: { grant: () => void; timer?: ReturnType<typeof setTimeout> } = {
        grant: () => {
          if (entry.timer) clearTimeout(entry.timer);
          resolve(this.#releaser());
        },
      };
      entry.timer = setTimeout(() => {
        const i = this.#queue.indexOf(entry);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(new ServiceError('CONTROLLER_DB_BUSY', 'The database is busy; retry shortly', { retryAfterSec: 1 }));
      }, this.maxWaitMs);
      this.#queue.push(entry);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next.grant();
      else this.#held = false;
    };
  }
}
