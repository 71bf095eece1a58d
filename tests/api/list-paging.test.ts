import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { listMicroservices } from '../../src/services/microservices/presenter';

/**
 * GET /microservices and GET /application are read a page at a time and streamed, so a large fleet never
 * holds the event loop. Joined, the pages must be byte for byte the answer the whole-list read gives (the
 * same items, fields and order), across page boundaries, and `offset`/`limit` must slice exactly that list.
 */
test('microservice and application lists: streamed pages equal the whole list; offset/limit slice it; bad paging is a JSON 400', {
  timeout: 240_000,
}, async () => {
  const t = await makeTestApp();
  try {
    const { accessToken: token } = await t.login();
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token, body });
    const raw = async (path: string) => {
      const res = await t.app.request(path, { headers: { authorization: `Bearer ${token}` } }, { clientIp: '10.0.0.1' });
      return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
    };
    for (let i = 0; i < 12; i++) {
      const r = await call('POST', '/api/v3/iofog', { name: `fog-${i}`, archId: 1, routerMode: 'none', natsMode: 'none' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    // Eight applications of 45 microservices (360: two microservice pages, and more than one
    // application page's share of microservices), plus 70 empty ones (more than one page of applications).
    // Created out of name order: the lists' order is the names'.
    for (let a = 7; a >= 0; a--) {
      const microservices = Array.from({ length: 45 }, (_, k) => ({
        name: `ms-${String(44 - k).padStart(2, '0')}`,
        agentName: `fog-${(a + k) % 12}`,
        images: [{ containerImage: 'ghcr.io/acme/reader:1.0', archId: 1 }],
        env: [{ key: 'K', value: String(k) }],
      }));
      const r = await call('POST', '/api/v3/application', { name: `app-${a}`, microservices });
      assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
    }
    for (let e = 69; e >= 0; e--)
      assert.equal((await call('POST', '/api/v3/application', { name: `empty-${String(e).padStart(2, '0')}` })).status, 201);

    // Microservices: the stream is exactly what serialising the whole list at once gives.
    const whole = await listMicroservices(t.ctx, { system: false });
    assert.equal(whole.length, 360);
    const ms = await raw('/api/v3/microservices');
    assert.equal(ms.status, 200);
    assert.match(ms.type, /^application\/json/);
    assert.equal(ms.text, JSON.stringify({ microservices: whole }));
    const one = await raw('/api/v3/microservices?application=app-3');
    assert.equal(one.text, JSON.stringify({ microservices: await listMicroservices(t.ctx, { system: false, applicationName: 'app-3' }) }));
    assert.deepEqual((await call('GET', '/api/v3/microservices?application=nope')).body, { microservices: [] });
    const msSlices: unknown[] = [];
    for (let offset = 0; offset < 360; offset += 130)
      msSlices.push(...(await call('GET', `/api/v3/microservices?offset=${offset}&limit=130`)).body.microservices);
    assert.deepEqual(msSlices, JSON.parse(ms.text).microservices);
    assert.deepEqual(
      (await call('GET', '/api/v3/microservices?application=app-5&offset=40&limit=10')).body.microservices.map(
        (m: { name: string }) => m.name,
      ),
      ['ms-40', 'ms-41', 'ms-42', 'ms-43', 'ms-44'],
    );
    assert.deepEqual((await call('GET', '/api/v3/microservices?offset=360')).body, { microservices: [] });

    // Applications: every application once, in name order, each as GET /application/{name} shows it.
    const apps = await raw('/api/v3/application');
    assert.equal(apps.status, 200);
    const list = JSON.parse(apps.text).applications as Array<{ name: string; microservices: Array<{ name: string }> }>;
    const names = [
      ...Array.from({ length: 8 }, (_, a) => `app-${a}`),
      ...Array.from({ length: 70 }, (_, e) => `empty-${String(e).padStart(2, '0')}`),
    ];
    assert.deepEqual(
      list.map((a) => a.name),
      names.sort(),
    );
    const singles = [];
    for (const a of list) singles.push((await call('GET', `/api/v3/application/${a.name}`)).body);
    assert.equal(apps.text, JSON.stringify({ applications: singles }));
    assert.deepEqual(
      list[0]!.microservices.map((m) => m.name),
      Array.from({ length: 45 }, (_, k) => `ms-${String(k).padStart(2, '0')}`),
    );
    const appSlices: unknown[] = [];
    for (let offset = 0; offset < 78; offset += 9)
      appSlices.push(...(await call('GET', `/api/v3/application?offset=${offset}&limit=9`)).body.applications);
    assert.deepEqual(appSlices, list);
    // The fog-less system list is still a complete (empty) document.
    assert.deepEqual((await call('GET', '/api/v3/application/system')).body, { applications: [] });

    // Bad paging is refused before the answer starts: a JSON 400 naming the field.
    for (const path of ['/api/v3/microservices?limit=0', '/api/v3/application?offset=-1', '/api/v3/microservices/system?limit=x']) {
      const bad = await call('GET', path);
      assert.equal(bad.status, 400, path);
      assert.match(bad.body.message, /limit|offset/, path);
      assert.ok(bad.body.requestId, path);
    }
  } finally {
    await t.close();
  }
});
