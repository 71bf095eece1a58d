import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../../db/client';
import { fog } from '../../../db/schema/index';
import { ReusableStatement } from '../../../db/statements';
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
  // One UPDATE per active fog per flush: rendered once (db/statements.ts).
  #update: ReusableStatement;
  constructor(
    db: Db,
    private readonly logger: Logger,
    private readonly flushMs = 5000,
  ) {
    this.#update = ReusableStatement.from(
      db
        .update(fog)
        // set() is typed for values; drizzle binds placeholders there too (as `.prepare()` does).
        .set({ lastActive: sql.placeholder('lastActive') as unknown as number })
        .where(eq(fog.uuid, sql.placeholder('uuid')))
        .toSQL(),
    );
  }

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
        for (const [uuid, lastActive] of batch) await this.#update.run(tx.db, { uuid, lastActive });
      });
    } catch (err) {
      for (const [uuid, t] of batch) if (!this.#dirty.has(uuid)) this.#dirty.set(uuid, t);
      this.logger.warn('could not record agent activity; will retry', errorFields(err));
    }
  }
}
