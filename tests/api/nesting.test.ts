import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { jsonTextTooDeep, valueTooDeep } from '../../src/lib/nesting';

const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

test('nesting scan: counts arrays and objects, ignores brackets inside strings, and stops at the limit', () => {
  assert.equal(jsonTextTooDeep(nested(64)), false);
  assert.equal(jsonTextTooDeep(nested(65)), true);
  assert.equal(jsonTextTooDeep('['.repeat(65) + ']'.repeat(65)), true);
  assert.equal(
    jsonTextTooDeep(JSON.stringify({ s: '['.repeat(500) + '\\"{'.repeat(100) })),
    false,
    'brackets and escaped quotes in strings',
  );
  assert.equal(jsonTextTooDeep(`[${'[],'.repeat(1000)}[]]`), false, 'wide is not deep');
  assert.equal(valueTooDeep(JSON.parse(nested(64))), false);
  assert.equal(valueTooDeep(JSON.parse(nested(65))), true);
  // A shared node (a YAML alias) met first near the root and again deep down is measured at its deepest.
  const shared = JSON.parse(nested(10));
  let deep: Record<string, unknown> = { x: shared };
  const root = { first: shared, chain: deep };
  for (let i = 0; i < 60; i++) deep = (deep.next = {}) as Record<string, unknown>;
  deep.again = shared;
  assert.equal(valueTooDeep(root), true);
});

test('JSON bodies nested deeper than 64 levels are a 400 naming the limit on every route that takes JSON; YAML documents too', {
  timeout: 120_000,
}, async () => {
  const t = await makeTestApp({ env: { AUTH_RATE_LIMIT_ENABLED: 'false' } });
  try {
    const admin = (await t.login()).accessToken;
    const fog = (
      await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'deep-fog', archId: 1, routerMode: 'none', natsMode: 'none' } })
    ).body.uuid;
    await t.call('POST', '/api/v3/application', {
      token: admin,
      body: { name: 'deep-app', microservices: [{ name: 'deep-ms', iofogUuid: fog, images: [{ containerImage: 'x', archId: 1 }] }] },
    });
    const ms = (await t.call('GET', '/api/v3/microservices', { token: admin })).body.microservices[0].uuid;
    const reg = (
      await t.call('POST', '/api/v3/registries', {
        token: admin,
        body: { url: 'r.io', isPublic: true, username: '', password: '', email: '' },
      })
    ).body.id;

    // The two reported cases: a 500 from JSON.stringify, and a registry update that stored it.
    const config = await t.call('PATCH', `/api/v3/microservices/${ms}/config`, { token: admin, raw: nested(5000) });
    assert.equal(config.status, 400, JSON.stringify(config.body));
    assert.equal(config.body.message, 'body: nested deeper than 64 levels (the limit for request documents)');
    assert.ok(config.body.requestId);
    const registry = await t.call('PATCH', `/api/v3/registries/${reg}`, { token: admin, raw: `{"username":"u","x":${nested(100)}}` });
    assert.equal(registry.status, 400);
    assert.match(registry.body.message, /64 levels/);
    // At the limit is not refused for depth.
    const atLimit = await t.call('PATCH', `/api/v3/microservices/${ms}/config`, { token: admin, raw: nested(64) });
    assert.ok(atLimit.status < 300, JSON.stringify(atLimit.body));

    // Every operation with a JSON body, under either JSON media type.
    const doc = (await t.call('GET', '/api/v3/openapi.json')).body;
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!op.requestBody?.content?.['application/json']) continue;
        const p = path.replace(/\{[^}]+\}/g, '1');
        for (const headers of [{ 'content-type': 'application/json' }, { 'content-type': 'application/merge-patch+json' }]) {
          const r = await t.call(method.toUpperCase(), p, { token: admin, raw: '['.repeat(65) + ']'.repeat(65), headers });
          assert.equal(r.status, 400, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
          assert.match(r.body.message, /nested deeper than 64 levels/, `${method} ${path}`);
        }
        checked++;
      }
    }
    assert.ok(checked > 50, `${checked} operations take JSON`);

    // YAML: the parsed document is measured (flow collections, as deep as the JSON above).
    const deepYaml = `apiVersion: iofog.org/v3\nkind: Application\nmetadata:\n  name: deep-yaml\nspec:\n  microservices: ${'['.repeat(70)}${']'.repeat(70)}\n`;
    const y = await t.call('POST', '/api/v3/application/yaml', {
      token: admin,
      raw: deepYaml,
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(y.status, 400, JSON.stringify(y.body));
    assert.equal(y.body.message, 'YAML: nested deeper than 64 levels (the limit for request documents)');
    // So deep that the YAML parser runs out of stack: the same answer, not the parser's words.
    const deeper = await t.call('POST', '/api/v3/application/yaml', {
      token: admin,
      raw: deepYaml.replace(`${'['.repeat(70)}${']'.repeat(70)}`, `${'['.repeat(20_000)}${']'.repeat(20_000)}`),
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(deeper.status, 400);
    assert.equal(deeper.body.message, 'YAML: nested deeper than 64 levels (the limit for request documents)');
  } finally {
    await t.close();
  }
});
