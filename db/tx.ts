import type { Db } from './client';
import { retryBusy } from './client';
import { derivedCtx } from '../src/context';
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
  store: { db: Db; writeLock: { acquire(): Promise<() => void> }; kind?: string };
  /** Inside a transaction: callbacks run once it has committed or rolled back. */
  onSettled?: Array<() => void>;
  /** The request's audit event, still to be written (see services/events/audit.ts). */
  audit?: PendingRecord;
}

/**
 * PostgreSQL isolation of a write transaction. The services were written for SQLite, where write
 * transactions never overlap, so they read, decide and write (unique-name checks, counters, "is this
 * the last one?"); `serializable` keeps that reasoning true with several writers, at the price of a
 * retry when two transactions touch the same rows. `read committed` is for transactions made only of
 * statements that are correct on their own (single-row updates, blind upserts, compare-and-set
 * updates), such as the agents' hot path, where retries would only cost.
 */
export type Isolation = 'serializable' | 'read committed';

export interface TxOptions {
  isolation?: Isolation;
}

/**
 * Runs `fn` inside one write transaction and returns its result.
 * - Reuses the caller's transaction when `ctx` already is one, so services compose.
 * - Serializes write transactions of this process (see WriteLock) and retries SQLITE_BUSY caused by
 *   other processes with jittered backoff. A retry re-runs `fn` from the start: `fn` must only touch
 *   the database — no network, no key generation, no sleeps.
 * - On PostgreSQL there is no in-process lock: the server isolates writers (see Isolation) and a
 *   transaction that lost a race (serialization failure, deadlock) is re-run the same way.
 * - Database failures surface as retryable 503 ServiceErrors, never as 500s or hangs.
 */
export async function withTransaction<C extends TxHost, T>(ctx: C, fn: (tx: C) => Promise<T>, opts: TxOptions = {}): Promise<T> {
  if (ctx.inTx) return fn(ctx);
  if (ctx.store.kind === 'postgres') return withPgTransaction(ctx, fn, opts.isolation ?? 'serializable');
  const release = await ctx.store.writeLock.acquire();
  const settled: Array<() => void> = [];
  const audit = ctx.audit?.pending ? ctx.audit : undefined;
  try {
    const result = await retryBusy(() =>
      ctx.store.db.transaction(async (tx) => {
        const out = await fn(derivedCtx(ctx, { db: tx as unknown as Db, inTx: true, onSettled: settled } as Partial<C>));
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

async function withPgTransaction<C extends TxHost, T>(ctx: C, fn: (tx: C) => Promise<T>, isolation: Isolation): Promise<T> {
  const audit = ctx.audit?.pending ? ctx.audit : undefined;
  // Cache invalidations and the like: harmless after a rolled-back attempt, so all attempts' run.
  const settled: Array<() => void> = [];
  try {
    const result = await retryPgConflicts(() => {
      const pgDb = ctx.store.db as unknown as PgTransactional;
      return pgDb.transaction(
        async (tx) => {
          const out = await fn(derivedCtx(ctx, { db: tx, inTx: true, onSettled: settled } as Partial<C>));
          if (audit) await audit.write(tx);
          return out;
        },
        { isolationLevel: isolation },
      );
    });
    audit?.committed();
    return result;
  } catch (err) {
    throw toServiceError(err);
  } finally {
    for (const cb of settled) cb();
  }
}

interface PgTransactional {
  transaction<T>(fn: (tx: Db) => Promise<T>, config: { isolationLevel: Isolation }): Promise<T>;
}

/** SQLSTATEs after which re-running the whole transaction is the documented remedy. */
export function isPgConflict(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === '40001' || e.code === '40P01') return true;
    if (e.cause === e) break;
  }
  return false;
}

/**
 * Re-runs a PostgreSQL transaction that failed with a serialization failure or a deadlock, with
 * jittered exponential backoff so that the transactions that collided do not collide again. When it
 * keeps failing the error goes up and becomes a retryable 503 (see classifyDbError).
 */
export async function retryPgConflicts<T>(
  fn: () => Promise<T>,
  opts: { attempts?: number; baseMs?: number; maxMs?: number } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 10;
  const base = opts.baseMs ?? 5;
  const max = opts.maxMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isPgConflict(err) || attempt >= attempts) throw err;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      await new Promise((r) => setTimeout(r, ceiling / 2 + Math.random() * (ceiling / 2)));
    }
  }
}
