import { is, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
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
