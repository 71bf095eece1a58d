import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inArray } from 'drizzle-orm';
import { makeTestApp } from '../harness/app';
import { AgentActivity } from '../../src/services/agent/activity';
import { fog } from '../../db/schema/index';

// lastActive is batched in memory and written per flush, up to 1,000 fogs per UPDATE statement.
test('agent activity: a flush writes lastActive of every touched fog (across statement chunks) and nothing else', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const uuids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: `active-${i}`, archId: 1, routerMode: 'none', natsMode: 'none' } });
      assert.equal(r.status, 201);
      uuids.push(r.body.uuid);
    }
    const activity = new AgentActivity(t.ctx.logger);
    const base = Date.parse('2026-06-01T00:00:00Z');
    // 2,500 entries: three statements; only two of them name existing fogs.
    for (let i = 0; i < 2500; i++) activity.touch(`missing-${i}`, base);
    activity.touch(uuids[0]!, base + 1);
    activity.touch(uuids[1]!, base + 2);
    activity.touch(uuids[1]!, base + 3); // the latest touch wins
    await activity.flush(t.ctx);
    const rows = await t.ctx.store.db.select({ uuid: fog.uuid, lastActive: fog.lastActive }).from(fog).where(inArray(fog.uuid, uuids));
    const by = Object.fromEntries(rows.map((r) => [r.uuid, r.lastActive]));
    assert.equal(by[uuids[0]!], base + 1);
    assert.equal(by[uuids[1]!], base + 3);
    assert.notEqual(by[uuids[2]!], base, 'an untouched fog keeps its value');
    const fogGet = await t.call('GET', `/api/v3/iofog/${uuids[1]}`, { token: admin });
    assert.equal(fogGet.body.lastActive, base + 3, 'the operator API shows it');
    // Nothing pending: a second flush writes nothing and does not fail.
    await activity.flush(t.ctx);
    // A uuid with JSON-special characters is bound as data, not SQL.
    const before = (await t.ctx.store.db.select({ uuid: fog.uuid }).from(fog)).length;
    activity.touch(`x"'); DROP TABLE fog; --`, base);
    await activity.flush(t.ctx);
    assert.equal((await t.ctx.store.db.select({ uuid: fog.uuid }).from(fog)).length, before);
  } finally {
    await t.close();
  }
});
