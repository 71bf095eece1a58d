import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';

/**
 * Every operation in the OpenAPI document, with an admin token, fed malformed input: wrong JSON
 * types for every documented property, non-object bodies, hostile path parameters. Nothing may be
 * a 5xx, and every error must be the JSON envelope.
 */
// Over 8,000 requests: a minute alone on a busy 2-core box, past two when other suites run beside it.
test('bad input on every route is a 4xx JSON error, never a 5xx', { timeout: 360_000 }, async (tc) => {
  const t = await makeTestApp({ env: { AUTH_RATE_LIMIT_ENABLED: 'false' } });
  try {
    const admin = (await t.login()).accessToken;
    const doc = (await t.call('GET', '/api/v3/openapi.json')).body;
    const schemas = doc.components?.schemas ?? {};
    const resolve = (s: any): any => (s?.$ref ? schemas[s.$ref.split('/').pop()] : s);
    const wrong = [null, 12345, -1, 'str', true, [], {}, 'x'.repeat(5000), 1e308, '\u0000'];
    const params = ['%00', 'a'.repeat(300), '-1', '99999999999999999999', '..%2F..', '%F0%9F%92%A5', 'null'];
    // Real objects, so that validation passes the lookup and reaches the services too.
    const fog = (
      await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'fuzz-fog', archId: 1, routerMode: 'none', natsMode: 'none' } })
    ).body.uuid;
    await t.call('POST', '/api/v3/application', {
      token: admin,
      body: { name: 'fuzz-app', microservices: [{ name: 'fuzz-ms', iofogUuid: fog, images: [{ containerImage: 'x', archId: 1 }] }] },
    });
    const ms = (await t.call('GET', '/api/v3/microservices', { token: admin })).body.microservices[0].uuid;
    const reg = (
      await t.call('POST', '/api/v3/registries', {
        token: admin,
        body: { url: 'r.io', isPublic: true, username: '', password: '', email: '' },
      })
    ).body.id;
    const user = (await t.call('POST', '/api/v3/users', { token: admin, body: { email: 'fuzz@example.com', password: 'Fuzz-Passw0rd-1' } }))
      .body.id;
    const real = (path: string) =>
      path
        .replace(/^\/api\/v3\/iofog\/\{uuid\}/, `/api/v3/iofog/${fog}`)
        .replace(/^\/api\/v3\/microservices(\/system)?\/\{uuid\}/, `/api/v3/microservices$1/${ms}`)
        .replace(/^\/api\/v3\/application\/\{name\}/, '/api/v3/application/fuzz-app')
        .replace(/^\/api\/v3\/application\/yaml\/\{name\}/, '/api/v3/application/yaml/fuzz-app')
        .replace(/^\/api\/v3\/registries\/\{id\}/, `/api/v3/registries/${reg}`)
        .replace(/^\/api\/v3\/catalog\/microservices\/\{id\}/, '/api/v3/catalog/microservices/1')
        .replace(/^\/api\/v3\/users\/\{id\}/, `/api/v3/users/${user}`)
        .replace(/^\/api\/v3\/groups\/\{name\}/, '/api/v3/groups/viewer')
        .replace(/\{internalPort\}/, '80')
        .replace(/\{[^}]+\}/g, '1');
    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    let requests = 0;
    const check = async (method: string, path: string, opts: { raw?: string; body?: unknown }) => {
      if (
        path.startsWith('/api/v3/user/logout') ||
        path.startsWith('/api/v3/auth/jwks/rotate') ||
        path.startsWith('/api/v3/auth/migration/export')
      )
        return; // valid without a body; covered elsewhere
      requests++;
      const token = path.startsWith('/api/v3/agent/') ? undefined : admin;
      const r = await t.call(method, path, { token, ...opts });
      byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      if (r.status >= 500)
        failures.push(
          `${method} ${path} ${opts.raw ?? JSON.stringify(opts.body)?.slice(0, 80)} → ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`,
        );
      else if (r.status >= 400 && method !== 'HEAD' && !(r.body && typeof r.body === 'object' && 'code' in r.body && 'requestId' in r.body))
        failures.push(`${method} ${path} → ${r.status} without the error envelope`);
    };
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const M = method.toUpperCase();
        const concrete = real(path);
        for (const p of params)
          await check(M, path.replace(/\{[^}]+\}/g, p), { body: M === 'GET' || M === 'HEAD' || M === 'DELETE' ? undefined : {} });
        if (M === 'GET' || M === 'HEAD') continue;
        for (const raw of ['{', '[]', '"text"', 'null', '123', '{"a":']) await check(M, concrete, { raw });
        const schema = resolve(op.requestBody?.content?.['application/json']?.schema);
        const props = Object.keys(resolve(schema)?.properties ?? {});
        for (const prop of props) for (const w of wrong) await check(M, concrete, { body: { [prop]: w } });
      }
    }
    tc.diagnostic(`${requests} requests: ${JSON.stringify([...byStatus].sort((a, b) => a[0] - b[0]))}`);
    assert.ok(requests > 500, `exercised ${requests} requests`);
    // Not vacuous: the requests were authenticated and reached validation.
    assert.ok((byStatus.get(400) ?? 0) > requests / 2, `statuses: ${JSON.stringify([...byStatus])}`);
    assert.ok((byStatus.get(401) ?? 0) < requests / 4, `statuses: ${JSON.stringify([...byStatus])}`);
    assert.deepEqual(failures, []);
  } finally {
    await t.close();
  }
});
