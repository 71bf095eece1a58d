import { setLastActive } from '../../../db/dialect';
import { withTransaction, type TxHost } from '../../../db/tx';
import { every } from '../../lib/periodic';
import type { Logger } from '../../lib/logger';
import { errorFields } from '../../lib/logger';
import { yieldToEventLoop } from '../../lib/yield';

/** Fogs per UPDATE statement, and per transaction, of a flush. */
const CHUNK = 250;

/**
 * `lastActive` of fogs, updated on every authenticated agent call: kept in memory and written in
 * batches every few seconds, so an agent's read-only calls never cost a database write.
 *
 * A flush writes CHUNK fogs per statement (`UPDATE … FROM json_each(?)`: the database does the lookups),
 * each chunk in its own short transaction, and lets the event loop run between chunks. A statement
 * runs synchronously on the event loop: the whole fleet in one go (whether one UPDATE per fog or
 * large statements back to back) stalled every request that arrived meanwhile, and those stalls set
 * the fleet's tail latency.
 */
export class AgentActivity {
  #dirty = new Map<string, number>();
  #timer?: { stop(): void };
  #running?: Promise<void>;
  constructor(
    private readonly logger: Logger,
    private readonly flushMs = 5000,
  ) {}

  touch(fogUuid: string, t: number): void {
    this.#dirty.set(fogUuid, t);
  }

  forget(fogUuid: string): void {
    this.#dirty.delete(fogUuid);
  }

  start(host: TxHost): void {
    this.#timer = every(this.flushMs, () => void this.flush(host));
  }

  async stop(host: TxHost): Promise<void> {
    this.#timer?.stop();
    await this.flush(host);
  }

  /** Writes what is pending; a flush that is still running is awaited first (never two at once). */
  async flush(host: TxHost): Promise<void> {
    while (this.#running) await this.#running;
    if (this.#dirty.size === 0) return;
    const batch = [...this.#dirty];
    this.#dirty.clear();
    this.#running = this.#write(host, batch).finally(() => (this.#running = undefined));
    await this.#running;
  }

  async #write(host: TxHost, batch: Array<[string, number]>): Promise<void> {
    for (let i = 0; i < batch.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const chunk = batch.slice(i, i + CHUNK);
      try {
        // One statement that sets values it does not read: nothing for stricter isolation to protect.
        await withTransaction(host, (tx) => setLastActive(tx.db, Object.fromEntries(chunk)), { isolation: 'read committed' });
      } catch (err) {
        // This chunk and the ones after it go back, unless the fog was touched again meanwhile.
        for (const [uuid, t] of batch.slice(i)) if (!this.#dirty.has(uuid)) this.#dirty.set(uuid, t);
        this.logger.warn('could not record agent activity; will retry', errorFields(err));
        return;
      }
    }
  }
}
