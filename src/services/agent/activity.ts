import { eq } from 'drizzle-orm';
import { fog } from '../../../db/schema/index';
import { withTransaction, type TxHost } from '../../../db/tx';
import { every } from '../../lib/periodic';
import type { Logger } from '../../lib/logger';
import { errorFields } from '../../lib/logger';

/**
 * `lastActive` of fogs, updated on every authenticated agent call: kept in memory and written in one
 * batch every few seconds, so an agent's read-only calls never cost a database write.
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
        for (const [uuid, t] of batch) await tx.db.update(fog).set({ lastActive: t }).where(eq(fog.uuid, uuid));
      });
    } catch (err) {
      for (const [uuid, t] of batch) if (!this.#dirty.has(uuid)) this.#dirty.set(uuid, t);
      this.logger.warn('could not record agent activity; will retry', errorFields(err));
    }
  }
}
