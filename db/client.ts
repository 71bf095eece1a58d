import type { Client, Config as LibsqlConfig, ResultSet } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import * as schema from './schema/index';
import { migrations } from './migrations/index';
import { WriteLock } from './write-lock';
import { resilientClient } from './resilient-client';

export type Schema = typeof schema;
/** A drizzle handle: the database itself or an open transaction — services take either. */
export type Db = BaseSQLiteDatabase<'async', ResultSet, Schema>;

export type CreateLibsqlClient = (config: LibsqlConfig) => Client;

export interface Store {
  client: Client;
  db: Db;
  /** `file`: embedded SQLite (one writer, serialized in-process); `remote`: a libSQL server. */
  kind: 'file' | 'remote';
  writeLock: WriteLock;
  busyTimeoutMs: number;
  /** Closes the connections (and, on Node's embedded file, ends the checkpoint thread: awaited). */
  close(): Promise<void>;
}

export interface OpenOptions {
  url: string;
  authToken?: string;
  busyTimeoutMs: number;
  writeWaitMs: number;
  /** Told when fresh connections could not be opened after SQLITE_BUSY. */
  onRenewError?: (err: unknown) => void;
  /** Embedded file only: checkpoints the WAL off the event loop (runtime adapter). */
  walCheckpointer?: WalCheckpointer;
  /** Told when the checkpointer fails (it keeps trying; the WAL stays bounded meanwhile). */
  onCheckpointError?: (message: string, err: unknown) => void;
}

/**
 * Starts checkpointing the WAL of the database at `url` somewhere other than the event loop and
 * returns how to stop it, or undefined when it cannot (then SQLite checkpoints on commit as usual).
 * `control.pauseWrites` holds this process's writers back (the write lock) while the checkpointer
 * finishes a checkpoint, so that the next write can start the WAL over (see wal-checkpoint-node.ts).
 */
export type WalCheckpointer = (
  url: string,
  busyTimeoutMs: number,
  warn?: (message: string, err: unknown) => void,
  control?: WalCheckpointControl,
) => (() => Promise<void>) | undefined;

export interface WalCheckpointControl {
  /** Resolves once no write transaction of this process runs and none can start, with the release. */
  pauseWrites?: () => Promise<() => void>;
}

/**
 * With a checkpointer, the server's connections checkpoint on commit only past this many WAL pages
 * (~40 MB; SQLite's default is 1,000): a safety net that bounds the WAL if the checkpoint thread
 * dies or falls behind, instead of letting it grow without limit.
 */
export const WAL_SAFETY_PAGES = 10_000;

/**
 * Opens the database and applies the connection settings of design §5.
 * The embedded client keeps a pool of two connections: one that a write transaction can hold and one
 * for reads meanwhile (WAL lets them run side by side). Both are opened here so that each gets the
 * per-connection PRAGMAs; the pool never opens a third because writes are serialized by `writeLock`.
 * After SQLITE_BUSY the connections are replaced (see resilient-client.ts).
 */
export async function openStore(createClient: CreateLibsqlClient, opts: OpenOptions): Promise<Store> {
  const kind = opts.url.startsWith('file:') ? 'file' : 'remote';
  const writeLock = new WriteLock(kind === 'file' ? opts.writeWaitMs : 0);
  const stopCheckpointer =
    kind === 'file'
      ? opts.walCheckpointer?.(opts.url, opts.busyTimeoutMs, opts.onCheckpointError, { pauseWrites: () => writeLock.acquire() })
      : undefined;
  const open = async () => {
    const c = createClient({
      url: opts.url,
      authToken: opts.authToken,
      intMode: 'number',
      ...(kind === 'file' ? { concurrency: 2, timeout: opts.busyTimeoutMs } : {}),
    });
    if (kind === 'file') {
      try {
        await retryBusy(async () => {
          await c.execute('PRAGMA journal_mode = WAL');
          const perConnection = ['PRAGMA foreign_keys = ON', `PRAGMA busy_timeout = ${opts.busyTimeoutMs}`, 'PRAGMA synchronous = NORMAL'];
          // The thread keeps the WAL far below this; the limit only bounds it if the thread is gone.
          if (stopCheckpointer) perConnection.push(`PRAGMA wal_autocheckpoint = ${WAL_SAFETY_PAGES}`);
          for (const p of perConnection) await c.execute(p);
          // Hold the first (configured) connection in a read transaction so the next statements open
          // and configure the second one. PRAGMAs themselves must run outside a transaction.
          const tx = await c.transaction('read');
          try {
            for (const p of perConnection) await c.execute(p);
          } finally {
            tx.close();
          }
        });
      } catch (err) {
        c.close();
        throw err;
      }
    }
    return c;
  };
  let first;
  try {
    first = await open();
  } catch (err) {
    await stopCheckpointer?.();
    throw err;
  }
  const client = kind === 'file' ? resilientClient(open, first, { onRenewError: opts.onRenewError }) : first;
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    client,
    db,
    kind,
    writeLock,
    busyTimeoutMs: opts.busyTimeoutMs,
    close: async () => {
      client.close();
      await stopCheckpointer?.();
    },
  };
}

/**
 * Applies the embedded migrations that are not yet recorded. Idempotent and safe when several
 * instances start at once: each migration runs in a write transaction that re-checks the ledger.
 */
export async function migrate(store: Store): Promise<{ applied: string[] }> {
  const { client } = store;
  await client.execute(
    'CREATE TABLE IF NOT EXISTS schema_migration (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, hash TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied: string[] = [];
  const done = new Map((await client.execute('SELECT id, hash FROM schema_migration')).rows.map((r) => [Number(r.id), String(r.hash)]));
  for (const m of migrations) {
    if (done.get(m.id) === m.hash) continue;
    if (done.has(m.id)) {
      throw new Error(`migration ${m.tag} was changed after it was applied (hash mismatch); restore it and add a new migration instead`);
    }
    await retryBusy(async () => {
      const tx = await client.transaction('write');
      try {
        const again = await tx.execute({ sql: 'SELECT hash FROM schema_migration WHERE id = ?', args: [m.id] });
        if (again.rows.length === 0) {
          for (const statement of m.statements) await tx.execute(statement);
          await tx.execute({
            sql: 'INSERT INTO schema_migration (id, tag, hash, applied_at) VALUES (?, ?, ?, ?)',
            args: [m.id, m.tag, m.hash, Date.now()],
          });
          applied.push(m.tag);
        }
        await tx.commit();
      } catch (err) {
        await tx.rollback().catch(() => {});
        throw err;
      } finally {
        tx.close();
      }
    });
  }
  return { applied };
}

export function isBusyError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: unknown } | undefined;
  if (!e) return false;
  if (/SQLITE_BUSY|SQLITE_LOCKED|database is locked/i.test(`${e.code ?? ''} ${e.message ?? ''}`)) return true;
  return e.cause !== undefined && e.cause !== err ? isBusyError(e.cause) : false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retries a unit of work that failed with SQLITE_BUSY (another process holds the write lock),
 * with jittered exponential backoff. The busy_timeout itself is kept short because it blocks the
 * event loop while it waits; the waiting happens here, asynchronously, instead.
 */
export async function retryBusy<T>(fn: () => Promise<T>, opts: { attempts?: number; baseMs?: number; maxMs?: number } = {}): Promise<T> {
  const attempts = opts.attempts ?? 8;
  const base = opts.baseMs ?? 10;
  const max = opts.maxMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isBusyError(err) || attempt >= attempts) throw err;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  }
}
