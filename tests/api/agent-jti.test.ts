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
