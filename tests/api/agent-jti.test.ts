import { execute } from '../../db/dialect';
import { sql } from 'drizzle-orm';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { JtiStore } from '../../src/auth/agent-jti';
import { ManualClock } from '../../src/lib/clock';

test('used token ids: replays refused until the id expires, expired ids forgotten (also ones loaded back)', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const t = await makeTestApp({ clock });
  try {
    const store = new JtiStore(clock, t.ctx.logger);
    const t0 = clock.now();
    assert.equal(store.use('a', 'fog-1', t0 + 60_000), true);
    assert.equal(store.use('b', 'fog-1', t0 + 630_000), true);
    assert.equal(store.use('a', 'fog-2', t0 + 60_000), true, 'ids are per fog');
    assert.equal(store.use('a', 'fog-1', t0 + 60_000), false);
    await store.flush(t.ctx);
    assert.equal(store.size, 3);
    clock.advance(30_000);
    await store.flush(t.ctx);
    assert.equal(store.size, 3, 'nothing expired yet');
    assert.equal(store.use('a', 'fog-1', t0 + 60_000), false);
    clock.advance(45_000);
    await store.flush(t.ctx);
    assert.equal(store.size, 1, 'the two ids that expired at t0+60 s are gone, b stays');
    assert.equal(store.use('b', 'fog-1', t0 + 630_000), false);
    // After a restart the persisted, unexpired ids come back and expire the same way.
    const restarted = new JtiStore(clock, t.ctx.logger);
    await restarted.load(t.ctx);
    assert.equal(restarted.use('b', 'fog-1', t0 + 630_000), false);
    clock.advance(600_000);
    await restarted.flush(t.ctx);
    assert.equal(restarted.size, 0);
  } finally {
    await t.close();
  }
});

test('used token ids: one row per flush, 12 bytes per id; ids with the old line separators in them round-trip; the cleanup job drops expired batches', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const t = await makeTestApp({ clock });
  try {
    const store = new JtiStore(clock, t.ctx.logger);
    const t0 = clock.now();
    const odd = 'x\tfake-fog:stolen\t99999999999999\ny';
    for (let i = 0; i < 50; i++) assert.equal(store.use(`id-${i}`, 'fog-1', t0 + 60_000), true);
    assert.equal(store.use(odd, 'fog-1', t0 + 120_000), true);
    await store.flush(t.ctx);
    const rows = await t.ctx.store.raw.execute('SELECT expires_at, ids, digests FROM agent_jti_batch');
    assert.equal(rows.rows.length, 1, 'one row for the whole flush');
    assert.equal(Number(rows.rows[0]!.expires_at), t0 + 120_000, 'the latest expiry of the batch');
    assert.equal(rows.rows[0]!.ids, '', 'new rows keep digests only');
    assert.equal((rows.rows[0]!.digests as ArrayBuffer).byteLength, 51 * 12, '12 bytes per id');
    const restarted = new JtiStore(clock, t.ctx.logger);
    await restarted.load(t.ctx);
    assert.equal(restarted.size, 51, 'no extra id smuggled in through the separators');
    assert.equal(restarted.use(odd, 'fog-1', t0 + 120_000), false);
    assert.equal(restarted.use('stolen', 'fake-fog', t0 + 120_000), true);
    assert.equal(restarted.use('id-7', 'fog-1', t0 + 60_000), false);
    clock.advance(121_000);
    const { cleanupExpiredTokens } = await import('../../src/services/maintenance/token-cleanup');
    assert.equal((await cleanupExpiredTokens(t.ctx)).agentJtiBatches, 1);
    assert.equal((await t.ctx.store.raw.execute('SELECT count(*) AS n FROM agent_jti_batch')).rows[0]!.n, 0);
  } finally {
    await t.close();
  }
});

test('used token ids: rows written before migration 0015 (ids as text lines) are still loaded', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const t = await makeTestApp({ clock });
  try {
    const t0 = clock.now();
    const odd = 'x\tfake-fog:stolen';
    const lines = [`fog-1:old-a\t${t0 + 60_000}`, `${JSON.stringify(`fog-1:${odd}`)}\t${t0 + 60_000}`, `fog-1:gone\t${t0 - 1}`].join('\n');
    await t.ctx.store.raw.execute('INSERT INTO agent_jti_batch (expires_at, ids) VALUES (?, ?)', [t0 + 60_000, lines]);
    const store = new JtiStore(clock, t.ctx.logger);
    store.use('new-b', 'fog-1', t0 + 60_000);
    await store.flush(t.ctx);
    const restarted = new JtiStore(clock, t.ctx.logger);
    await restarted.load(t.ctx);
    assert.equal(restarted.size, 3, 'two unexpired old ids and the new one');
    assert.equal(restarted.use('old-a', 'fog-1', t0 + 60_000), false);
    assert.equal(restarted.use(odd, 'fog-1', t0 + 60_000), false);
    assert.equal(restarted.use('new-b', 'fog-1', t0 + 60_000), false);
    assert.equal(restarted.use('gone', 'fog-1', t0 + 60_000), true, 'an expired old id is not loaded');
  } finally {
    await t.close();
  }
});

test('used token ids: the cleanup deletes any number of expired batches (in chunks) and keeps the live ones', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const t = await makeTestApp({ clock });
  try {
    const store = new JtiStore(clock, t.ctx.logger);
    const t0 = clock.now();
    for (let i = 0; i < 45; i++) {
      store.use(`expired-${i}`, 'fog-1', t0 + 60_000);
      await store.flush(t.ctx);
    }
    store.use('live', 'fog-1', t0 + 600_000);
    await store.flush(t.ctx);
    clock.advance(61_000);
    const { cleanupExpiredTokens } = await import('../../src/services/maintenance/token-cleanup');
    assert.deepEqual(await cleanupExpiredTokens(t.ctx), { refreshTokens: 0, agentJtiBatches: 45, jobRuns: 0 });
    assert.equal((await t.ctx.store.raw.execute('SELECT count(*) AS n FROM agent_jti_batch')).rows[0]!.n, 1);
    const restarted = new JtiStore(clock, t.ctx.logger);
    await restarted.load(t.ctx);
    assert.equal(restarted.use('live', 'fog-1', t0 + 600_000), false);
  } finally {
    await t.close();
  }
});

test('used token ids across instances: an id used on one store is refused by another after one flush and one sync, without the other ever reading its own batches back', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const t = await makeTestApp({ clock });
  try {
    const a = new JtiStore(clock, t.ctx.logger);
    const b = new JtiStore(clock, t.ctx.logger);
    await Promise.all([a.load(t.ctx), b.load(t.ctx)]);
    const t0 = clock.now();
    assert.equal(a.use('on-a', 'fog-1', t0 + 60_000), true);
    assert.equal(b.use('on-b', 'fog-1', t0 + 60_000), true);
    await a.flush(t.ctx);
    await b.flush(t.ctx);
    await b.sync(t.ctx);
    assert.equal(b.use('on-a', 'fog-1', t0 + 60_000), false, 'B knows the id A used');
    await a.sync(t.ctx);
    assert.equal(a.use('on-b', 'fog-1', t0 + 60_000), false, 'and A the one B used');
    assert.equal(a.use('fresh', 'fog-1', t0 + 60_000), true);
    assert.deepEqual([a.size, b.size], [3, 2]);
    assert.ok(!t.logs.some((l) => l.includes('accepted on two instances')), 'neither took its own batch for a replay');
    // A replay that reached both before either flushed: both accept it, and the sync reports it.
    assert.equal(a.use('raced', 'fog-2', t0 + 60_000), true);
    assert.equal(b.use('raced', 'fog-2', t0 + 60_000), true);
    await a.flush(t.ctx);
    await b.flush(t.ctx);
    const before = t.logs.length;
    await b.sync(t.ctx);
    assert.ok(
      t.logs.slice(before).some((l) => l.includes('accepted on two instances') && l.includes('"count":1')),
      t.logs.slice(before).join('\n'),
    );
    assert.equal(b.use('fresh', 'fog-1', t0 + 60_000), false);
  } finally {
    await t.close();
  }
});

test('used token ids across instances: a batch that commits after a higher id was already read (concurrent writers) is still picked up', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const t = await makeTestApp({ clock });
  try {
    const a = new JtiStore(clock, t.ctx.logger);
    const b = new JtiStore(clock, t.ctx.logger);
    await Promise.all([a.load(t.ctx), b.load(t.ctx)]);
    const t0 = clock.now();
    for (let i = 0; i < 3; i++) {
      a.use(`first-${i}`, 'fog-1', t0 + 600_000);
      await a.flush(t.ctx);
    }
    // Id 10 commits while 1–3 are there; then id 5 commits late, as a PostgreSQL sequence allows.
    a.use('high', 'fog-1', t0 + 600_000);
    await a.flush(t.ctx);
    await execute(t.ctx.store.db, sql`UPDATE agent_jti_batch SET id = 10 WHERE id = 4`);
    await b.sync(t.ctx);
    assert.equal(b.use('high', 'fog-1', t0 + 600_000), false);
    const late = new Uint8Array(12);
    const view = new DataView(late.buffer);
    const { digest64 } = await import('../../src/auth/digest-table');
    const d = new Uint32Array(2);
    digest64('fog-1:late', d);
    view.setUint32(0, d[0]!, true);
    view.setUint32(4, d[1]!, true);
    view.setUint32(8, Math.ceil((t0 + 600_000) / 1000), true);
    clock.advance(5_000);
    await b.sync(t.ctx);
    await execute(
      t.ctx.store.db,
      sql`INSERT INTO agent_jti_batch (id, expires_at, ids, digests) VALUES (5, ${t0 + 600_000}, '', ${Buffer.from(late)})`,
    );
    clock.advance(1_000);
    await b.sync(t.ctx);
    assert.equal(b.use('late', 'fog-1', t0 + 600_000), false, 'the late batch below the highest id seen was merged');
    // Past the look-back the floor moves up; what was merged stays in memory.
    clock.advance(20_000);
    await b.sync(t.ctx);
    await b.sync(t.ctx);
    assert.equal(b.use('first-0', 'fog-1', t0 + 600_000), false);
    assert.ok(!t.logs.some((l) => l.includes('accepted on two instances')), 'no batch merged twice');
  } finally {
    await t.close();
  }
});
