// AUTH_MODE=external against an independently configured issuer: a second Controller (the built
// bundle as a process, embedded mode) issues the tokens; the Controller under test only verifies them
// through discovery + JWKS and maps their groups to RBAC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT } from 'jose';
import { ADMIN, startController } from '../harness/process';
import { makeTestApp, USER_PASSWORD, CHANGED_PASSWORD } from '../harness/app';
import { ManualClock } from '../../src/lib/clock';
import { JWKS_COOLDOWN_MS } from '../../src/auth/external';
import { waitFor } from '../harness/wait';

test('external OIDC mode: tokens of the issuer are accepted, foreign keys and audiences are not, groups decide access', {
  timeout: 120_000,
}, async () => {
  // The issuer also accepts the browser-login callback of the Controller under test (OIDC_REDIRECT_URIS).
  const issuer = await startController({
    publicUrl: true,
    env: { OIDC_REDIRECT_URIS: 'https://x.plant.example/api/v3/user/oauth/callback' },
  });
  const external = async (env: Record<string, string> = {}, clock?: ManualClock) =>
    makeTestApp({ clock, env: { AUTH_MODE: 'external', OIDC_ISSUER_URL: `${issuer.url}/oidc`, ...env } });
  const t = await external();
  try {
    // --- the issuer: users in system and custom groups ---
    const call = async (method: string, path: string, token?: string, body?: unknown) => {
      const r = await fetch(issuer.url + path, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    const login = async (email: string, password: string) =>
      (await call('POST', '/api/v3/user/login', undefined, { email, password })).body;
    const admin = (await login(ADMIN.email, ADMIN.password)).accessToken as string;
    assert.equal((await call('POST', '/api/v3/groups', admin, { name: 'plant-ops' })).status, 201);
    const member = async (email: string, group: string) => {
      assert.equal((await call('POST', '/api/v3/users', admin, { email, password: USER_PASSWORD, groups: [group] })).status, 201);
      const first = await login(email, USER_PASSWORD);
      await call('POST', '/api/v3/user/change-password', first.accessToken, {
        currentPassword: USER_PASSWORD,
        newPassword: CHANGED_PASSWORD,
      });
      return (await login(email, CHANGED_PASSWORD)).accessToken as string;
    };
    const viewer = await member('viewer@acme.example', 'viewer');
    const ops = await member('ops@acme.example', 'plant-ops');
    const discovery = await call('GET', '/oidc/.well-known/openid-configuration');
    assert.equal(discovery.body.issuer, `${issuer.url}/oidc`);

    // --- the Controller under test ---
    assert.equal((await t.call('GET', '/api/v3/iofog-list', { token: admin })).status, 200, 'the issuer admin group is the admin role');
    const created = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge-ext', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await t.call('GET', '/api/v3/iofog-list', { token: viewer })).status, 200);
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: viewer, body: { name: 'x', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      403,
      'viewer group: read only',
    );
    // A custom group has no permissions until a RoleBinding names it.
    assert.equal((await t.call('GET', '/api/v3/iofog-list', { token: ops })).status, 403);
    await t.call('POST', '/api/v3/roles', {
      token: admin,
      body: { name: 'fog-reader', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['get', 'list'] }] },
    });
    const bound = await t.call('POST', '/api/v3/rolebindings', {
      token: admin,
      body: { name: 'plant-ops-read', roleRef: { kind: 'Role', name: 'fog-reader' }, subjects: [{ kind: 'Group', name: 'plant-ops' }] },
    });
    assert.equal(bound.status, 201, JSON.stringify(bound.body));
    assert.equal((await t.call('GET', '/api/v3/iofog-list', { token: ops })).status, 200);
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: ops, body: { name: 'y', archId: 1, routerMode: 'none', natsMode: 'none' } })).status,
      403,
    );
    // The audit log names the IdP user.
    const events = (await t.call('GET', '/api/v3/events?method=POST', { token: admin })).body.events;
    assert.ok(events.some((e: any) => e.actorId === ADMIN.email && e.endpointPath === '/api/v3/iofog'));

    // Profile is the IdP's UserInfo.
    const profile = await t.call('GET', '/api/v3/user/profile', { token: ops });
    assert.equal(profile.status, 200);
    assert.equal(profile.body.preferred_username, 'ops@acme.example');
    assert.deepEqual(profile.body.groups, ['plant-ops']);

    // A token signed by a key the issuer never published, with the right iss and aud: 401.
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT({ preferred_username: ADMIN.email, groups: ['admin'], token_use: 'access' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'not-a-published-key' })
      .setIssuer(`${issuer.url}/oidc`)
      .setAudience('controller')
      .setSubject('x')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const f = await t.call('GET', '/api/v3/iofog-list', { token: forged });
    assert.equal(f.status, 401);
    assert.equal(f.body.code, 'AUTH_TOKEN_INVALID');

    // The issuer rotates its key: a token signed with the new key is accepted (JWKS refetched for the unknown kid).
    const rotated = await call('POST', '/api/v3/auth/jwks/rotate', admin);
    assert.equal(rotated.status, 200);
    const fresh = (await login(ADMIN.email, ADMIN.password)).accessToken as string;
    const kid = JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid;
    assert.equal(kid, rotated.body.kid, 'the issuer signs with the new key');
    // The key set reloads for an unknown key id at most once per JWKS_COOLDOWN_MS, and the forged token above
    // used that reload: the new key is accepted once the cooldown has passed, not before it.
    await waitFor(
      'the rotated key to be accepted',
      async () => (await t.call('GET', '/api/v3/iofog-list', { token: fresh })).status === 200,
      {
        timeoutMs: JWKS_COOLDOWN_MS + 10_000,
        intervalMs: 100,
      },
    );

    // Routes of the embedded identity provider are not available here.
    for (const [m, p] of [
      ['GET', '/api/v3/users'],
      ['POST', '/api/v3/groups'],
      ['POST', '/api/v3/user/mfa/enroll'],
      ['POST', '/api/v3/auth/jwks/rotate'],
    ] as const) {
      const r = await t.call(m, p, { token: admin, body: m === 'GET' ? undefined : {} });
      assert.equal(r.status, 501, `${m} ${p}`);
      assert.equal(r.body.code, 'NOT_IMPLEMENTED');
    }
    // CLI login needs the IdP's password grant; this issuer offers none.
    const cli = await t.call('POST', '/api/v3/user/login', { body: { email: ADMIN.email, password: ADMIN.password } });
    assert.equal(cli.status, 501);
    assert.match(cli.body.message, /token endpoint|browser/);

    // BFF login through the IdP: authorize → the issuer's login (interaction API) → our callback → tokens.
    const x = await external({ CONTROLLER_PUBLIC_URL: 'https://x.plant.example' });
    try {
      const start = await x.app.request('/api/v3/user/oauth/authorize', {}, { clientIp: '10.0.0.2' });
      assert.equal(start.status, 302);
      const toIdp = new URL(start.headers.get('location')!);
      assert.equal(toIdp.origin + toIdp.pathname, `${issuer.url}/oidc/auth`);
      assert.equal(toIdp.searchParams.get('redirect_uri'), 'https://x.plant.example/api/v3/user/oauth/callback');
      const atIdp = await fetch(toIdp, { redirect: 'manual' });
      assert.equal(atIdp.status, 302);
      const uid = new URL(atIdp.headers.get('location')!).searchParams.get('interaction')!;
      assert.deepEqual(
        (await call('POST', `/api/v3/user/interaction/${uid}/login`, undefined, { email: ADMIN.email, password: ADMIN.password })).body,
        { step: 'complete' },
      );
      const back = new URL((await call('POST', `/api/v3/user/interaction/${uid}/complete`)).body.redirectTo);
      assert.equal(back.origin + back.pathname, 'https://x.plant.example/api/v3/user/oauth/callback');
      const landed = await x.app.request(back.pathname + back.search, {}, { clientIp: '10.0.0.2' });
      assert.equal(landed.status, 302);
      const to = new URL(landed.headers.get('location')!);
      assert.equal(to.origin + to.pathname, 'https://x.plant.example/login');
      const access = new URLSearchParams(to.hash.slice(1)).get('accessToken')!;
      assert.ok(access, `tokens in the fragment: ${to}`);
      assert.equal((await x.call('GET', '/api/v3/iofog-list', { token: access })).status, 200, 'the IdP token works here');
      // The same callback again: the state is spent.
      const again = await x.app.request(back.pathname + back.search, {}, { clientIp: '10.0.0.2' });
      assert.equal(again.headers.get('location'), 'https://x.plant.example/login?oauthError=invalid_state');
    } finally {
      await x.close();
    }

    // Wrong audience: a Controller expecting another client id refuses the same tokens.
    const other = await external({ OIDC_CLIENT_ID: 'another-client' });
    try {
      const r = await other.call('GET', '/api/v3/iofog-list', { token: admin });
      assert.equal(r.status, 401);
    } finally {
      await other.close();
    }
    // Expired: the same token an hour later.
    const clock = new ManualClock();
    const later = await external({}, clock);
    try {
      assert.equal((await later.call('GET', '/api/v3/iofog-list', { token: viewer })).status, 200);
      clock.advance(3600_000);
      const r = await later.call('GET', '/api/v3/iofog-list', { token: viewer });
      assert.equal(r.status, 401);
      assert.match(r.body.message, /expired/);
    } finally {
      await later.close();
    }
  } finally {
    await issuer.stop();
  }
  // The IdP is gone: a Controller that never reached it answers 503 (retryable), never 401.
  const orphan = await external();
  try {
    const r = await orphan.call('GET', '/api/v3/iofog-list', { token: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' });
    assert.equal(r.status, 503);
    assert.equal(r.body.retryable, true);
    assert.ok(r.headers.get('retry-after'));
  } finally {
    await orphan.close();
    await t.close();
  }
});
