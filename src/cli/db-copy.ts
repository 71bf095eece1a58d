// `controller db copy --from <url> --to <url>`: moves a whole Controller database to another one
// (the embedded file to PostgreSQL, or file to file), table by table, through the drizzle table
// objects, so each value goes through the same column mapping the server itself uses on each side.
import { existsSync } from 'node:fs';
import { count, getTableColumns, getTableName, gt, is, sql, type SQL } from 'drizzle-orm';
import { SQLiteTable, getTableConfig, type SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { migrate, openStore, retryBusy, type CreateLibsqlClient, type Store } from '../../db/client';
import { execute } from '../../db/dialect';
import { migrations as pgMigrations } from '../../db/migrations-pg/index';
import { pgDriver } from '../../db/pg-driver';
import { migrations } from '../../db/migrations/index';
import * as schema from '../../db/schema/index';

/** Rows read and written per transaction; small enough for SQLite's and PostgreSQL's parameter limits at our widest table. */
export const COPY_BATCH_ROWS = 500;
/** Both SQLite (32,766) and PostgreSQL (65,535) bind at least this many parameters per statement. */
const MAX_PARAMS = 30_000;

type Table = SQLiteTable;

export interface CopyOptions {
  from: string;
  to: string;
  /** Empty the target first when it already holds data (otherwise the copy refuses to start). */
  force?: boolean;
  batchRows?: number;
  authTokenFrom?: string;
  authTokenTo?: string;
}

export interface TableSummary {
  table: string;
  source: number;
  target: number;
}

export interface CopySummary {
  ok: boolean;
  from: string;
  to: string;
  tables: TableSummary[];
  rows: number;
  /** Tables emptied first because of --force (with how many rows they held). */
  cleared: Array<{ table: string; rows: number }>;
  ms: number;
}

export class CopyRefused extends Error {}

/** Every table of the schema, parents before children (foreign keys point backwards in the list). */
export function tablesInForeignKeyOrder(): Table[] {
  const tables = (Object.values(schema) as unknown[]).filter((v): v is Table => is(v, SQLiteTable));
  const byName = new Map<string, Table>(tables.map((t) => [getTableName(t), t]));
  const ordered: Table[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: Table, path: string[]) => {
    const name = getTableName(t);
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`foreign keys form a cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const fk of getTableConfig(t).foreignKeys) {
      const parent = fk.reference().foreignTable as Table;
      // A table that references itself would need its rows in parent-first order; none does today,
      // and the cycle check above would not catch it, so refuse loudly instead of copying wrongly.
      if (getTableName(parent) === name) throw new Error(`table ${name} references itself; db copy cannot order its rows`);
      visit(byName.get(getTableName(parent)) ?? parent, [...path, name]);
    }
    state.set(name, 'done');
    ordered.push(t);
  };
  for (const t of [...tables].sort((a, b) => getTableName(a).localeCompare(getTableName(b)))) visit(t, []);
  return ordered;
}

function primaryKeyColumns(t: Table): SQLiteColumn[] {
  const cfg = getTableConfig(t);
  const single = cfg.columns.filter((c) => c.primary);
  if (single.length) return single;
  const composite = cfg.primaryKeys[0]?.columns;
  if (composite?.length) return composite;
  throw new Error(`table ${cfg.name} has no primary key; db copy pages through tables by primary key`);
}

/**
 * After rows were copied with their ids, PostgreSQL's identity sequences still start at 1 and the
 * next insert would collide with a copied id: each is moved past the table's largest id. SQLite
 * needs nothing (an INTEGER PRIMARY KEY continues from the largest rowid, and inserting explicit
 * ids keeps sqlite_sequence up to date for AUTOINCREMENT tables), so on SQLite this returns [].
 */
export function identityResetStatements(dialect: 'sqlite' | 'postgres', tables: Table[] = tablesInForeignKeyOrder()): string[] {
  if (dialect === 'sqlite') return [];
  const out: string[] = [];
  for (const t of tables) {
    const pk = getTableConfig(t).columns.filter((c) => c.primary);
    if (pk.length !== 1 || pk[0]!.getSQLType() !== 'integer') continue;
    const table = getTableName(t).replaceAll('"', '""');
    const column = pk[0]!.name.replaceAll('"', '""');
    // pg_get_serial_sequence is NULL for a column without a sequence, and setval(NULL, …) is NULL:
    // a table whose id is not an identity column is skipped without an error. `false` makes the
    // next nextval() return exactly max + 1.
    out.push(
      `SELECT setval(pg_get_serial_sequence('"${table}"', '${column}'), COALESCE((SELECT MAX("${column}") FROM "${table}"), 0) + 1, false)`,
    );
  }
  return out;
}

export function dialectOf(url: string): 'sqlite' | 'postgres' {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

async function advanceIdentitySequences(store: Store, url: string): Promise<void> {
  for (const statement of identityResetStatements(dialectOf(url))) await execute(store.db, sql.raw(statement));
}

async function rowCount(store: Store, t: Table): Promise<number> {
  const [row] = await store.db.select({ n: count() }).from(t);
  return Number(row?.n ?? 0);
}

/**
 * Row counts of a freshly migrated database: the migrations seed a few rows (the default registries,
 * the catalog), and a target holding exactly those has never been used by a Controller.
 */
async function seededCounts(createClient: CreateLibsqlClient): Promise<Map<string, number>> {
  // One bare connection: an in-memory database exists only on the connection that created it.
  const client = createClient({ url: ':memory:', intMode: 'number' });
  try {
    await migrate({ client } as Store);
    const out = new Map<string, number>();
    for (const t of tablesInForeignKeyOrder()) {
      const name = getTableName(t);
      out.set(name, Number((await client.execute(`SELECT count(*) AS n FROM "${name}"`)).rows[0]!.n));
    }
    return out;
  } finally {
    client.close();
  }
}

function keysetAfter(pk: SQLiteColumn[], last: Record<string, unknown>): SQL {
  if (pk.length === 1) return gt(pk[0]!, last[pk[0]!.name]) as SQL;
  // Row-value comparison (SQLite ≥ 3.15 and PostgreSQL): pages by a composite key without OFFSET.
  return sql`(${sql.join(pk, sql`, `)}) > (${sql.join(
    pk.map((c) => sql`${last[c.name]}`),
    sql`, `,
  )})`;
}

/** The cursor for the next page: the last row's primary-key values by column name (select rows are keyed by property). */
function cursorOf(t: Table, pk: SQLiteColumn[], row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [prop, col] of Object.entries(getTableColumns(t))) if (pk.includes(col)) out[col.name] = row[prop];
  return out;
}

/**
 * Copies every table from `opts.from` to `opts.to` and verifies the row counts.
 *
 * - The target is migrated first (the same embedded migrations the server applies at start).
 * - A target that holds anything beyond the rows the migrations seed is refused unless `force`,
 *   which empties every table of the target first: a copy never merges two databases.
 * - The source is only read. It must be quiet (instances stopped, or a `db backup` file): rows
 *   written during the copy may be missed, and then the count check fails.
 * - Each batch is one transaction on the target; tables go parents first so foreign keys hold.
 * - Values travel through drizzle's column mapping, so stored text — including the encrypted
 *   columns, which need the same ENCRYPTION_KEY on the new side — arrives unchanged.
 */
export async function copyDatabase(createClient: CreateLibsqlClient, opts: CopyOptions): Promise<CopySummary> {
  const started = Date.now();
  if (opts.from === opts.to) throw new CopyRefused('--from and --to are the same database');
  // SQLite would create a missing source file and the copy would then report an empty "database".
  if (opts.from.startsWith('file:') && !existsSync(opts.from.slice('file:'.length).split('?')[0]!))
    throw new CopyRefused(`no database file at ${opts.from}`);
  const batchRows = Math.max(1, opts.batchRows ?? COPY_BATCH_ROWS);
  const tables = tablesInForeignKeyOrder();
  const seeded = await seededCounts(createClient);
  const source = await openStore(createClient, {
    url: opts.from,
    authToken: opts.authTokenFrom,
    busyTimeoutMs: 1000,
    writeWaitMs: 5000,
    pgDriver,
  });
  let target: Store | undefined;
  try {
    await assertSourceMigrated(source);
    target = await openStore(createClient, { url: opts.to, authToken: opts.authTokenTo, busyTimeoutMs: 1000, writeWaitMs: 5000, pgDriver });
    await migrate(target);
    const existing: Array<{ table: string; rows: number }> = [];
    let used = false;
    for (const t of tables) {
      const n = await rowCount(target, t);
      if (n) existing.push({ table: getTableName(t), rows: n });
      if (n !== (seeded.get(getTableName(t)) ?? 0)) used = true;
    }
    if (used && !opts.force) {
      const list = existing.map((e) => `${e.table} (${e.rows})`).join(', ');
      throw new CopyRefused(`the target already holds data: ${list}. Use an empty database, or --force to empty the target first`);
    }
    // Seeded rows are cleared too: the source has its own (possibly edited) copies of them.
    const cleared: Array<{ table: string; rows: number }> = [];
    for (const t of [...tables].reverse()) {
      const n = await rowCount(target, t);
      if (!n) continue;
      await retryBusy(() => target!.db.delete(t).then(() => undefined));
      cleared.push({ table: getTableName(t), rows: n });
    }

    const summaries: TableSummary[] = [];
    for (const t of tables) {
      const pk = primaryKeyColumns(t);
      const columns = getTableConfig(t).columns.length;
      const perInsert = Math.max(1, Math.min(batchRows, Math.floor(MAX_PARAMS / columns)));
      let last: Record<string, unknown> | undefined;
      for (;;) {
        const page = (await source.db
          .select()
          .from(t)
          .where(last ? keysetAfter(pk, last) : undefined)
          .orderBy(...pk)
          .limit(batchRows)) as Record<string, unknown>[];
        if (!page.length) break;
        await retryBusy(() =>
          target!.db.transaction(async (tx) => {
            for (let i = 0; i < page.length; i += perInsert) await tx.insert(t).values(page.slice(i, i + perInsert));
          }),
        );
        last = cursorOf(t, pk, page[page.length - 1]!);
        if (page.length < batchRows) break;
      }
      summaries.push({ table: getTableName(t), source: await rowCount(source, t), target: await rowCount(target, t) });
    }
    await advanceIdentitySequences(target, opts.to);
    const ok = summaries.every((s) => s.source === s.target);
    return {
      ok,
      from: redactUrl(opts.from),
      to: redactUrl(opts.to),
      tables: summaries,
      rows: summaries.reduce((n, s) => n + s.target, 0),
      cleared: used ? cleared : [],
      ms: Date.now() - started,
    };
  } finally {
    await target?.close();
    await source.close();
  }
}

/** The source must be at this version's schema: the copy writes the target at this version's schema. */
async function assertSourceMigrated(source: Store): Promise<void> {
  let done: Set<number>;
  try {
    const rows: Array<{ id: unknown }> =
      source.kind === 'postgres'
        ? await (source.db as unknown as { execute(q: SQL): Promise<Array<{ id: unknown }>> }).execute(sql`SELECT id FROM schema_migration`)
        : (await source.client.execute('SELECT id FROM schema_migration')).rows.map((r) => ({ id: r.id }));
    done = new Set(rows.map((r) => Number(r.id)));
  } catch {
    throw new CopyRefused('the source has no Controller schema (no schema_migration table); check --from');
  }
  const missing = (source.kind === 'postgres' ? pgMigrations : migrations).filter((m) => !done.has(m.id)).map((m) => m.tag);
  if (missing.length) {
    throw new CopyRefused(
      `the source is at an older schema (missing ${missing.join(', ')}): start this Controller version on it once (it migrates at start), stop it, then copy`,
    );
  }
}

/** Passwords in a URL never reach the summary or the terminal. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@]*)@/, (_m, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : auth}@`);
}
