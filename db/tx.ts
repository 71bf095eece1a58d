import type { Db } from './client';
import { retryBusy } from './client';
import { toServiceError } from '../src/errors';

/**
 * A row that must commit together with the first write transaction of a request (the audit event):
 * written inside that transaction right before it commits, then marked done.
 */
export interface PendingRecord {
  readonly pending: boolean;
  write(db: Db): Promise<void>;
  committed(): void;
}

export interface TxHost {
  db: Db;
  inTx: boolean;
  store: { db: Db; writeLock: { acquire(): Promise<() => void> } };
  /** Inside a transaction: callbacks run once it has committed or rolled back. */
  onSettled?: Array<() => void>;
  /** The request's audit event, still to be written (see services/events/audit.ts). */
  audit?: PendingRecord;
}

/**
 * Runs `fn` inside one write transaction and returns its result.
 * - Reuses the caller's transaction when `ctx` already is one, so services compose.
 * - Serializes write transactions of this process (see WriteLock) and retries SQLITE_BUSY caused by
 *   other processes with jittered backoff. A retry re-runs `fn` from the start: `fn` must only touch
 *   the database — no network, no key generation, no sleeps (design §5).
 * - Database failures surface as retryable 503 ServiceErrors, never as 500s or hangs.
 */
export async function withTransaction<C extends TxHost, T>(ctx: C, fn: (tx: C) => Promise<T>): Promise<T> {
  if (ctx.inTx) return fn(ctx);
  const release = await ctx.store.writeLock.acquire();
  const settled: Array<() => void> = [];
  const audit = ctx.audit?.pending ? ctx.audit : undefined;
  try {
    const result = await retryBusy(() =>
      ctx.store.db.transaction(async (tx) => {
        const out = await fn({ ...ctx, db: tx as unknown as Db, inTx: true, onSettled: settled });
        if (audit) await audit.write(tx as unknown as Db);
        return out;
      }),
    );
    audit?.committed();
    return result;
  } catch (err) {
    throw toServiceError(err);
  } finally {
    release();
    for (const cb of settled) cb();
  }
}
