import type { Client, Config as LibsqlConfig, ResultSet } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import type postgres from 'postgres';
import type { PgDriver } from './pg-driver';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import * as schema from './schema/index';
import { migrations } from './migrations/index';
import { migrations as pgMigrations } from './migrations-pg/index';
import { WriteLock } from './write-lock';
import { resilientClient } from './resilient-client';
import { enableFastRowMapping } from './row-mapping';

export type Schema = typeof schema;
/**
 * A drizzle handle: the database itself or an open transaction — services take either.
 * On PostgreSQL it is a postgres-js drizzle instance at run time, querying the same SQLite table
 * objects (see db/pg/schema.ts for why their values fit the PostgreSQL columns). Services therefore
 * use only what both builders share: awaited builders, `.returning()`, `onConflictDoUpdate/DoNothing`
 * and `.transaction()` — never `.get()`, `.all()`, `.run()`, `.values()` or `batch()`.
 */
export type Db = BaseSQLiteDatabase<'async', ResultSet, Schema>;

export type CreateLibsqlClient = (config: LibsqlConfig) => Client;
export type { PgDriver };

/** Plain SQL with `?` placeholders, for migrations, probes and tests, on either dialect. */
export interface RawSql {
  execute(text: string, args?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowsAffected: number }>;
}

interface StoreBase {
  db: Db;
  raw: RawSql;
  /** Serializes this process's write transactions on the embedded file; a no-op elsewhere. */
  writeLock: WriteLock;
  busyTimeoutMs: number;
  /** Closes the connections (and, on Node's embedded file, ends the checkpoint thread: awaited). */
  close(): Promise<void>;
}

export interface LibsqlStore extends StoreBase {
  /** `file`: embedded SQLite (one writer, serialized in-process); `remote`: a libSQL server. */
  kind: 'file' | 'remote';
  client: Client;
}

export interface PgStore extends StoreBase {
  /** A PostgreSQL server: many writers, transactions isolated by the server, a connection pool. */
  kind: 'postgres';
  sql: postgres.Sql;
}

export type Store = LibsqlStore | PgStore;

export const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//.test(url);

export interface OpenOptions {
  url: string;
  authToken?: string;
  busyTimeoutMs: number;
  writeWaitMs: number;
  /** PostgreSQL only: the driver (db/pg-driver.ts); without one a postgres:// URL is refused. */
  pgDriver?: PgDriver;
  /** PostgreSQL only: the most connections this instance opens. */
  poolMax?: number;
  /** PostgreSQL only: how long to wait for a connection to open. */
  connectTimeoutSec?: number;
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
 * Opens the database and applies the connection settings (WAL, foreign keys, a short busy timeout).
 * The embedded client keeps a pool of two connections: one that a write transaction can hold and one
 * for reads meanwhile (WAL lets them run side by side). Both are opened here so that each gets the
 * per-connection PRAGMAs; the pool never opens a third because writes are serialized by `writeLock`.
 * After SQLITE_BUSY the connections are replaced (see resilient-client.ts).
 */
export async function openStore(createClient: CreateLibsqlClient, opts: OpenOptions): Promise<Store> {
  if (isPostgresUrl(opts.url)) return openPgStore(opts);
  return openLibsqlStore(createClient, opts);
}

async function openLibsqlStore(createClient: CreateLibsqlClient, opts: OpenOptions): Promise<LibsqlStore> {
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
  enableFastRowMapping(db);
  return {
    client,
    db,
    raw: {
      async execute(text, args = []) {
        const r = await client.execute({ sql: text, args: args as never });
        return { rows: r.rows as unknown as Record<string, unknown>[], rowsAffected: r.rowsAffected };
      },
    },
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
 * Opens a connection pool to PostgreSQL. int8 comes back as a JS number: every integer column is
 * bigint there (epoch-ms timestamps do not fit int4) and the code reads them as numbers, as it does
 * on SQLite; values stay below 2^53. The first connection is opened here so that a wrong URL or a
 * server that is down fails the start, not the first request.
 */
async function openPgStore(opts: OpenOptions): Promise<PgStore> {
  if (!opts.pgDriver) throw new Error('DB_URL is a PostgreSQL URL, but this runtime has no PostgreSQL driver (use a libSQL DB_URL here)');
  const sql = opts.pgDriver.postgres(opts.url, {
    max: opts.poolMax ?? 10,
    connect_timeout: opts.connectTimeoutSec ?? 10,
    idle_timeout: 60,
    // No array columns: skip the type lookup every new connection would otherwise make.
    fetch_types: false,
    // Notices (e.g. "relation already exists, skipping") are not problems of the caller.
    onnotice: () => {},
    types: {
      bigint: { to: 20, from: [20], parse: (x: string) => Number(x), serialize: (x: unknown) => String(x) },
    },
  });
  try {
    exposeRowsAffected(await sql`SELECT 1`);
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw err;
  }
  const db = opts.pgDriver.drizzle(sql) as unknown as Db;
  return {
    kind: 'postgres',
    sql,
    db,
    raw: {
      async execute(text, args = []) {
        let n = 0;
        const r = await sql.unsafe(
          text.replace(/\?/g, () => `$${++n}`),
          args as never[],
        );
        return { rows: [...r] as Record<string, unknown>[], rowsAffected: r.count };
      },
    },
    // Nothing to serialize in-process: the server isolates concurrent writers (see db/tx.ts).
    writeLock: new WriteLock(0),
    busyTimeoutMs: opts.busyTimeoutMs,
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * The services read `rowsAffected` from the result of an UPDATE/DELETE/INSERT, as libSQL names it
 * (typed so by `Db`); postgres.js calls the same number `count`. One read-only alias on the driver's
 * result class lets every call site work on both dialects unchanged.
 */
function exposeRowsAffected(result: object): void {
  const proto = Object.getPrototypeOf(result) as object;
  if (Object.hasOwn(proto, 'rowsAffected')) return;
  Object.defineProperty(proto, 'rowsAffected', {
    get(this: { count: number | null }) {
      return this.count ?? 0;
    },
  });
}

/**
 * Applies the embedded migrations that are not yet recorded. Idempotent and safe when several
 * instances start at once: each migration runs in a write transaction that re-checks the ledger.
 */
export async function migrate(store: Store): Promise<{ applied: string[] }> {
  if (store.kind === 'postgres') return migratePg(store);
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

/**
 * Any number in PostgreSQL's advisory-lock key space, fixed: every instance of this Controller that
 * migrates the same database takes the same lock, so only one applies migrations at a time.
 */
export const PG_MIGRATION_LOCK = 0x10f0c0de;

/**
 * PostgreSQL: all pending migrations in one transaction (PostgreSQL's DDL is transactional) under a
 * transaction-scoped advisory lock, so instances starting together wait for the first one and then
 * find the ledger up to date. A failed migration leaves nothing half-applied.
 */
async function migratePg(store: PgStore): Promise<{ applied: string[] }> {
  const applied: string[] = [];
  await store.sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migration (id bigint PRIMARY KEY, tag text NOT NULL, hash text NOT NULL, applied_at bigint NOT NULL)`;
    const rows = await tx<{ id: number; hash: string }[]>`SELECT id, hash FROM schema_migration`;
    const done = new Map(rows.map((r) => [Number(r.id), String(r.hash)]));
    for (const m of pgMigrations) {
      if (done.get(m.id) === m.hash) continue;
      if (done.has(m.id)) {
        throw new Error(`migration ${m.tag} was changed after it was applied (hash mismatch); restore it and add a new migration instead`);
      }
      for (const statement of m.statements) await tx.unsafe(statement);
      await tx`INSERT INTO schema_migration (id, tag, hash, applied_at) VALUES (${m.id}, ${m.tag}, ${m.hash}, ${Date.now()})`;
      applied.push(m.tag);
    }
  });
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
