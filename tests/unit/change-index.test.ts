import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeClock, ChangeIndex, fromMask, toMask, CHANGE_FLAGS } from '../../src/services/changes/flags';
import { ManualClock } from '../../src/lib/clock';

test('flag masks round-trip all 14 flags', () => {
  assert.equal(CHANGE_FLAGS.length, 14);
  const m = toMask(['config', 'fogLogs', 'microserviceList']);
  const back = fromMask(m);
  assert.deepEqual(
    Object.keys(back)
      .filter((k) => back[k as keyof typeof back])
      .sort(),
    ['config', 'fogLogs', 'microserviceList'],
  );
});

test('change clock: strictly increasing, and an idle poll answers before any uncommitted row', () => {
  const clock = new ManualClock(1_000_000);
  const cc = new ChangeClock(clock);
  const a = cc.issue();
  const b = cc.issue();
  assert.ok(b > a, 'same millisecond still increases');
  assert.ok(cc.idleWatermark() < a, 'rows a and b are in flight');
  cc.settle(a);
  assert.ok(cc.idleWatermark() < b);
  cc.settle(b);
  clock.advance(10);
  assert.equal(cc.idleWatermark(), clock.now());
});

test('change index answers "maybe" until it is loaded and kept fresh', () => {
  const idx = new ChangeIndex();
  assert.equal(idx.mayHavePending('f1'), true, 'not loaded: ask the database');
  idx.raised(['f1']);
  idx.cleared('f1');
  assert.equal(idx.mayHavePending('f1'), true, 'loaded state unknown until refresh + start');
});
