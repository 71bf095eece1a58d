import { eq } from 'drizzle-orm';
import { fog } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { microservicesOfFogs, storeMicroserviceStatuses } from '../microservices/microservices';

interface Pending {
  fogUuid: string;
  set: Partial<typeof fog.$inferInsert>;
  entries?: Array<Record<string, unknown>>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for agent status reports: reports that arrive together are written in one
 * transaction, and each request still answers only after its report is committed (no data is
 * acknowledged before it is durable). With thousands of agents this turns thousands of write
 * transactions per second into a few dozen.
 */
export class StatusWriter {
  #queue: Pending[] = [];
  #scheduled = false;
  #running: Promise<void> | undefined;
  constructor(private readonly maxBatch = 500) {}

  write(ctx: AppCtx, fogUuid: string, set: Pending['set'], entries?: Pending['entries']): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ fogUuid, set, entries, resolve, reject });
      this.#schedule(ctx);
    });
  }

  #schedule(ctx: AppCtx): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.#running = this.#flush(ctx).finally(() => {
        this.#running = undefined;
        if (this.#queue.length) this.#schedule(ctx);
      });
    }, 0);
  }

  async #flush(ctx: AppCtx): Promise<void> {
    const batch = this.#queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    try {
      await withTransaction(ctx, async (tx) => {
        const withStatus = batch.filter((p) => p.entries).map((p) => p.fogUuid);
        const owned = withStatus.length ? await microservicesOfFogs(tx, [...new Set(withStatus)]) : new Map();
        for (const p of batch) {
          await tx.db.update(fog).set(p.set).where(eq(fog.uuid, p.fogUuid));
          if (p.entries) await storeMicroserviceStatuses(tx, p.fogUuid, p.entries, owned.get(p.fogUuid) ?? []);
        }
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
