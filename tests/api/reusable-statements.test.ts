import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { makeTestApp } from '../harness/app';
import { fog } from '../../db/schema/index';
import { ReusableStatement, StatementShapes } from '../../db/statements';
import { withTransaction } from '../../db/tx';

test('reusable statements: rendered once, run on the database and inside transactions, values mapped like the builder', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const a = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'stmt-a', archId: 1, routerMode: 'none', natsMode: 'none' } });
    const b = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'stmt-b', archId: 1, routerMode: 'none', natsMode: 'none' } });
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
    await update.run(db, { cpuUsage: 12.5, cpuViolation: true, version: '1.0.3', whereUuid: a.body.uuid });
    // Inside a write transaction it runs on the transaction (a statement outside it would wait for the lock).
    await withTransaction(t.ctx, async (tx) => {
      await update.run(tx.db, { cpuUsage: 7, cpuViolation: false, version: '1.0.4', whereUuid: b.body.uuid });
    });
    const rows = await db.select({ uuid: fog.uuid, cpuUsage: fog.cpuUsage, cpuViolation: fog.cpuViolation, version: fog.version }).from(fog);
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
    assert.throws(() => ReusableStatement.from(db.update(fog).set({ version: '1.0.0' }).where(eq(fog.uuid, sql.placeholder('u'))).toSQL()), /placeholder/);
  } finally {
    await t.close();
  }
});
