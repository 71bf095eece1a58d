import { test } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { makeTestApp } from '../harness/app';
import { fog, fogPublicKey } from '../../db/schema/index';
import { InListSelect, ReusableSelect, ReusableStatement, StatementShapes, inListSlots, inListValues } from '../../db/statements';
import { isPg } from '../../db/dialect';
import { withTransaction } from '../../db/tx';

test('reusable statements: rendered once, run on the database and inside transactions, values mapped like the builder', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const a = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'stmt-a', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const b = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'stmt-b', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const db = t.ctx.store.db;
    const shapes = new StatementShapes((columns) =>
      db
        .update(fog)
        .set(Object.fromEntries(columns.map((c) => [c, sql.placeholder(c)])))
        .where(eq(fog.uuid, sql.placeholder('whereUuid')))
        .toSQL(),
    );
    const update = shapes.get(['cpuUsage', 'cpuViolation', 'version']);
    assert.equal(shapes.get(['cpuUsage', 'cpuViolation', 'version']), update, 'one statement per shape');
    assert.equal((await update.run(db, { cpuUsage: 12.5, cpuViolation: true, version: '1.0.3', whereUuid: a.body.uuid })).rowsAffected, 1);
    assert.equal((await update.run(db, { cpuUsage: 1, cpuViolation: true, version: 'x', whereUuid: 'no-such-fog' })).rowsAffected, 0);
    // Every placeholder needs a value (undefined counts as given, as in drizzle).
    await assert.rejects(update.run(db, { cpuUsage: 1, version: 'x', whereUuid: a.body.uuid }), /No value for placeholder "cpuViolation"/);
    // Inside a write transaction it runs on the transaction (a statement outside it would wait for the lock).
    await withTransaction(t.ctx, async (tx) => {
      await update.run(tx.db, { cpuUsage: 7, cpuViolation: false, version: '1.0.4', whereUuid: b.body.uuid });
    });
    const rows = await db
      .select({ uuid: fog.uuid, cpuUsage: fog.cpuUsage, cpuViolation: fog.cpuViolation, version: fog.version })
      .from(fog);
    const byUuid = new Map(rows.map((r) => [r.uuid, r]));
    assert.deepEqual(byUuid.get(a.body.uuid), { uuid: a.body.uuid, cpuUsage: 12.5, cpuViolation: true, version: '1.0.3' });
    assert.deepEqual(byUuid.get(b.body.uuid), { uuid: b.body.uuid, cpuUsage: 7, cpuViolation: false, version: '1.0.4' });
    // A rolled-back transaction leaves nothing behind.
    await assert.rejects(
      withTransaction(t.ctx, async (tx) => {
        await update.run(tx.db, { cpuUsage: 99, cpuViolation: true, version: 'x', whereUuid: a.body.uuid });
        throw new Error('roll back');
      }),
    );
    const [after] = await db.select({ cpuUsage: fog.cpuUsage }).from(fog).where(eq(fog.uuid, a.body.uuid));
    assert.equal(after!.cpuUsage, 12.5);
    // A value rendered into the parameters would be frozen into every later call: refused.
    assert.throws(
      () =>
        ReusableStatement.from(
          db
            .update(fog)
            .set({ version: '1.0.0' })
            .where(eq(fog.uuid, sql.placeholder('u')))
            .toSQL(),
        ),
      /placeholder/,
    );
  } finally {
    await t.close();
  }
});

test('reusable selects: rows mapped like the builder (booleans, left-join nulls), on the database and inside transactions', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const a = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'sel-a', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const db = t.ctx.store.db;
    const builder = () =>
      db
        .select({ uuid: fog.uuid, isSystem: fog.isSystem, jwk: fogPublicKey.publicJwk })
        .from(fog)
        .leftJoin(fogPublicKey, eq(fogPublicKey.fogUuid, fog.uuid))
        .where(eq(fog.uuid, sql.placeholder('uuid')))
        .limit(sql.placeholder('limit'));
    const select = ReusableSelect.from(builder());
    // The builder's own result, run through the prepared-query API of the dialect at hand.
    const values = { uuid: a.body.uuid, limit: 1 };
    const expected = isPg(db)
      ? await (builder() as unknown as { prepare(name: string): { execute(v: object): Promise<unknown[]> } })
          .prepare('expected')
          .execute(values)
      : await builder().all(values);
    assert.deepEqual(expected, [{ uuid: a.body.uuid, isSystem: false, jwk: null }]);
    assert.deepEqual(await select.all(db, { uuid: a.body.uuid, limit: 1 }), expected);
    assert.deepEqual(await select.all(db, { uuid: 'no-such-fog', limit: 1 }), []);
    // Inside a write transaction it reads the transaction's own uncommitted writes.
    await assert.rejects(
      withTransaction(t.ctx, async (tx) => {
        await tx.db.insert(fogPublicKey).values({ fogUuid: a.body.uuid, publicJwk: '{"kty":"OKP"}', createdAt: 1 });
        assert.deepEqual(await select.all(tx.db, { uuid: a.body.uuid, limit: 1 }), [
          { uuid: a.body.uuid, isSystem: false, jwk: '{"kty":"OKP"}' },
        ]);
        throw new Error('roll back');
      }),
    );
    assert.deepEqual(await select.all(db, { uuid: a.body.uuid, limit: 1 }), expected);
    // Literal values would be frozen into the text: refused, as for ReusableStatement.
    assert.throws(() => ReusableSelect.from(db.select({ uuid: fog.uuid }).from(fog).where(eq(fog.uuid, 'x'))), /placeholder/);
  } finally {
    await t.close();
  }
});

test('IN lists: a few padded sizes cover every length, duplicates do not change the result', async () => {
  assert.deepEqual([1, 2, 3, 4, 5, 200, 500, 512].map(inListSlots), [1, 2, 4, 4, 8, 256, 512, 512]);
  assert.deepEqual(inListValues('f', ['a', 'b', 'c'], 4), { f0: 'a', f1: 'b', f2: 'c', f3: 'c' });
  assert.throws(() => inListValues('f', [], 1));
  assert.throws(() => inListValues('f', ['a', 'b', 'c'], 2));
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const fogs = [];
    for (const name of ['in-a', 'in-b', 'in-c'])
      fogs.push(
        (await t.call('POST', '/api/v3/iofog', { token: admin, body: { name, archId: 1, routerMode: 'none', natsMode: 'none' } })).body
          .uuid as string,
      );
    const db = t.ctx.store.db;
    const select = ReusableSelect.from(
      db
        .select({ uuid: fog.uuid })
        .from(fog)
        .where(
          inArray(
            fog.uuid,
            Array.from({ length: 4 }, (_, i) => sql.placeholder(`f${i}`)),
          ),
        ),
    );
    const rows = await select.all(db, inListValues('f', fogs, 4));
    assert.deepEqual(rows.map((r) => r.uuid).sort(), [...fogs].sort());
    assert.deepEqual(await select.all(db, inListValues('f', [fogs[0]], 4)), [{ uuid: fogs[0] }]);
  } finally {
    await t.close();
  }
});

test('IN-list selects: any length reads the rows a plain IN reads (one text per padded size, long lists in chunks); other placeholders bind too', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    for (let i = 0; i < 5; i++) {
      const r = await t.call('POST', '/api/v3/iofog', {
        token: admin,
        body: { name: `list-${i}`, archId: 1, routerMode: 'none', natsMode: 'none' },
      });
      assert.equal(r.status, 201);
    }
    const db = t.ctx.store.db;
    const all = await db.select({ uuid: fog.uuid, name: fog.name }).from(fog);
    const byName = InListSelect.from((d, names) =>
      d
        .select({ uuid: fog.uuid, name: fog.name })
        .from(fog)
        .where(and(inArray(fog.name, names), ne(fog.uuid, sql.placeholder('not'))))
        .orderBy(fog.name),
    );
    const names = all.map((f) => f.name);
    assert.deepEqual(await byName.all(db, [], { not: '' }), []);
    for (const n of [1, 2, 3, 5]) {
      const want = await db
        .select({ uuid: fog.uuid, name: fog.name })
        .from(fog)
        .where(inArray(fog.name, names.slice(0, n)))
        .orderBy(fog.name);
      assert.deepEqual(await byName.all(db, names.slice(0, n), { not: '' }), want, `${n} names`);
    }
    // The other placeholder is bound: the first fog is left out.
    const first = (await byName.all(db, names.slice(0, 1), { not: '' }))[0]!;
    assert.deepEqual(
      await byName.all(db, names.slice(0, 3), { not: first.uuid }),
      (await byName.all(db, names.slice(0, 3), { not: '' })).slice(1),
    );
    // 1,405 values: three chunks of at most 512, the matching names split across the last two.
    const long = [
      ...Array.from({ length: 1_022 }, (_, i) => `absent-${i}`),
      ...names,
      ...Array.from({ length: 378 }, (_, i) => `gone-${i}`),
    ];
    assert.equal(long.length, 1_405);
    assert.deepEqual((await byName.all(db, long, { not: '' })).map((f) => f.name).sort(), [...names].sort());
  } finally {
    await t.close();
  }
});
