import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHANGED_PASSWORD, makeTestApp, USER_PASSWORD } from '../harness/app';
import { ManualClock } from '../../src/lib/clock';
import { AuthUserSchema } from '../../routes/users/index';
import { AuthGroupSchema } from '../../routes/groups/index';

test('users: create, list, get, patch, reset password, delete; conflicts and not-found', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const created = await t.call('POST', '/api/v3/users', {
      token: admin,
      body: { email: 'ann@example.com', password: USER_PASSWORD, groups: ['viewer'] },
    });
    assert.equal(created.status, 201);
    const ann = AuthUserSchema.parse(created.body);
    assert.deepEqual(ann.groups, ['viewer']);
    assert.equal(ann.isBootstrap, false);
    assert.ok(!('passwordHash' in created.body));

    const dup = await t.call('POST', '/api/v3/users', { token: admin, body: { email: 'ANN@example.com', password: USER_PASSWORD } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'CONFLICT');
    const weak = await t.call('POST', '/api/v3/users', { token: admin, body: { email: 'bob@example.com', password: 'short' } });
    assert.equal(weak.status, 400);
    const badGroup = await t.call('POST', '/api/v3/users', {
      token: admin,
      body: { email: 'bob@example.com', password: USER_PASSWORD, groups: ['nope'] },
    });
    assert.equal(badGroup.status, 400);
    assert.match(badGroup.body.message, /groups: unknown group "nope"/);

    const list = await t.call('GET', '/api/v3/users', { token: admin });
    assert.deepEqual(
      list.body.map((u: { email: string }) => u.email),
      ['admin@example.com', 'ann@example.com'],
    );
    assert.equal((await t.call('GET', `/api/v3/users/${ann.id}`, { token: admin })).body.email, 'ann@example.com');
    assert.equal((await t.call('GET', '/api/v3/users/missing', { token: admin })).status, 404);

    const patched = await t.call('PATCH', `/api/v3/users/${ann.id}`, {
      token: admin,
      body: { groups: ['developer', 'viewer'], email: 'ann2@example.com' },
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.groups, ['developer', 'viewer']);
    assert.equal(patched.body.email, 'ann2@example.com');

    const reset = await t.call('POST', `/api/v3/users/${ann.id}/reset-password`, { token: admin });
    assert.equal(reset.status, 200);
    assert.equal(reset.body.mustChangePassword, true);
    const tmp = await t.login('ann2@example.com', reset.body.temporaryPassword);
    assert.ok(tmp.accessToken);

    assert.equal((await t.call('DELETE', `/api/v3/users/${ann.id}`, { token: admin })).status, 204);
    assert.equal((await t.call('GET', `/api/v3/users/${ann.id}`, { token: admin })).status, 404);
    assert.equal(
      (await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: tmp.refreshToken } })).status,
      401,
      'deleted user is signed out',
    );
    const again = await t.call('POST', '/api/v3/users', { token: admin, body: { email: 'ann2@example.com', password: USER_PASSWORD } });
    assert.equal(again.status, 201, 'a deleted user frees the email');

    const bootstrapId = list.body.find((u: { isBootstrap: boolean }) => u.isBootstrap).id;
    const protectedDelete = await t.call('DELETE', `/api/v3/users/${bootstrapId}`, { token: admin });
    assert.equal(protectedDelete.status, 403);
    assert.equal((await t.call('PATCH', `/api/v3/users/${bootstrapId}`, { token: admin, body: { groups: ['viewer'] } })).status, 403);
  } finally {
    await t.close();
  }
});

test('groups: system groups seeded and protected; custom groups CRUD', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const list = await t.call('GET', '/api/v3/groups', { token: admin });
    assert.deepEqual(
      list.body.map((g: { name: string }) => g.name),
      ['admin', 'developer', 'sre', 'viewer'],
    );
    for (const g of list.body as unknown[]) AuthGroupSchema.parse(g);
    assert.ok(list.body.every((g: { isSystem: boolean; mfaRequired: boolean }) => g.isSystem && !g.mfaRequired));

    assert.equal((await t.call('PATCH', '/api/v3/groups/admin', { token: admin, body: { name: 'root' } })).status, 403);
    assert.equal((await t.call('DELETE', '/api/v3/groups/viewer', { token: admin })).status, 403);
    const mfa = await t.call('PATCH', '/api/v3/groups/sre', { token: admin, body: { mfaRequired: true } });
    assert.equal(mfa.status, 200);
    assert.equal(mfa.body.mfaRequired, true);
    assert.equal((await t.call('PATCH', '/api/v3/groups/sre', { token: admin, body: {} })).status, 400);

    assert.equal((await t.call('POST', '/api/v3/groups', { token: admin, body: { name: 'Edge Team' } })).status, 400);
    assert.equal((await t.call('POST', '/api/v3/groups', { token: admin, body: { name: 'edge-team' } })).status, 201);
    assert.equal((await t.call('POST', '/api/v3/groups', { token: admin, body: { name: 'edge-team' } })).status, 409);
    const renamed = await t.call('PATCH', '/api/v3/groups/edge-team', { token: admin, body: { name: 'edge-ops' } });
    assert.equal(renamed.body.name, 'edge-ops');
    assert.equal((await t.call('GET', '/api/v3/groups/edge-team', { token: admin })).status, 404);
    assert.equal((await t.call('DELETE', '/api/v3/groups/edge-ops', { token: admin })).status, 204);
    assert.equal((await t.call('DELETE', '/api/v3/groups/edge-ops', { token: admin })).status, 404);
  } finally {
    await t.close();
  }
});

test('auth migration export: users and groups without any secret, admin only', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const sre = await t.userToken('sre', 'sre@example.com');
    await t.call('POST', '/api/v3/groups', { token: admin, body: { name: 'plant-a' } });
    await t.call('POST', '/api/v3/users', {
      token: admin,
      body: { email: 'ops@example.com', password: 'Initial-Passw0rd-1', groups: ['viewer', 'plant-a'] },
    });
    assert.equal((await t.call('POST', '/api/v3/auth/migration/export', { token: sre })).status, 403, 'authAdmin is granted only by admin');
    const r = await t.call('POST', '/api/v3/auth/migration/export', { token: admin });
    assert.equal(r.status, 200);
    assert.equal(r.body.authMode, 'embedded');
    assert.ok(Date.parse(r.body.exportedAt) > 0);
    const ops = r.body.users.find((u: { email: string }) => u.email === 'ops@example.com');
    assert.deepEqual(Object.keys(ops).sort(), ['email', 'groups', 'id']);
    assert.deepEqual([...ops.groups].sort(), ['plant-a', 'viewer']);
    assert.deepEqual(r.body.groups.map((g: { name: string }) => g.name).sort(), ['admin', 'developer', 'plant-a', 'sre', 'viewer']);
    assert.equal(r.body.groups.find((g: { name: string }) => g.name === 'plant-a').isSystem, false);
    const text = JSON.stringify(r.body);
    assert.ok(!/argon2|passwordHash|secret|recovery/i.test(text), 'no hashes or secrets');
  } finally {
    await t.close();
  }
});

test('reset token: an admin issues it, the user sets a password without logging in, once, within the hour', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer', 'locked@example.com');
    const { body: users } = await t.call('GET', '/api/v3/users', { token: admin });
    const id = users.find((u: { email: string }) => u.email === 'locked@example.com').id;
    assert.equal((await t.call('POST', `/api/v3/users/${id}/reset-token`, { token: viewer })).status, 403);
    assert.equal((await t.call('POST', '/api/v3/users/nope/reset-token', { token: admin })).status, 404);
    const session = await t.login('locked@example.com', CHANGED_PASSWORD);
    const issued = await t.call('POST', `/api/v3/users/${id}/reset-token`, { token: admin });
    assert.equal(issued.status, 200);
    assert.equal(issued.body.expiresIn, 3600);
    const stored = await t.ctx.store.raw.execute('SELECT token_hash FROM auth_reset_token');
    assert.ok(!stored.rows.some((r) => r.token_hash === issued.body.resetToken), 'only a hash is stored');

    const change = (body: unknown, token?: string) => t.call('POST', '/api/v3/user/change-password', { body, token });
    // No bearer and no reset token: 401, as for any self route.
    assert.equal((await change({ newPassword: 'Reset-Passw0rd-9' })).status, 401);
    const wrong = await change({ resetToken: 'not-the-token', newPassword: 'Reset-Passw0rd-9' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'AUTH_TOKEN_INVALID');
    const weak = await change({ resetToken: issued.body.resetToken, newPassword: 'short' });
    assert.equal(weak.status, 400, 'the password policy applies and the token is not consumed');
    const ok = await change({ resetToken: issued.body.resetToken, newPassword: 'Reset-Passw0rd-9' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await change({ resetToken: issued.body.resetToken, newPassword: 'Other-Passw0rd-8' })).status, 401, 'single use');
    assert.equal(
      (await t.call('POST', '/api/v3/user/login', { body: { email: 'locked@example.com', password: 'Reset-Passw0rd-9' } })).status,
      200,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: session.refreshToken } })).status,
      401,
      'old sessions are signed out',
    );

    // Expired after an hour; a newer token voids an older one.
    const first = (await t.call('POST', `/api/v3/users/${id}/reset-token`, { token: admin })).body.resetToken;
    const second = (await t.call('POST', `/api/v3/users/${id}/reset-token`, { token: admin })).body.resetToken;
    assert.equal((await change({ resetToken: first, newPassword: 'Third-Passw0rd-7' })).status, 401);
    clock.advance(3601_000);
    assert.equal((await change({ resetToken: second, newPassword: 'Third-Passw0rd-7' })).status, 401);
  } finally {
    await t.close();
  }
});
