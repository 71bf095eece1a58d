import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inArray } from 'drizzle-orm';
import { makeTestApp } from '../harness/app';
import { AgentActivity } from '../../src/services/agent/activity';
import { fog } from '../../db/schema/index';

// lastActive is batched in memory and written per flush, 250 fogs per UPDATE statement and transaction.
test('agent activity: a flush writes lastActive of every touched fog (across statement chunks) and nothing else', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const uuids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.call('POST', '/api/v3/iofog', {
        token: admin,
        body: { name: `active-${i}`, archId: 1, routerMode: 'none', natsMode: 'none' },
      });
      assert.equal(r.status, 201);
      uuids.push(r.body.uuid);
    }
    const activity = new AgentActivity(t.ctx.logger);
    const base = Date.parse('2026-06-01T00:00:00Z');
    // 2,502 entries: eleven statements; only two of them name existing fogs.
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

async function threeFogs(t: Awaited<ReturnType<typeof makeTestApp>>, prefix: string): Promise<string[]> {
  const admin = (await t.login()).accessToken;
  const uuids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: `${prefix}-${i}`, archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    assert.equal(r.status, 201);
    uuids.push(r.body.uuid);
  }
  return uuids;
}

async function lastActive(t: Awaited<ReturnType<typeof makeTestApp>>, uuids: string[]): Promise<Record<string, number | null>> {
  const rows = await t.ctx.store.db.select({ uuid: fog.uuid, lastActive: fog.lastActive }).from(fog).where(inArray(fog.uuid, uuids));
  return Object.fromEntries(rows.map((r) => [r.uuid, r.lastActive]));
}

// Each statement runs synchronously on the event loop: a flush of the whole fleet in one go stalled every
// request that arrived meanwhile. Timers (and so requests) must get their turn between chunks.
test('agent activity: a large flush lets the event loop run between its chunks', async () => {
  const t = await makeTestApp();
  try {
    const [first, , last] = await threeFogs(t, 'chunked');
    const activity = new AgentActivity(t.ctx.logger);
    const base = Date.parse('2026-06-02T00:00:00Z');
    activity.touch(first!, base + 1);
    for (let i = 0; i < 2000; i++) activity.touch(`missing-${i}`, base);
    activity.touch(last!, base + 2);
    const flushing = activity.flush(t.ctx);
    let sawPartial = false;
    for (let turn = 0; turn < 1000; turn++) {
      // sleep-ok: a zero-delay timer is the probe: the test proves timers run between the flush's chunks.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const by = await lastActive(t, [first!, last!]);
      if (by[last!] === base + 2) break;
      if (by[first!] === base + 1) sawPartial = true;
    }
    await flushing;
    assert.ok(sawPartial, 'a timer ran after the first chunk was committed and before the last one');
    assert.deepEqual(await lastActive(t, [first!, last!]), { [first!]: base + 1, [last!]: base + 2 });
  } finally {
    await t.close();
  }
});

test('agent activity: a chunk that cannot be written goes back to the queue with the rest; the next flush writes them', async () => {
  const t = await makeTestApp();
  try {
    const [first, second, last] = await threeFogs(t, 'retry');
    const warnings: string[] = [];
    const logger = { ...t.ctx.logger, warn: (msg: string) => void warnings.push(msg) };
    const activity = new AgentActivity(logger as typeof t.ctx.logger);
    const base = Date.parse('2026-06-03T00:00:00Z');
    activity.touch(first!, base + 1);
    for (let i = 0; i < 300; i++) activity.touch(`missing-${i}`, base);
    activity.touch(second!, base + 2);
    for (let i = 300; i < 600; i++) activity.touch(`missing-${i}`, base);
    activity.touch(last!, base + 3);
    // The second transaction fails as a locked database would.
    let transactions = 0;
    const db = new Proxy(t.ctx.store.db, {
      get(target, prop, receiver) {
        if (prop === 'transaction') {
          return (...args: unknown[]) => {
            if (++transactions === 2)
              return Promise.reject(Object.assign(new Error('SQLITE_IOERR: disk I/O error'), { code: 'SQLITE_IOERR' }));
            return (target.transaction as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const host = { ...t.ctx, store: { db, writeLock: t.ctx.store.writeLock } };
    await activity.flush(host);
    assert.equal(warnings.length, 1, 'the failure is reported');
    assert.deepEqual(await lastActive(t, [first!, second!, last!]), { [first!]: base + 1, [second!]: null, [last!]: null });
    activity.touch(last!, base + 4); // touched again meanwhile: the newer time wins
    await activity.flush(t.ctx);
    assert.deepEqual(await lastActive(t, [first!, second!, last!]), { [first!]: base + 1, [second!]: base + 2, [last!]: base + 4 });
    assert.equal(warnings.length, 1);
  } finally {
    await t.close();
  }
});
