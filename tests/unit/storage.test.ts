import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteLock } from '../../db/write-lock';
import { waitFor } from '../harness/wait';
import { isBusyError, retryBusy } from '../../db/client';
import { ServiceError, classifyDbError, toServiceError } from '../../src/errors';

test('write lock serializes holders in order', async () => {
  const lock = new WriteLock(1000);
  const order: string[] = [];
  let openGate!: () => void;
  const gate = new Promise<void>((r) => {
    openGate = r;
  });
  const job = async (name: string, hold?: Promise<void>) => {
    const release = await lock.acquire();
    order.push(`${name}+`);
    await hold;
    order.push(`${name}-`);
    release();
  };
  // `a` holds the lock until `b` and `c` are both queued behind it.
  const all = Promise.all([job('a', gate), job('b'), job('c')]);
  await waitFor('b and c to queue behind a', () => lock.waiting === 2);
  openGate();
  await all;
  assert.deepEqual(order, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
});

test('a waiter that waits too long gets a retryable 503, and the queue keeps working', async () => {
  const lock = new WriteLock(30);
  const release = await lock.acquire();
  await assert.rejects(lock.acquire(), (e: unknown) => e instanceof ServiceError && e.code === 'CONTROLLER_DB_BUSY' && e.status === 503);
  assert.equal(lock.waiting, 0);
  release();
  const again = await lock.acquire();
  again();
});

test('retryBusy retries SQLITE_BUSY with backoff and gives up after the attempts', async () => {
  let calls = 0;
  const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  const v = await retryBusy(
    async () => {
      if (++calls < 3) throw busy;
      return 'ok';
    },
    { baseMs: 1 },
  );
  assert.equal(v, 'ok');
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(
    retryBusy(
      async () => {
        calls++;
        throw busy;
      },
      { attempts: 4, baseMs: 1 },
    ),
    /locked/,
  );
  assert.equal(calls, 4);
  calls = 0;
  await assert.rejects(
    retryBusy(
      async () => {
        calls++;
        throw new Error('constraint failed');
      },
      { baseMs: 1 },
    ),
    /constraint/,
  );
  assert.equal(calls, 1, 'non-busy errors are not retried');
});

test('database faults map to retryable 503 codes, never 500', () => {
  assert.equal(isBusyError({ message: 'x', cause: { code: 'SQLITE_BUSY' } }), true);
  assert.equal(classifyDbError({ code: 'SQLITE_BUSY', message: 'database is locked' })?.code, 'CONTROLLER_DB_BUSY');
  assert.equal(classifyDbError({ code: 'SQLITE_CANTOPEN', message: 'unable to open database file' })?.code, 'CONTROLLER_DB_UNAVAILABLE');
  assert.equal(toServiceError(new Error('boom')).status, 500);
  assert.equal(toServiceError({ code: 'SQLITE_IOERR', message: 'disk I/O error' }).status, 503);
});
