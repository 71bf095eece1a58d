import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

/**
 * On PostgreSQL the `Db` handle is a postgres-js drizzle instance typed as the SQLite one, so the
 * compiler does not catch calls only the SQLite builder has: this scan does. Dialect-specific SQL
 * belongs in db/ (one function per statement, both forms); the libSQL runtime adapters are SQLite-only.
 */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\b(db|tx|store)\s*\.\s*(run|batch|all|get|values)\s*\(/, 'db.run/batch/all/get/values (SQLite session API)'],
  [/\.\s*(get|all|run|values)\(\s*\)/, '.get()/.all()/.run()/.values() on a builder (SQLite only; await the builder)'],
  [
    /\bjson_each\b|\bgroup_concat\b|\bstrftime\b|\bifnull\b|\browid\b|\bchanges\(\)|\bPRAGMA\b|COLLATE NOCASE/i,
    'a SQLite-only SQL function',
  ],
];

/** Map/Set iteration (`.values()` of a collection) is not a query; these receivers are known collections. */
const COLLECTION = /(\.|\b)(sessions|conns|keys|#keys|out|byKey|#byShape|seen|map|cache|#[a-z]\w*)\.values\(\)|new Map\(.*\)\.values\(\)/;

/** Files that only ever open the embedded file database: `db backup` copies the SQLite file itself (PostgreSQL uses pg_dump). */
const SQLITE_ONLY_FILES = new Set(['src/cli/db-backup.ts']);

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (['runtime', 'generated'].includes(name)) continue;
      yield* sources(p);
    } else if (p.endsWith('.ts') && !SQLITE_ONLY_FILES.has(relative(ROOT, p))) yield p;
  }
}

export function scan(files: Iterable<string>, read: (f: string) => string = (f) => readFileSync(f, 'utf8')): string[] {
  const found: string[] = [];
  for (const f of files) {
    read(f)
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
        for (const [re, what] of FORBIDDEN) {
          if (!re.test(code)) continue;
          if (what.startsWith('.get()') && COLLECTION.test(code)) continue;
          found.push(`${relative(ROOT, f)}:${i + 1}: ${what}: ${line.trim()}`);
        }
      });
  }
  return found;
}

test('services, routes and workers use only the query API both dialects share', () => {
  const files = ['src', 'routes', 'workers'].flatMap((d) => [...sources(join(ROOT, d))]);
  assert.ok(files.length > 50, 'the scan sees the sources');
  assert.deepEqual(scan(files), []);
});

test('the scan catches each kind of SQLite-only call', () => {
  const samples: Record<string, string> = {
    'a.ts': 'await ctx.db.run(sql`SELECT 1`);',
    'b.ts': 'const row = await tx.db.select().from(fog).where(eq(fog.uuid, id)).get();',
    'c.ts': 'await db.batch([q1, q2]);',
    'd.ts': 'await tx.db.run(sql`UPDATE fog SET x = j.value FROM json_each(?) AS j`);',
    'e.ts': '  const rows = await q\n    .values();',
    'f.ts': 'for (const s of this.sessions.values()) close(s);',
  };
  const hits = scan(Object.keys(samples), (f) => samples[f]!);
  for (const f of ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts'])
    assert.ok(
      hits.some((h) => h.startsWith(f)),
      `${f} is reported`,
    );
  assert.ok(!hits.some((h) => h.startsWith('f.ts')), 'Map iteration is not a query');
});
