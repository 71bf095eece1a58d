import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ADMIN, CHANGED_PASSWORD, USER_PASSWORD, makeTestApp } from '../harness/app';
import { ManualClock } from '../../src/lib/clock';
import { generateTotp } from '../../src/auth/totp';
import { ProfileSchema, TokenPairSchema } from '../../routes/user/index';

test('bootstrap admin logs in; the token opens /user/profile', async () => {
  const t = await makeTestApp();
  try {
    const r = await t.call('POST', '/api/v3/user/login', { body: { email: ADMIN.email, password: ADMIN.password } });
    assert.equal(r.status, 200);
    const pair = TokenPairSchema.parse(r.body);
    const claims = decodeJwt(pair.accessToken);
    assert.equal(decodeProtectedHeader(pair.accessToken).alg, 'EdDSA');
    assert.equal(claims.iss, 'http://localhost:51121/oidc');
    assert.equal(claims.aud, 'controller');
    assert.equal(claims.token_use, 'access');
    assert.deepEqual(claims.groups, ['admin']);
    assert.equal(claims.exp! - claims.iat!, 900);

    const p = await t.call('GET', '/api/v3/user/profile', { token: pair.accessToken });
    assert.equal(p.status, 200);
    const profile = ProfileSchema.parse(p.body);
    assert.equal(profile.preferred_username, ADMIN.email);
    assert.deepEqual(profile.groups, ['admin']);
    assert.equal(profile.mfaEnabled, false);
    // Identifiers are case-insensitive and trimmed.
    assert.equal(
      (await t.call('POST', '/api/v3/user/login', { body: { email: '  ADMIN@example.com ', password: ADMIN.password } })).status,
      200,
    );
  } finally {
    await t.close();
  }
});

test('401 without a token, with garbage, with a foreign or expired token', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  const other = await makeTestApp();
  try {
    const none = await t.call('GET', '/api/v3/user/profile');
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'AUTH_REQUIRED');
    const basic = await t.call('GET', '/api/v3/users', { headers: { authorization: 'Basic YTpi' } });
    assert.equal(basic.status, 401);
    const garbage = await t.call('GET', '/api/v3/users', { token: 'not.a.jwt' });
    assert.equal(garbage.status, 401);
    assert.equal(garbage.body.code, 'AUTH_TOKEN_INVALID');
    const foreign = (await other.login()).accessToken;
    assert.equal((await t.call('GET', '/api/v3/users', { token: foreign })).status, 401, 'signed by another instance key');
    const token = (await t.login()).accessToken;
    assert.equal((await t.call('GET', '/api/v3/users', { token })).status, 200);
    clock.advance(901_000 + 5_000);
    const expired = await t.call('GET', '/api/v3/users', { token });
    assert.equal(expired.status, 401);
    assert.match(expired.body.message, /expired/);
  } finally {
    await t.close();
    await other.close();
  }
});

test('wrong password, unknown user and locked account all give the same 401; 5 failures lock for 15 min', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const unknown = await t.call('POST', '/api/v3/user/login', { body: { email: 'nobody@example.com', password: 'Whatever-123' } });
    const wrong = await t.call('POST', '/api/v3/user/login', { body: { email: ADMIN.email, password: 'Wrong-Passw0rd' } });
    assert.equal(unknown.status, 401);
    assert.deepEqual({ ...unknown.body, requestId: '' }, { ...wrong.body, requestId: '' });
    for (let i = 0; i < 4; i++) await t.call('POST', '/api/v3/user/login', { body: { email: ADMIN.email, password: 'Wrong-Passw0rd' } });
    const locked = await t.call('POST', '/api/v3/user/login', { body: { email: ADMIN.email, password: ADMIN.password } });
    assert.equal(locked.status, 401, 'correct password refused while locked');
    clock.advance(15 * 60_000 + 1000);
    assert.equal((await t.call('POST', '/api/v3/user/login', { body: { email: ADMIN.email, password: ADMIN.password } })).status, 200);
  } finally {
    await t.close();
  }
});

test('auth endpoints are rate limited per client IP with 429 + Retry-After', async () => {
  const t = await makeTestApp({ env: { AUTH_RATE_LIMIT_MAX_REQUESTS: '3', AUTH_RATE_LIMIT_WINDOW_MS: '60000' } });
  try {
    const body = { email: 'x@example.com', password: 'Whatever-123' };
    for (let i = 0; i < 3; i++) assert.equal((await t.call('POST', '/api/v3/user/login', { body, ip: '192.0.2.7' })).status, 401);
    const limited = await t.call('POST', '/api/v3/user/login', { body, ip: '192.0.2.7' });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.name, 'RateLimitExceededError');
    assert.equal(limited.body.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await t.call('POST', '/api/v3/user/login', { body, ip: '192.0.2.8' })).status, 401, 'another address is not limited');
  } finally {
    await t.close();
  }
});

test('refresh rotates; reusing a rotated token revokes the whole family', async () => {
  const t = await makeTestApp();
  try {
    const first = await t.login();
    const second = await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: first.refreshToken } });
    assert.equal(second.status, 200);
    TokenPairSchema.parse(second.body);
    assert.notEqual(second.body.refreshToken, first.refreshToken);
    assert.equal((await t.call('GET', '/api/v3/user/profile', { token: second.body.accessToken })).status, 200);

    const reuse = await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: first.refreshToken } });
    assert.equal(reuse.status, 401);
    assert.match(reuse.body.message, /already used/);
    const afterReuse = await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: second.body.refreshToken } });
    assert.equal(afterReuse.status, 401, 'the legitimate successor is revoked too');

    const other = await t.login();
    assert.equal(
      (await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: other.refreshToken } })).status,
      200,
      'other sessions unaffected',
    );
    assert.equal(
      (await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: other.accessToken } })).status,
      401,
      'access token is not a refresh token',
    );
  } finally {
    await t.close();
  }
});

test('logout revokes refresh tokens; the access token stays valid until expiry', async () => {
  const t = await makeTestApp();
  try {
    const pair = await t.login();
    assert.equal((await t.call('POST', '/api/v3/user/logout')).status, 401);
    assert.equal((await t.call('POST', '/api/v3/user/logout', { token: pair.accessToken })).status, 204);
    assert.equal((await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: pair.refreshToken } })).status, 401);
    assert.equal((await t.call('GET', '/api/v3/user/profile', { token: pair.accessToken })).status, 200);
  } finally {
    await t.close();
  }
});

test('admin-created users must change their password before anything else', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const created = await t.call('POST', '/api/v3/users', {
      token: admin,
      body: { email: 'Dev@Example.com', password: USER_PASSWORD, groups: ['developer'] },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.email, 'dev@example.com');
    assert.equal(created.body.mustChangePassword, true);
    const first = await t.login('dev@example.com', USER_PASSWORD);
    assert.equal(decodeJwt(first.accessToken).password_change_required, true);
    const profile = await t.call('GET', '/api/v3/user/profile', { token: first.accessToken });
    assert.equal(profile.status, 200);
    assert.equal(profile.body.password_change_required, true);
    const gated = await t.call('GET', '/api/v3/groups', { token: first.accessToken });
    assert.equal(gated.status, 403);
    assert.equal(gated.body.code, 'PASSWORD_CHANGE_REQUIRED');

    const weak = await t.call('POST', '/api/v3/user/change-password', {
      token: first.accessToken,
      body: { currentPassword: USER_PASSWORD, newPassword: 'weak' },
    });
    assert.equal(weak.status, 400);
    assert.match(weak.body.message, /at least 12/);
    const same = await t.call('POST', '/api/v3/user/change-password', {
      token: first.accessToken,
      body: { currentPassword: USER_PASSWORD, newPassword: USER_PASSWORD },
    });
    assert.equal(same.status, 400);
    assert.match(same.body.message, /last 5/);
    const wrongCurrent = await t.call('POST', '/api/v3/user/change-password', {
      token: first.accessToken,
      body: { currentPassword: 'nope', newPassword: CHANGED_PASSWORD },
    });
    assert.equal(wrongCurrent.status, 401);
    const ok = await t.call('POST', '/api/v3/user/change-password', {
      token: first.accessToken,
      body: { currentPassword: USER_PASSWORD, newPassword: CHANGED_PASSWORD },
    });
    assert.equal(ok.status, 200);
    assert.equal(
      (await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: first.refreshToken } })).status,
      401,
      'sessions signed out',
    );
    assert.equal((await t.call('POST', '/api/v3/user/login', { body: { email: 'dev@example.com', password: USER_PASSWORD } })).status, 401);
    const second = await t.login('dev@example.com', CHANGED_PASSWORD);
    assert.equal(decodeJwt(second.accessToken).password_change_required, undefined);
    assert.equal((await t.call('GET', '/api/v3/groups', { token: second.accessToken })).status, 200);
  } finally {
    await t.close();
  }
});

test('RBAC: viewer reads but cannot write (403); developer cannot administer users; admin can', async () => {
  const t = await makeTestApp();
  try {
    const viewer = await t.userToken('viewer');
    const developer = await t.userToken('developer');
    const admin = (await t.login()).accessToken;
    assert.equal((await t.call('GET', '/api/v3/users', { token: viewer })).status, 200);
    const denied = await t.call('POST', '/api/v3/groups', { token: viewer, body: { name: 'ops' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 'FORBIDDEN');
    assert.match(denied.body.message, /authGroups:create/);
    assert.equal((await t.call('DELETE', '/api/v3/users/whatever', { token: developer })).status, 403);
    assert.equal((await t.call('POST', '/api/v3/auth/jwks/rotate', { token: developer })).status, 403);
    assert.equal((await t.call('POST', '/api/v3/groups', { token: admin, body: { name: 'ops' } })).status, 201);
    // Every user reads their own profile, whatever the role.
    assert.equal((await t.call('GET', '/api/v3/user/profile', { token: viewer })).status, 200);
  } finally {
    await t.close();
  }
});

test('JWKS rotation on another instance: this one signs with and publishes the new key within the version check interval', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
  const t = await makeTestApp({ clock });
  try {
    const { KeyRing } = await import('../../src/auth/keyring');
    const oldKid = decodeProtectedHeader((await t.login()).accessToken).kid;
    // A second ring on the same database stands in for another instance, which rotates.
    const other = new KeyRing();
    await other.init(t.ctx);
    const { kid: newKid } = await other.rotate(t.ctx, 3_600_000);
    clock.advance(1_000);
    const signed = decodeProtectedHeader((await t.login()).accessToken).kid;
    assert.equal(signed, newKid, 'signs with the key rotated elsewhere');
    const jwks = await t.call('GET', '/oidc/jwks');
    assert.deepEqual(new Set(jwks.body.keys.map((k: { kid: string }) => k.kid)), new Set([oldKid, newKid]));
  } finally {
    await t.close();
  }
});

test('MFA: enroll, confirm, then login needs TOTP; recovery codes are single use; replayed codes are refused', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
  const t = await makeTestApp({ clock });
  try {
    const token = await t.userToken('developer', 'mfa@example.com');
    const enroll = await t.call('POST', '/api/v3/user/mfa/enroll', { token });
    assert.equal(enroll.status, 200);
    assert.match(enroll.body.otpauthUrl, /^otpauth:\/\/totp\/Controller:mfa%40example\.com\?/);
    const secret: string = enroll.body.secret;
    assert.equal((await t.call('POST', '/api/v3/user/mfa/confirm', { token, body: { code: '000000' } })).status, 400);
    const confirm = await t.call('POST', '/api/v3/user/mfa/confirm', { token, body: { code: generateTotp(secret, clock.now()) } });
    assert.equal(confirm.status, 200);
    const codes: string[] = confirm.body.recoveryCodes;
    assert.equal(codes.length, 10);
    assert.ok(codes.every((c) => /^[0-9a-f]{10}$/.test(c)));

    const noCode = await t.call('POST', '/api/v3/user/login', { body: { email: 'mfa@example.com', password: CHANGED_PASSWORD } });
    assert.equal(noCode.status, 401);
    assert.equal(noCode.body.code, 'MFA_REQUIRED');
    clock.advance(30_000);
    const code = generateTotp(secret, clock.now());
    assert.equal(
      (await t.call('POST', '/api/v3/user/login', { body: { email: 'mfa@example.com', password: CHANGED_PASSWORD, totp: code } })).status,
      200,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/user/login', { body: { email: 'mfa@example.com', password: CHANGED_PASSWORD, totp: code } })).status,
      401,
      'same code twice',
    );
    const withRecovery = await t.call('POST', '/api/v3/user/login', {
      body: { email: 'mfa@example.com', password: CHANGED_PASSWORD, totp: codes[0] },
    });
    assert.equal(withRecovery.status, 200);
    assert.equal(
      (await t.call('POST', '/api/v3/user/login', { body: { email: 'mfa@example.com', password: CHANGED_PASSWORD, totp: codes[0] } }))
        .status,
      401,
      'recovery code used up',
    );
    const profile = await t.call('GET', '/api/v3/user/profile', { token: withRecovery.body.accessToken });
    assert.equal(profile.body.mfaEnabled, true);

    const disable = await t.call('DELETE', '/api/v3/user/mfa', {
      token: withRecovery.body.accessToken,
      body: { password: CHANGED_PASSWORD, code: codes[1] },
    });
    assert.equal(disable.status, 200);
    assert.equal(
      (await t.call('POST', '/api/v3/user/login', { body: { email: 'mfa@example.com', password: CHANGED_PASSWORD } })).status,
      200,
    );
  } finally {
    await t.close();
  }
});

test('a group with mfaRequired forces enrollment: the token only reaches enrollment until confirmed', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
  const t = await makeTestApp({ clock });
  try {
    const admin = (await t.login()).accessToken;
    assert.equal((await t.call('POST', '/api/v3/groups', { token: admin, body: { name: 'secure-ops', mfaRequired: true } })).status, 201);
    const token = await t.userToken('secure-ops', 'ops@example.com');
    assert.equal(decodeJwt(token).mfa_enrollment_required, true);
    assert.equal((await t.call('GET', '/api/v3/groups', { token })).status, 403);
    const enroll = await t.call('POST', '/api/v3/user/mfa/enroll', { token });
    assert.equal(enroll.status, 200);
    assert.equal(
      (await t.call('POST', '/api/v3/user/mfa/confirm', { token, body: { code: generateTotp(enroll.body.secret, clock.now()) } })).status,
      200,
    );
    clock.advance(30_000);
    const after = await t.login('ops@example.com', CHANGED_PASSWORD, generateTotp(enroll.body.secret, clock.now()));
    assert.equal(decodeJwt(after.accessToken).mfa_enrollment_required, undefined);
  } finally {
    await t.close();
  }
});

test('JWKS rotation: old tokens verify until expiry, new tokens use the new key, both keys published', async () => {
  const t = await makeTestApp();
  try {
    const before = (await t.login()).accessToken;
    const oldKid = decodeProtectedHeader(before).kid;
    const jwks1 = await t.call('GET', '/oidc/jwks');
    assert.deepEqual(
      jwks1.body.keys.map((k: { kid: string }) => k.kid),
      [oldKid],
    );
    assert.ok(
      jwks1.body.keys.every((k: Record<string, unknown>) => !('d' in k)),
      'no private material',
    );
    const rot = await t.call('POST', '/api/v3/auth/jwks/rotate', { token: before });
    assert.equal(rot.status, 200);
    assert.equal(rot.body.restartRequired, true);
    const after = (await t.login()).accessToken;
    assert.equal(decodeProtectedHeader(after).kid, rot.body.kid);
    assert.equal((await t.call('GET', '/api/v3/users', { token: before })).status, 200, 'pre-rotation token still accepted');
    assert.equal((await t.call('GET', '/api/v3/users', { token: after })).status, 200);
    const jwks2 = await t.call('GET', '/oidc/jwks');
    assert.deepEqual(new Set(jwks2.body.keys.map((k: { kid: string }) => k.kid)), new Set([oldKid, rot.body.kid]));
  } finally {
    await t.close();
  }
});
