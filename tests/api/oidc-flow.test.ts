import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, USER_PASSWORD, CHANGED_PASSWORD, type TestApp } from '../harness/app';
import { ManualClock } from '../../src/lib/clock';
import { generateTotp } from '../../src/auth/totp';
import { s256 } from '../../src/services/auth/oidc-flow';

const PUBLIC = 'https://controller.plant.example';
const CONSOLE = 'https://console.plant.example';

/** Follows one redirect inside the app: returns the Location. */
async function hop(t: TestApp, url: string): Promise<{ status: number; location: string }> {
  const u = new URL(url, PUBLIC);
  const r = await t.app.request(u.pathname + u.search, {}, { clientIp: '10.0.0.1' });
  return { status: r.status, location: r.headers.get('location') ?? '' };
}

async function startLogin(t: TestApp): Promise<string> {
  const a = await hop(t, '/api/v3/user/oauth/authorize');
  assert.equal(a.status, 302);
  assert.ok(a.location.startsWith(`${PUBLIC}/oidc/auth?`), a.location);
  const q = new URL(a.location).searchParams;
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.equal(q.get('prompt'), 'login');
  assert.equal(q.get('redirect_uri'), `${PUBLIC}/api/v3/user/oauth/callback`);
  const b = await hop(t, a.location);
  assert.equal(b.status, 302);
  assert.ok(b.location.startsWith(`${CONSOLE}/login/oauth?interaction=`), b.location);
  return new URL(b.location).searchParams.get('interaction')!;
}

test('browser login flow (API level): authorize → interaction steps with TOTP → code → callback → tokens; one-time codes and state', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
  const t = await makeTestApp({ clock, env: { CONTROLLER_PUBLIC_URL: PUBLIC, CONSOLE_URL: CONSOLE } });
  try {
    const token = await t.userToken('developer', 'op@plant.example');
    const secret = (await t.call('POST', '/api/v3/user/mfa/enroll', { token })).body.secret;
    assert.equal(
      (await t.call('POST', '/api/v3/user/mfa/confirm', { token, body: { code: generateTotp(secret, clock.now()) } })).status,
      200,
    );
    clock.advance(30_000);

    const uid = await startLogin(t);
    const step = (path: string, body?: unknown) => t.call('POST', `/api/v3/user/interaction/${uid}${path}`, { body });
    assert.deepEqual((await t.call('GET', `/api/v3/user/interaction/${uid}`)).body, { step: 'login' });
    assert.equal((await step('/mfa', { code: '123456' })).status, 400, 'steps run in order');
    assert.equal((await step('/login', { email: 'op@plant.example', password: 'wrong' })).status, 401);
    assert.deepEqual((await step('/login', { email: 'op@plant.example', password: CHANGED_PASSWORD })).body, { step: 'mfa' });
    assert.equal((await step('/mfa', { code: '000000' })).status, 401);
    assert.deepEqual((await step('/mfa', { code: generateTotp(secret, clock.now()) })).body, { step: 'complete' });
    const done = await step('/complete');
    assert.equal(done.status, 200);
    const cb = new URL(done.body.redirectTo);
    assert.equal(cb.origin + cb.pathname, `${PUBLIC}/api/v3/user/oauth/callback`);
    assert.equal(cb.searchParams.get('iss'), `${PUBLIC}/oidc`);
    assert.equal((await step('/complete')).status, 401, 'the interaction is spent');

    const landed = await hop(t, done.body.redirectTo);
    assert.equal(landed.status, 302);
    assert.ok(landed.location.startsWith(`${CONSOLE}/login#accessToken=`), landed.location);
    assert.ok(!landed.location.includes('?'), 'tokens travel in the fragment, never the query');
    const frag = new URLSearchParams(new URL(landed.location).hash.slice(1));
    const access = frag.get('accessToken')!;
    const profile = await t.call('GET', '/api/v3/user/profile', { token: access });
    assert.equal(profile.status, 200);
    assert.equal(profile.body.preferred_username, 'op@plant.example');

    // The same callback again: state and code are single use.
    const again = await hop(t, done.body.redirectTo);
    assert.equal(again.location, `${CONSOLE}/login?oauthError=invalid_state`);
    const reuse = await t.app.request('/oidc/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: cb.searchParams.get('code')!,
        redirect_uri: `${PUBLIC}/api/v3/user/oauth/callback`,
        code_verifier: 'x'.repeat(43),
        client_id: 'controller',
      }),
    });
    assert.equal(reuse.status, 400);
    assert.equal((await reuse.json()).error, 'invalid_grant');

    // Logout revokes the refresh token.
    assert.equal((await t.call('POST', '/api/v3/user/logout', { token: access })).status, 204);
    assert.equal((await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: frag.get('refreshToken') } })).status, 401);
  } finally {
    await t.close();
  }
});

test('authorization endpoint and token endpoint follow the OAuth rules that matter', async () => {
  const t = await makeTestApp({ env: { CONTROLLER_PUBLIC_URL: PUBLIC, CONSOLE_URL: CONSOLE } });
  try {
    const verifier = 'v'.repeat(50);
    const base = {
      client_id: 'controller',
      redirect_uri: `${PUBLIC}/api/v3/user/oauth/callback`,
      response_type: 'code',
      scope: 'openid',
      state: 's1',
      nonce: 'n1',
      code_challenge: await s256(verifier),
      code_challenge_method: 'S256',
    };
    const auth = (q: Record<string, string>) => t.app.request(`/oidc/auth?${new URLSearchParams(q)}`, {}, { clientIp: '10.0.0.1' });
    // Not sent back to an unverified redirect URI: 400 here.
    assert.equal((await auth({ ...base, redirect_uri: 'https://evil.example/cb' })).status, 400);
    assert.equal((await auth({ ...base, redirect_uri: `${PUBLIC}/api/v3/user/oauth/callback/` })).status, 400, 'exact match');
    assert.equal((await auth({ ...base, client_id: 'other' })).status, 400);
    // Sent back as OAuth errors.
    const noPkce = await auth({ ...base, code_challenge: '' });
    assert.equal(noPkce.status, 302);
    const err = new URL(noPkce.headers.get('location')!).searchParams;
    assert.equal(err.get('error'), 'invalid_request');
    assert.equal(err.get('state'), 's1');
    const plain = await auth({ ...base, code_challenge_method: 'plain' });
    assert.equal(new URL(plain.headers.get('location')!).searchParams.get('error'), 'invalid_request');
    assert.equal(
      new URL((await auth({ ...base, response_type: 'token' })).headers.get('location')!).searchParams.get('error'),
      'unsupported_response_type',
    );

    // A full login driven directly, then the token endpoint's checks.
    const ok = await auth(base);
    const uid = new URL(ok.headers.get('location')!).searchParams.get('interaction')!;
    const step = (path: string, body?: unknown) => t.call('POST', `/api/v3/user/interaction/${uid}${path}`, { body });
    await step('/login', { email: 'admin@example.com', password: 'Admin-Passw0rd-1' });
    const code = new URL((await step('/complete')).body.redirectTo).searchParams.get('code')!;
    const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      t.app.request('/oidc/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(body),
      });
    const wrongVerifier = await token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: base.redirect_uri,
      code_verifier: 'w'.repeat(50),
      client_id: 'controller',
    });
    assert.equal(wrongVerifier.status, 400);
    assert.equal((await wrongVerifier.json()).error, 'invalid_grant');
    assert.equal(
      (
        await token({
          grant_type: 'authorization_code',
          code,
          redirect_uri: base.redirect_uri,
          code_verifier: verifier,
          client_id: 'nobody',
        })
      ).status,
      401,
    );
    const good = await token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: base.redirect_uri,
      code_verifier: verifier,
      client_id: 'controller',
    });
    assert.equal(good.status, 200);
    const tokens = await good.json();
    assert.equal(tokens.token_type, 'Bearer');
    const idClaims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
    assert.equal(idClaims.nonce, 'n1');
    assert.equal(idClaims.aud, 'controller');
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'controller' });
    assert.equal(refreshed.status, 200);
    assert.equal(
      (await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'controller' })).status,
      400,
      'rotated',
    );
    assert.equal((await token({ grant_type: 'password', client_id: 'controller' })).status, 400);
  } finally {
    await t.close();
  }
});

test('interaction: group MFA enrollment and forced password change happen in the browser flow', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
  const t = await makeTestApp({ clock, env: { CONTROLLER_PUBLIC_URL: PUBLIC, CONSOLE_URL: CONSOLE } });
  try {
    const admin = (await t.login()).accessToken;
    await t.call('POST', '/api/v3/groups', { token: admin, body: { name: 'secure-ops', mfaRequired: true } });
    await t.call('POST', '/api/v3/users', {
      token: admin,
      body: { email: 'new@plant.example', password: USER_PASSWORD, groups: ['secure-ops', 'viewer'] },
    });
    const uid = await startLogin(t);
    const step = (path: string, body?: unknown) => t.call('POST', `/api/v3/user/interaction/${uid}${path}`, { body });
    assert.deepEqual((await step('/login', { email: 'new@plant.example', password: USER_PASSWORD })).body, { step: 'enroll' });
    const enrolled = await step('/enroll');
    assert.equal(enrolled.body.step, 'confirm-enroll');
    const confirmed = await step('/confirm-enroll', { code: generateTotp(enrolled.body.secret, clock.now()) });
    assert.equal(confirmed.body.step, 'change-password');
    assert.equal(confirmed.body.recoveryCodes.length, 10);
    const weak = await step('/change-password', { currentPassword: USER_PASSWORD, newPassword: 'short' });
    assert.equal(weak.status, 400);
    assert.deepEqual((await step('/change-password', { currentPassword: USER_PASSWORD, newPassword: CHANGED_PASSWORD })).body, {
      step: 'complete',
    });
    const landed = await hop(t, (await step('/complete')).body.redirectTo);
    const access = new URLSearchParams(new URL(landed.location).hash.slice(1)).get('accessToken')!;
    // A full token: no password-change or enrollment restriction left.
    assert.equal((await t.call('GET', '/api/v3/iofog-list', { token: access })).status, 200);
    // Expired interaction.
    const late = await startLogin(t);
    clock.advance(11 * 60_000);
    assert.equal((await t.call('GET', `/api/v3/user/interaction/${late}`)).status, 401);
  } finally {
    await t.close();
  }
});

test('clients: the public console client (PKCE only, its own redirect URIs) and a confidential Controller client (secret required)', async () => {
  const t = await makeTestApp({
    env: {
      CONTROLLER_PUBLIC_URL: PUBLIC,
      CONSOLE_URL: CONSOLE,
      OIDC_CONSOLE_CLIENT_ID: 'console',
      OIDC_CLIENT_SECRET: 'ctl-secret-0123456789',
    },
  });
  try {
    const verifier = 'c'.repeat(60);
    const login = async (client_id: string, redirect_uri: string) => {
      const r = await t.app.request(
        `/oidc/auth?${new URLSearchParams({ client_id, redirect_uri, response_type: 'code', scope: 'openid', state: 's', code_challenge: await s256(verifier), code_challenge_method: 'S256' })}`,
        {},
        { clientIp: '10.0.0.1' },
      );
      assert.equal(r.status, 302, `${client_id} ${redirect_uri}`);
      const uid = new URL(r.headers.get('location')!).searchParams.get('interaction')!;
      await t.call('POST', `/api/v3/user/interaction/${uid}/login`, { body: { email: 'admin@example.com', password: 'Admin-Passw0rd-1' } });
      return new URL((await t.call('POST', `/api/v3/user/interaction/${uid}/complete`)).body.redirectTo).searchParams.get('code')!;
    };
    const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      t.app.request('/oidc/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(body),
      });
    // The console client may only use its own redirect URI.
    const consoleRedirect = `${CONSOLE}/login/callback`;
    assert.equal(
      (
        await t.app.request(
          `/oidc/auth?${new URLSearchParams({ client_id: 'console', redirect_uri: `${PUBLIC}/api/v3/user/oauth/callback`, response_type: 'code', code_challenge: await s256(verifier), code_challenge_method: 'S256' })}`,
        )
      ).status,
      400,
    );
    const c1 = await login('console', consoleRedirect);
    assert.equal(
      (
        await token({
          grant_type: 'authorization_code',
          code: c1,
          redirect_uri: consoleRedirect,
          code_verifier: verifier,
          client_id: 'console',
          client_secret: 'guess',
        })
      ).status,
      401,
      'a public client has no secret',
    );
    const ok = await token({
      grant_type: 'authorization_code',
      code: c1,
      redirect_uri: consoleRedirect,
      code_verifier: verifier,
      client_id: 'console',
    });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(Buffer.from((await ok.json()).id_token.split('.')[1], 'base64url').toString()).aud, 'console');
    // The Controller's client is confidential now: PKCE and the secret.
    const ctlRedirect = `${PUBLIC}/api/v3/user/oauth/callback`;
    const c2 = await login('controller', ctlRedirect);
    assert.equal(
      (
        await token({
          grant_type: 'authorization_code',
          code: c2,
          redirect_uri: ctlRedirect,
          code_verifier: verifier,
          client_id: 'controller',
        })
      ).status,
      401,
    );
    const basic = `Basic ${Buffer.from('controller:ctl-secret-0123456789').toString('base64')}`;
    assert.equal(
      (
        await token(
          { grant_type: 'authorization_code', code: c2, redirect_uri: ctlRedirect, code_verifier: verifier },
          { authorization: basic },
        )
      ).status,
      200,
    );
    // Codes are bound to their client.
    const c3 = await login('console', consoleRedirect);
    const stolen = await token(
      { grant_type: 'authorization_code', code: c3, redirect_uri: consoleRedirect, code_verifier: verifier },
      { authorization: basic },
    );
    assert.equal(stolen.status, 400);
    assert.equal((await stolen.json()).error, 'invalid_grant');
    // The BFF itself does not need to send the secret over the network: it still works end to end.
    const a = await hop(t, '/api/v3/user/oauth/authorize');
    const uid = new URL((await hop(t, a.location)).location).searchParams.get('interaction')!;
    await t.call('POST', `/api/v3/user/interaction/${uid}/login`, { body: { email: 'admin@example.com', password: 'Admin-Passw0rd-1' } });
    const landed = await hop(t, (await t.call('POST', `/api/v3/user/interaction/${uid}/complete`)).body.redirectTo);
    assert.ok(landed.location.startsWith(`${CONSOLE}/login#accessToken=`));
  } finally {
    await t.close();
  }
});

test('console sign-in: started from a console that CONSOLE_URL does not name, it stops at once on a page that says which CONSOLE_URL to set', async () => {
  const authorize = (t: TestApp, referer?: string) =>
    t.app.request(
      '/api/v3/user/oauth/authorize?postLoginRedirect=%23%2Fdashboard',
      { headers: referer ? { referer } : {} },
      { clientIp: '10.0.0.1' },
    );
  // CONSOLE_URL left at its default (the Controller) while the console runs on its own origin.
  const plain = await makeTestApp({ env: { CONTROLLER_PUBLIC_URL: PUBLIC } });
  try {
    const r = await authorize(plain, 'http://localhost:3000/');
    assert.equal(r.status, 400);
    assert.match(r.headers.get('content-type')!, /^text\/html/);
    const html = await r.text();
    assert.match(html, /started from <code>http:\/\/localhost:3000<\/code>/);
    assert.match(html, new RegExp(`hands sign-ins to <code>${PUBLIC}/login</code>`));
    assert.match(html, /Set <code>CONSOLE_URL=http:\/\/localhost:3000<\/code>/);
    assert.doesNotMatch(html, /<script/, 'a static page');
    // Markup in the Referer is never echoed as markup.
    const hostile = await (await authorize(plain, 'http://x"><img src=y>.example/')).text();
    assert.doesNotMatch(hostile, /<img/);
    // Started on the Controller itself (its docs, its own pages) or without a Referer: it goes ahead.
    assert.equal((await authorize(plain, `${PUBLIC}/api/v3/docs`)).status, 302);
    assert.equal((await authorize(plain)).status, 302);
  } finally {
    await plain.close();
  }
  // CONSOLE_URL naming the console: the one documented variable, and the sign-in goes ahead.
  const set = await makeTestApp({ env: { CONTROLLER_PUBLIC_URL: PUBLIC, CONSOLE_URL: CONSOLE } });
  try {
    assert.equal((await authorize(set, `${CONSOLE}/#/login`)).status, 302);
    assert.equal((await authorize(set, 'https://elsewhere.example/')).status, 400);
  } finally {
    await set.close();
  }
});
