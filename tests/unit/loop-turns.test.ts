import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loopTurns, yieldToEventLoop } from '../../src/lib/yield';
import { turnCounter } from '../harness/loop';

test('loopTurns: lanes waiting for a turn each get one of their own, in call order', async () => {
  const turns = turnCounter();
  try {
    const turn = loopTurns();
    const seen: Array<{ lane: number; at: number }> = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (lane) => {
        for (let k = 0; k < 3; k++) {
          await turn();
          seen.push({ lane, at: turns.now() });
        }
      }),
    );
    assert.equal(seen.length, 12);
    assert.deepEqual(
      seen.slice(0, 4).map((s) => s.lane),
      [0, 1, 2, 3],
      'first come, first served',
    );
    const at = seen.map((s) => s.at);
    assert.equal(new Set(at).size, at.length, `no two lanes in one turn of the loop: ${at.join(',')}`);
  } finally {
    turns.stop();
  }
});

test('loopTurns: without it, lanes that yield at once resume in the same turn (what it prevents)', async () => {
  const turns = turnCounter();
  try {
    await yieldToEventLoop();
    const at = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        await yieldToEventLoop();
        return turns.now();
      }),
    );
    assert.ok(new Set(at).size < at.length, `expected shared turns: ${at.join(',')}`);
  } finally {
    turns.stop();
  }
});
