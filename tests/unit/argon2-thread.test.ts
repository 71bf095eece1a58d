import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, offloadArgon2, verifyPassword } from '../../src/auth/passwords';
import { argon2Thread } from '../../src/runtime/argon2-thread';
import { turnCounter } from '../harness/loop';

/** Turns of the event loop while `work` runs: a hash on the loop leaves it none. */
async function loopTurnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  const turns = turnCounter();
  try {
    return { value: await work(), turns: turns.now() };
  } finally {
    turns.stop();
  }
}

test('argon2 thread: hashes and checks off the event loop; its hashes and the loop’s check each other', async () => {
  const thread = argon2Thread();
  assert.ok(thread, 'hash-wasm resolves as a file');
  try {
    // Both paths warm (module loaded, WebAssembly compiled) before they are compared.
    offloadArgon2(undefined);
    await hashPassword('warm');
    const onLoop = await loopTurnsDuring(() => hashPassword('correct horse'));
    offloadArgon2(thread);
    await hashPassword('warm');
    const offLoop = await loopTurnsDuring(() => hashPassword('correct horse'));
    assert.ok(offLoop.turns > 5 * Math.max(1, onLoop.turns), `loop turns during a hash: thread ${offLoop.turns}, loop ${onLoop.turns}`);
    assert.match(offLoop.value, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    // Checked on the thread, and (without it) on the loop: the same function either way.
    assert.equal(await verifyPassword('correct horse', onLoop.value), true);
    assert.equal(await verifyPassword('wrong horse', onLoop.value), false);
    assert.equal(await verifyPassword('correct horse', '$argon2id$v=19$m=19456,t=2,p=1$bm90YmFzZTY0$bm90YmFzZTY0'), false);
    offloadArgon2(undefined);
    assert.equal(await verifyPassword('correct horse', offLoop.value), true);
    assert.equal(await verifyPassword('wrong horse', offLoop.value), false);
    // Several at once are answered each to its own caller.
    offloadArgon2(thread);
    const many = await Promise.all(['a1', 'b2', 'c3'].map((p) => hashPassword(p)));
    assert.deepEqual(await Promise.all(many.map((h, i) => verifyPassword(['a1', 'b2', 'c3'][i]!, h))), [true, true, true]);
    assert.deepEqual(await Promise.all(many.map((h, i) => verifyPassword(['b2', 'c3', 'a1'][i]!, h))), [false, false, false]);
  } finally {
    offloadArgon2(undefined);
  }
});
