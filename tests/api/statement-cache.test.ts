import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createClient } from '@libsql/client';
import { enableStatementCache } from '../../src/runtime/statement-cache';
import { libsqlBindingPath } from '../../src/runtime/libsql-binding';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { Vault } from '../../src/crypto/vault';
import { createLogger } from '../../src/lib/logger';
import { createGroup, listGroups } from '../../src/services/auth/admin';

// The servers run with prepared statements cached per connection; this file turns the cache on
// (it patches the native binding for the whole test process) and repeats the contention scenario.
test('with the statement cache: two instances on one file write concurrently, BUSY recovers, reads stay correct', async () => {
  assert.equal(enableStatementCache(), true);
  const dir = mkdtempSync(join(tmpdir(), 'ctl-cache-'));
  try {
    const config = loadConfig({ DB_URL: `file:${join(dir, 'c.db')}`, ENCRYPTION_KEY: Vault.generateKey() });
    const a = await bootstrap({ config, logger: createLogger('silent'), createClient });
    const b = await bootstrap({ config, logger: createLogger('silent'), createClient });
    const results = await Promise.allSettled([
      ...Array.from({ length: 25 }, (_, i) => createGroup(a, { name: `a-${i}` })),
      ...Array.from({ length: 25 }, (_, i) => createGroup(b, { name: `b-${i}` })),
    ]);
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected'),
      [],
    );
    const names = (await listGroups(a)).map((g) => g.name);
    assert.equal(names.filter((n) => /^[ab]-\d+$/.test(n)).length, 50);
    assert.deepEqual(
      (await listGroups(b)).map((g) => g.name),
      names,
      'the same cached statement answers fresh data',
    );
    a.store.close();
    b.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with the statement cache: reused statements answer like fresh ones (writes, RETURNING, reads, PRAGMAs, errors)', async () => {
  assert.equal(enableStatementCache(), true);
  // The probes @libsql/client makes are answered by the patched statement methods (so this test
  // exercises them, not the binding's originals).
  const libsql = createRequire(import.meta.url)(libsqlBindingPath()!) as new (
    path: string,
  ) => { prepare(sql: string): object; close(): void };
  const probe = new libsql(':memory:');
  assert.equal((Object.getPrototypeOf(probe.prepare('SELECT 1')) as { __lean?: boolean }).__lean, true);
  probe.close();
  const dir = mkdtempSync(join(tmpdir(), 'ctl-cache-'));
  const db = createClient({ url: `file:${join(dir, 'lean.db')}` });
  try {
    await db.execute('CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT UNIQUE)');
    for (let round = 0; round < 3; round++) {
      // The same SQL text each round: the second and third rounds run cached statements.
      const ins = await db.execute({ sql: 'INSERT INTO t (b) VALUES (?)', args: [`v${round}`] });
      assert.equal(ins.rowsAffected, 1);
      assert.equal(ins.columns.length, 0);
      assert.equal(Number(ins.lastInsertRowid), round * 2 + 1);
      const ret = await db.execute({ sql: 'INSERT INTO t (b) VALUES (?) RETURNING a, b', args: [`r${round}`] });
      assert.deepEqual(ret.columns, ['a', 'b']);
      assert.deepEqual([Number(ret.rows[0]!.a), ret.rows[0]!.b], [round * 2 + 2, `r${round}`]);
      const upd = await db.execute({ sql: 'UPDATE t SET b = b || ? WHERE a <= ?', args: ['', 0] });
      assert.equal(upd.rowsAffected, 0);
      const sel = await db.execute('SELECT count(*) AS n FROM t');
      assert.equal(Number(sel.rows[0]!.n), (round + 1) * 2);
      assert.equal(typeof (await db.execute('SELECT a FROM t LIMIT 1')).rows[0]!.a, 'number', 'intMode number: safe integers converted');
      const pragma = await db.execute('PRAGMA foreign_keys = ON');
      assert.equal(pragma.columns.length, 0);
      assert.equal(Number((await db.execute('PRAGMA foreign_keys')).rows[0]![0]), 1);
      // A real error from a write is still the binding's (not the "no data" signal).
      await assert.rejects(db.execute({ sql: 'INSERT INTO t (b) VALUES (?)', args: [`v${round}`] }), (e: { code?: string }) =>
        /SQLITE_CONSTRAINT/.test(String(e.code)),
      );
      const tx = await db.transaction('write');
      await tx.execute({ sql: 'UPDATE t SET b = ? WHERE a = 1', args: [`tx${round}`] });
      await tx.commit();
      assert.equal((await db.execute('SELECT b FROM t WHERE a = 1')).rows[0]!.b, `tx${round}`);
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with the statement cache: a statement builds its column list once; a star select follows the schema', async () => {
  assert.equal(enableStatementCache(), true);
  const dir = mkdtempSync(join(tmpdir(), 'ctl-cache-'));
  const db = createClient({ url: `file:${join(dir, 'cols.db')}` });
  const libsql = createRequire(import.meta.url)(libsqlBindingPath()!) as new (
    path: string,
  ) => { prepare(sql: string): { columns(): unknown[] }; exec(sql: string): void; close(): void };
  const direct = new libsql(':memory:');
  try {
    // The binding builds a fresh list per call; the patched method answers the first one again.
    // Star selects are prepared per call (not cached).
    direct.exec('CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)');
    const named = direct.prepare('SELECT a, b FROM t WHERE a = ?');
    assert.equal(direct.prepare('SELECT a, b FROM t WHERE a = ?'), named, 'cached');
    assert.equal(named.columns(), named.columns());
    assert.notEqual(direct.prepare('SELECT * FROM t WHERE a = ?'), direct.prepare('SELECT * FROM t WHERE a = ?'));
    assert.notEqual(direct.prepare('select t.* from t'), direct.prepare('select t.* from t'));
    assert.notEqual(direct.prepare('INSERT INTO t (b) VALUES (?) RETURNING *'), direct.prepare('INSERT INTO t (b) VALUES (?) RETURNING *'));
    const count = direct.prepare('SELECT count(*) AS n FROM t');
    assert.equal(direct.prepare('SELECT count(*) AS n FROM t'), count, 'count(*) names its column: cached');
    assert.equal(count.columns(), count.columns());

    // Through the client: the schema changes under two cached statements. The star select sees
    // and maps the new column; the named one keeps its (still right) list.
    await db.execute('CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)');
    await db.execute({ sql: 'INSERT INTO t (b) VALUES (?)', args: ['x'] });
    for (let i = 0; i < 3; i++) {
      assert.deepEqual((await db.execute({ sql: 'SELECT a, b FROM t WHERE a = ?', args: [1] })).columns, ['a', 'b']);
      assert.deepEqual((await db.execute({ sql: 'SELECT * FROM t WHERE a = ?', args: [1] })).columns, ['a', 'b']);
    }
    await db.execute('ALTER TABLE t ADD COLUMN c TEXT');
    await db.execute({ sql: 'UPDATE t SET c = ? WHERE a = 1', args: ['y'] });
    const s = await db.execute({ sql: 'SELECT * FROM t WHERE a = ?', args: [1] });
    assert.deepEqual(s.columns, ['a', 'b', 'c']);
    assert.equal(s.rows[0]!.c, 'y');
    const n = await db.execute({ sql: 'SELECT a, b FROM t WHERE a = ?', args: [1] });
    assert.deepEqual(n.columns, ['a', 'b']);
    assert.deepEqual([n.rows[0]!.a, n.rows[0]!.b], [1, 'x']);
  } finally {
    direct.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with the statement cache: rows read like the client’s own (names, indices, length, integers, blobs, other intModes)', async () => {
  assert.equal(enableStatementCache(), true);
  const dir = mkdtempSync(join(tmpdir(), 'ctl-cache-'));
  const db = createClient({ url: `file:${join(dir, 'rows.db')}` });
  const big = createClient({ url: `file:${join(dir, 'rows.db')}`, intMode: 'bigint' });
  try {
    await db.execute('CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c REAL, d BLOB, e INTEGER)');
    await db.execute({ sql: 'INSERT INTO t (b, c, d, e) VALUES (?, ?, ?, ?)', args: ['x', 1.5, new Uint8Array([1, 2, 3]), null] });
    await db.execute({ sql: 'INSERT INTO t (b, c, d, e) VALUES (?, ?, ?, ?)', args: ['y', null, null, 2 ** 40] });
    const sql = 'SELECT a, b, c, d, e, b AS b2, a AS b FROM t ORDER BY a';
    for (let round = 0; round < 3; round++) {
      // Rounds 2 and 3 run the cached statement, whose rows no longer pass through the client's mapping.
      const { rows, columns } = await db.execute(sql);
      assert.deepEqual(columns, ['a', 'b', 'c', 'd', 'e', 'b2', 'b']);
      const [r1, r2] = rows as unknown as Array<Record<string | number, unknown>>;
      assert.notEqual(Object.getPrototypeOf(r1), Object.prototype, 'built by lean-rows, not by the client');
      assert.deepEqual(Object.keys(r1!), ['a', 'b', 'c', 'd', 'e', 'b2'], 'own enumerable names, first of a name wins');
      assert.equal(JSON.stringify(r2), '{"a":2,"b":"y","c":null,"d":null,"e":1099511627776,"b2":"y"}');
      assert.equal(r1!.length, 7);
      assert.deepEqual(Array.prototype.slice.call(r1), [1, 'x', 1.5, r1!.d, null, 'x', 1], 'indices and length');
      assert.equal(r1![6], 1, 'a repeated name is still readable by index');
      assert.ok(r1!.d instanceof ArrayBuffer);
      assert.deepEqual([...new Uint8Array(r1!.d as ArrayBuffer)], [1, 2, 3]);
      assert.deepEqual({ ...r2 }, { a: 2, b: 'y', c: null, d: null, e: 2 ** 40, b2: 'y' });
      // A client that asked for bigints gets them from the same (cached) statement.
      const b = (await big.execute(sql)).rows as unknown as Array<Record<string, unknown>>;
      assert.equal(b[1]!.e, 2n ** 40n);
      assert.equal(b[0]!.a, 1n);
    }
    await db.execute({ sql: 'INSERT INTO t (e) VALUES (?)', args: [2n ** 60n] });
    await assert.rejects(db.execute('SELECT e FROM t WHERE a = 3'), RangeError, 'beyond 2^53 is an error, as in the client');
    await assert.rejects(db.execute('SELECT e FROM t WHERE a = 3'), RangeError);
  } finally {
    db.close();
    big.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
