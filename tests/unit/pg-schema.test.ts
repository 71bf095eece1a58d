import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { getTableConfig as pgConfig, type PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteConfig } from 'drizzle-orm/sqlite-core';
import * as pgSchema from '../../db/pg/schema';
import { renderPgSchema, sqliteTables } from '../../scripts/gen-pg-schema';

/** The facts both dialects must agree on, per table, from drizzle's view of a table. */
function shape(cfg: ReturnType<typeof sqliteConfig> | ReturnType<typeof pgConfig>) {
  return {
    columns: cfg.columns
      .map((c) => `${c.name}${c.notNull ? ' not null' : ''}${c.primary ? ' pk' : ''}${c.isUnique ? ` unique ${c.uniqueName}` : ''}`)
      .sort(),
    primaryKeys: cfg.primaryKeys.map((p) => p.columns.map((c) => c.name).join(',')).sort(),
    uniques: cfg.uniqueConstraints.map((u) => `${u.getName()}(${u.columns.map((c) => c.name).join(',')})`).sort(),
    indexes: cfg.indexes
      .map((i) => {
        const c = i.config as { name: string; unique: boolean; where?: unknown; columns: Array<{ name?: string }> };
        return `${c.name}${c.unique ? ' unique' : ''}(${c.columns.map((x) => x.name).join(',')})${c.where ? ' partial' : ''}`;
      })
      .sort(),
    foreignKeys: cfg.foreignKeys
      .map(
        (f) =>
          `${f.getName()} ${f.reference().columns.map((c) => c.name)} -> ${f.reference().foreignColumns.map((c) => c.name)} ${f.onDelete ?? ''}`,
      )
      .sort(),
  };
}

test('db/pg/schema.ts is what scripts/gen-pg-schema.ts renders from the SQLite tables today', () => {
  const current = readFileSync(new URL('../../db/pg/schema.ts', import.meta.url), 'utf8');
  assert.equal(current, renderPgSchema(), 'stale: run `npm run db:generate`');
});

test('the PostgreSQL tables match the SQLite tables: columns, nullability, keys, uniques, indexes, foreign keys', () => {
  const pgTables = new Map(Object.entries(pgSchema).map(([k, t]) => [k, t as PgTable]));
  const sqlite = sqliteTables();
  assert.deepEqual([...pgTables.keys()].sort(), sqlite.map(([k]) => k).sort(), 'the same tables');
  for (const [name, table] of sqlite) {
    const pg = pgTables.get(name)!;
    assert.deepEqual(shape(pgConfig(pg)), shape(sqliteConfig(table)), `table ${name}`);
  }
});
