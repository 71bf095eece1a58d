import { asc, inArray, is, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from './client';

/**
 * The statements whose SQL differs between SQLite and PostgreSQL, one function each, both forms
 * beside each other. Everything else is rendered by drizzle from the same table objects.
 */

/** True when `db` (the database or an open transaction) is the PostgreSQL one. */
export function isPg(db: Db): boolean {
  return is((db as unknown as { dialect: unknown }).dialect, PgDialect);
}

/** Runs a statement whose rows are not needed. drizzle's SQLite handle calls this `run`, its PostgreSQL one `execute`. */
export async function execute(db: Db, statement: SQL): Promise<void> {
  if (isPg(db)) await (db as unknown as { execute(q: SQL): Promise<unknown> }).execute(statement);
  else await db.run(statement);
}

/** The cheapest round trip that proves the database answers (readiness). */
export function ping(db: Db): Promise<void> {
  return execute(db, sql`SELECT 1`);
}

/**
 * Sets `fog.last_active` of many fogs in one statement from a `{uuid: epochMs}` map sent as one JSON
 * parameter, so the statement text is the same for any number of fogs.
 */
export function setLastActive(db: Db, lastActive: Record<string, number>): Promise<void> {
  const json = JSON.stringify(lastActive);
  return execute(
    db,
    isPg(db)
      ? sql`UPDATE fog SET last_active = j.value::bigint FROM jsonb_each_text(${json}::jsonb) AS j WHERE fog.uuid = j.key`
      : sql`UPDATE fog SET last_active = j.value FROM json_each(${json}) AS j WHERE fog.uuid = j.key`,
  );
}

/**
 * PostgreSQL: claims the oldest eligible row of a task table in one statement — the row is picked with
 * `FOR UPDATE SKIP LOCKED`, so instances claiming at the same moment take different rows instead of
 * queueing behind each other or racing for the same one — and returns it as updated. SQLite has one
 * writer at a time and uses a compare-and-set UPDATE instead (in the services).
 */
export async function claimOldestPg<T extends SQLiteTable>(
  db: Db,
  table: T,
  opts: { key: SQLiteColumn; eligible: SQL | undefined; orderBy: SQLiteColumn; set: Partial<T['$inferInsert']> },
): Promise<T['$inferSelect'] | undefined> {
  const pick = db
    .select({ key: opts.key })
    .from(table as SQLiteTable)
    .where(opts.eligible)
    .orderBy(asc(opts.orderBy))
    .limit(1) as unknown as {
    for(strength: 'update', config: { skipLocked: boolean }): SQL;
  };
  const rows = (await (db.update(table as SQLiteTable) as unknown as PgUpdate)
    .set(opts.set as Record<string, unknown>)
    .where(inArray(opts.key, pick.for('update', { skipLocked: true })))
    .returning()) as T['$inferSelect'][];
  return rows[0];
}

interface PgUpdate {
  set(values: Record<string, unknown>): { where(w: SQL): { returning(): Promise<unknown[]> } };
}
