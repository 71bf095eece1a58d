import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { streamJsonList } from '../../src/http/stream';

/**
 * A streamed list either arrives whole or not at all: an error before the first byte is an ordinary error
 * answer (the app's error handler runs), and an error after it aborts the body, so a client can never
 * mistake a half list for a short complete one.
 */
function appWith(pages: () => AsyncGenerator<number[]>) {
  const app = new Hono();
  app.get('/list', (c) => streamJsonList(c, 'items', pages()));
  app.onError((err, c) => c.json({ name: 'Error', message: err.message, code: 'INTERNAL' }, 500));
  return app;
}

test('streamJsonList: pages join into one JSON document; empty list; error before the first byte is a JSON error; later error aborts the body', async () => {
  const ok = await appWith(async function* () {
    yield [1, 2];
    yield [3];
    yield [];
    yield [4];
  }).request('/list');
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), '{"items":[1,2,3,4]}');

  const empty = await appWith(async function* () {}).request('/list');
  assert.equal(await empty.text(), '{"items":[]}');

  // biome-ignore lint/correctness/useYield: a page reader that fails before its first page
  const early = await appWith(async function* () {
    throw new Error('bad filter');
  }).request('/list');
  assert.equal(early.status, 500);
  assert.deepEqual(await early.json(), { name: 'Error', message: 'bad filter', code: 'INTERNAL' });

  let closed = false;
  const late = await appWith(async function* () {
    try {
      yield [1];
      yield [2];
      throw new Error('database gone');
    } finally {
      closed = true;
    }
  }).request('/list');
  assert.equal(late.status, 200);
  await assert.rejects(late.text(), /database gone/);
  assert.ok(closed, 'the page reader is finished, not left open');
});
