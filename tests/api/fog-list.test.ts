import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';

/**
 * GET /iofog-list is read and written a page at a time (50 fogs) so a large fleet never holds the event
 * loop; the answer must be the same list an unpaged read gives: every fog once, in name order, as GET
 * /iofog/{uuid} shows it, with the filters applied, and `offset`/`limit` slicing exactly that list.
 */
test('fog list: streamed page by page, the whole fleet in name order as GET shows each fog; offset/limit slice the same list; filters apply across pages', {
  timeout: 240_000,
}, async () => {
  const t = await makeTestApp();
  try {
    const { accessToken: token } = await t.login();
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token, body });
    assert.equal((await call('POST', '/api/v3/iofog', { name: 'hub', archId: 1, isSystem: true, host: '127.0.0.1' })).status, 201);
    const N = 620; // thirteen pages
    const names = Array.from({ length: N }, (_, i) => `fog-${String(i).padStart(4, '0')}`);
    // Created out of order: the list's order is the names', not the insertion's.
    for (const name of [...names].reverse()) {
      const r = await call('POST', '/api/v3/iofog', {
        name,
        archId: 1,
        routerMode: 'none',
        natsMode: 'none',
        tags: [Number(name.slice(4)) % 7 === 0 ? 'seven' : 'other'],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }

    const all = await call('GET', '/api/v3/iofog-list');
    assert.equal(all.status, 200);
    assert.match(all.headers.get('content-type') ?? '', /^application\/json/);
    const fogs = all.body.fogs as Array<{ uuid: string; name: string; tags: string[] }>;
    assert.deepEqual(
      fogs.map((f) => f.name),
      ['hub', ...names].sort(),
    );
    for (const i of [0, 49, 50, 51, 500, N]) {
      const one = await call('GET', `/api/v3/iofog/${fogs[i]!.uuid}`);
      assert.deepEqual(fogs[i], one.body, `fog ${i} in the list is what GET /iofog/{uuid} shows`);
    }

    // offset/limit slice the same list, also across page boundaries.
    const slices: unknown[] = [];
    for (let offset = 0; offset <= N; offset += 97) {
      const r = await call('GET', `/api/v3/iofog-list?offset=${offset}&limit=97`);
      assert.equal(r.status, 200);
      slices.push(...r.body.fogs);
    }
    assert.deepEqual(slices, fogs);
    assert.deepEqual((await call('GET', `/api/v3/iofog-list?offset=${N + 1}`)).body, { fogs: [] });

    // Filters apply on every page, before the window.
    const seven = fogs.filter((f) => f.tags.includes('seven'));
    const filtered = await call('GET', '/api/v3/iofog-list?filters[0][key]=tags&filters[0][value]=seven&filters[0][condition]=equals');
    assert.deepEqual(filtered.body.fogs, seven);
    const sliced = await call(
      'GET',
      '/api/v3/iofog-list?filters[0][key]=tags&filters[0][value]=seven&filters[0][condition]=equals&offset=40&limit=30',
    );
    assert.deepEqual(sliced.body.fogs, seven.slice(40, 70));

    // Bad input is still a JSON 400, not a broken stream.
    const bad = await call('GET', '/api/v3/iofog-list?filters[0][key]=nope&filters[0][value]=x');
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /filters: unknown key "nope"/);
    assert.equal((await call('GET', '/api/v3/iofog-list?limit=0')).status, 400);
  } finally {
    await t.close();
  }
});
