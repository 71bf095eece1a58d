import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderOpenApi } from '../../scripts/openapi';
import { makeTestApp } from '../harness/app';

test('openapi/openapi.json is generated from the routes and up to date (run `npm run openapi`)', async () => {
  const fresh = await renderOpenApi();
  const checkedIn = readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8');
  assert.ok(fresh === checkedIn, 'openapi/openapi.json is stale: run `npm run openapi` and commit it');
});

test('the served document equals the generated one, and every operation declares its access', async () => {
  const t = await makeTestApp();
  try {
    const r = await t.call('GET', '/api/v3/openapi.json');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, JSON.parse(await renderOpenApi()));
    // The docs UI shows tags in the document's order: the fleet first, the agent contract last.
    const tagNames = (r.body.tags as Array<{ name: string }>).map((t) => t.name);
    assert.equal(tagNames[0], 'Controller');
    assert.equal(tagNames[1], 'Fogs');
    assert.equal(tagNames.at(-1), 'Agent (Edgelet)');
    const ops = Object.entries(r.body.paths as Record<string, Record<string, any>>).flatMap(([p, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ p, m, op })),
    );
    assert.ok(ops.length >= 20);
    for (const { p, m, op } of ops) {
      const access = op['x-access'];
      assert.ok(access && ['public', 'auth-flow', 'token', 'self', 'rbac', 'agent'].includes(access.kind), `${m} ${p} declares x-access`);
      if (access.kind === 'rbac') assert.ok(access.resource && access.verb, `${m} ${p} names resource and verb`);
      const needsToken = ['token', 'self', 'rbac'].includes(access.kind);
      assert.equal(Boolean(op.security?.length), needsToken || access.kind === 'agent', `${m} ${p} security matches access`);
      if (access.kind === 'agent') {
        assert.deepEqual(op.security, [{ agentToken: [] }]);
        assert.ok(op.responses['401'], `${m} ${p} documents the agent 401`);
        assert.ok(p.startsWith('/api/v3/agent/'), `${m} ${p}: fog-token routes live under /api/v3/agent`);
      }
      for (const code of ['400', '500', '503']) assert.ok(op.responses[code], `${m} ${p} documents ${code}`);
      assert.equal(op.tags?.length, 1, `${m} ${p} has one tag`);
      assert.ok(tagNames.includes(op.tags[0]), `${m} ${p}: tag ${op.tags[0]} is listed in the document's tags (src/app.ts TAG_ORDER)`);
      if (needsToken) assert.ok(op.responses['401'] && op.responses['403'], `${m} ${p} documents 401/403`);
    }
  } finally {
    await t.close();
  }
});

test('the route catalog is enforced on every route: no token → 401; each built-in role → 403 exactly when its rules lack the verb', async () => {
  const t = await makeTestApp();
  try {
    const doc = (await t.call('GET', '/api/v3/openapi.json')).body;
    const viewer = await t.userToken('viewer');
    const roles: Array<[string, string]> = [
      ['viewer', viewer],
      ['developer', await t.userToken('developer')],
      ['sre', await t.userToken('sre')],
      ['admin', (await t.login()).accessToken],
    ];
    const { allowed } = await import('../../src/auth/rbac');
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const concrete = path.replace(/\{[^}]+\}/g, 'x');
        const access = op['x-access'];
        const body = method === 'get' || method === 'head' ? undefined : {};
        if (access.kind === 'public' || access.kind === 'auth-flow') {
          // Reachable without a bearer token: whatever they answer, it is not "authentication required" or RBAC.
          const r = await t.call(method.toUpperCase(), concrete, { body });
          assert.ok(
            r.status !== 403 && r.body?.code !== 'AUTH_REQUIRED',
            `${method} ${path} (${access.kind}) without a token: ${r.status} ${JSON.stringify(r.body)}`,
          );
          continue;
        }
        const anon = await t.call(method.toUpperCase(), concrete, { body });
        if (access.kind === 'agent') {
          assert.equal(anon.status, 401, `${method} ${path} without a fog token`);
          assert.equal(anon.body.code, 'AGENT_AUTH_HEADER_INVALID');
          assert.equal(anon.body.retryable, false);
          const userToken = await t.call(method.toUpperCase(), concrete, { token: viewer, body });
          assert.equal(userToken.status, 401, `${method} ${path} refuses a user token`);
          continue;
        }
        assert.equal(anon.status, 401, `${method} ${path} without token`);
        if (method !== 'head') assert.equal(anon.body.code, 'AUTH_REQUIRED'); // HEAD answers carry no body
        // Every built-in role: a role without the verb gets 403, a role with it gets past
        // authorization (any other status — 400 for the empty body, 404 for the made-up id, …).
        for (const [role, token] of roles) {
          const r = await t.call(method.toUpperCase(), concrete, { token, body });
          const grants = access.kind !== 'rbac' || allowed([role], access);
          // (A 403 with another code is the route's own answer, e.g. GET /nats/bootstrap off Kubernetes.)
          if (grants)
            assert.ok(
              r.status !== 401 && !(r.status === 403 && r.body?.code === 'FORBIDDEN'),
              `${method} ${path} as ${role}: ${r.status} ${JSON.stringify(r.body)}`,
            );
          else {
            assert.equal(r.status, 403, `${method} ${path} as ${role}`);
            if (method !== 'head') assert.equal(r.body.code, 'FORBIDDEN');
          }
        }
      }
    }
  } finally {
    await t.close();
  }
});

/**
 * Path prefixes whose routes still declare untyped object responses; they belong to the domains
 * being typed in a parallel change. Remove an entry as its domain is typed (the list is to end empty).
 */
/** Free-form by nature: the OpenAPI document itself. */
const FREE_FORM = ['/api/v3/openapi.json'];

test('no success response is an untyped object: every JSON 2xx schema names its fields', async () => {
  const doc = JSON.parse(await renderOpenApi());
  const schemas: Record<string, any> = doc.components?.schemas ?? {};
  const resolve = (s: any): any => (s?.$ref ? schemas[s.$ref.replace('#/components/schemas/', '')] : s);
  const freeForm = (s: any) =>
    s &&
    (s.type === 'object' || s.type === undefined) &&
    !s.properties &&
    s.additionalProperties !== undefined &&
    s.additionalProperties !== false;
  const problems: string[] = [];
  // Free-form maps are fine as documented fields of a typed object (a microservice's config); as a whole
  // answer or as the items of a list they hide the shape.
  const walk = (raw: any, where: string, asField: boolean, seen: Set<any>, documented = false): void => {
    const s = resolve(raw);
    if (!s || seen.has(s)) return;
    seen.add(s);
    const described = documented || Boolean(s.description ?? raw.description);
    if (freeForm(s)) {
      if (!asField || !described) problems.push(`${where}: object without properties`);
      return;
    }
    for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walk(alt, where, asField, seen, described);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${where}.${k}`, true, seen);
    if (s.items) walk(s.items, `${where}[]`, false, seen);
  };
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    if (FREE_FORM.includes(path)) continue;
    for (const [method, op] of Object.entries(methods)) {
      for (const [code, res] of Object.entries(op.responses ?? {}) as Array<[string, any]>) {
        const schema = res.content?.['application/json']?.schema;
        if (/^2\d\d$/.test(code) && schema) walk(schema, `${method.toUpperCase()} ${path} ${code}`, false, new Set());
      }
    }
  }
  assert.deepEqual(problems, []);
});
