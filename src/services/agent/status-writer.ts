import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../../db/client';
import { fog } from '../../../db/schema/index';
import { StatementShapes } from '../../../db/statements';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { microservicesOfFogs, storeMicroserviceStatuses } from '../microservices/agent-status';

interface Pending {
  fogUuid: string;
  /** The columns the report writes (the statement's shape), and their values with `whereUuid` added. */
  columns: string[];
  values: Record<string, unknown>;
  entries?: Array<Record<string, unknown>>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for agent status reports: reports that arrive together are written in one
 * transaction, and each request still answers only after its report is committed (no data is
 * acknowledged before it is durable). With thousands of agents this turns thousands of write
 * transactions per second into a few dozen.
 *
 * Flushes start at most every `minIntervalMs`: a report that finds the writer idle for that long is
 * written at once, while under steady load each flush takes what arrived since the last one. At a
 * few hundred reports a second that roughly halves the transactions — each costs a COMMIT (its WAL
 * writes) and the microservice lookup — for at most `minIntervalMs` of added latency.
 */
export class StatusWriter {
  #queue: Pending[] = [];
  #scheduled = false;
  #running: Promise<void> | undefined;
  #lastFlushAt = Number.NEGATIVE_INFINITY;
  // A report's UPDATE rendered once per set of fields (Edgelet sends the same fields every time):
  // rendering it costs several times what running it does (db/statements.ts).
  #updates: StatementShapes;
  constructor(
    db: Db,
    private readonly maxBatch = 500,
    private readonly minIntervalMs = 10,
  ) {
    this.#updates = new StatementShapes((columns) =>
      db
        .update(fog)
        .set(Object.fromEntries(columns.map((c) => [c, sql.placeholder(c)])))
        .where(eq(fog.uuid, sql.placeholder('whereUuid')))
        .toSQL(),
    );
  }

  /** Writes `set` (which this takes over) to the fog's row, with `entries` as its microservices' statuses. */
  write(ctx: AppCtx, fogUuid: string, set: Partial<typeof fog.$inferInsert>, entries?: Pending['entries']): Promise<void> {
    return new Promise((resolve, reject) => {
      const columns = Object.keys(set);
      const values = set as Record<string, unknown>;
      values.whereUuid = fogUuid;
      this.#queue.push({ fogUuid, columns, values, entries, resolve, reject });
      this.#schedule(ctx);
    });
  }

  #schedule(ctx: AppCtx): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    const wait = Math.max(0, this.#lastFlushAt + this.minIntervalMs - performance.now());
    setTimeout(() => {
      this.#scheduled = false;
      this.#lastFlushAt = performance.now();
      this.#running = this.#flush(ctx).finally(() => {
        this.#running = undefined;
        if (this.#queue.length) this.#schedule(ctx);
      });
    }, wait);
  }

  async #flush(ctx: AppCtx): Promise<void> {
    const batch = this.#queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    try {
      await withTransaction(ctx, async (tx) => {
        const withStatus = batch.filter((p) => p.entries).map((p) => p.fogUuid);
        const owned = withStatus.length ? await microservicesOfFogs(tx, [...new Set(withStatus)]) : new Map();
        for (const p of batch) {
          await this.#updates.get(p.columns).run(tx.db, p.values);
          if (p.entries) await storeMicroserviceStatuses(tx, p.fogUuid, p.entries, owned.get(p.fogUuid) ?? []);
        }
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
