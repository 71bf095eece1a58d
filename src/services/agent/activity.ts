import { sql } from 'drizzle-orm';
import { withTransaction, type TxHost } from '../../../db/tx';
import { every } from '../../lib/periodic';
import type { Logger } from '../../lib/logger';
import { errorFields } from '../../lib/logger';

/** Fogs per UPDATE statement of a flush. */
const CHUNK = 1000;

/**
 * `lastActive` of fogs, updated on every authenticated agent call: kept in memory and written in one
 * batch every few seconds, so an agent's read-only calls never cost a database write.
 *
 * A flush writes up to CHUNK fogs per statement (`UPDATE … FROM json_each(?)`): SQLite does the
 * lookups. One UPDATE per fog, each awaited, ran back to back in microtasks without letting the event
 * loop in — at 10,000 agents ~8,000 statements every 5 s, a stall of 150 ms or more that every request
 * arriving meanwhile waited out (the fleet bench's p99).
 */
export class AgentActivity {
  #dirty = new Map<string, number>();
  #timer?: { stop(): void };
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

  async flush(host: TxHost): Promise<void> {
    if (this.#dirty.size === 0) return;
    const batch = [...this.#dirty];
    this.#dirty.clear();
    try {
      await withTransaction(host, async (tx) => {
        for (let i = 0; i < batch.length; i += CHUNK) {
          const values = JSON.stringify(Object.fromEntries(batch.slice(i, i + CHUNK)));
          await tx.db.run(sql`UPDATE fog SET last_active = j.value FROM json_each(${values}) AS j WHERE fog.uuid = j.key`);
        }
      });
    } catch (err) {
      for (const [uuid, t] of batch) if (!this.#dirty.has(uuid)) this.#dirty.set(uuid, t);
      this.logger.warn('could not record agent activity; will retry', errorFields(err));
    }
  }
}
