// Two Controller processes on one libSQL file: what one instance learns or changes is honoured by the
// other within the bounds docs/multi-instance.md states (agent token replay, RBAC, token revocation,
// logout, signing-key rotation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { ADMIN, jsonApi, startController } from '../harness/process';
import { Edgelet } from '../harness/edgelet';
import { waitFor } from '../harness/wait';

const PASSWORD = 'First-Passw0rd-1';
const CHANGED = 'Second-Passw0rd-2';

test('two instances on one database: jti replay, RBAC changes, revocation, logout and key rotation cross over', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'controller-multi-'));
  // One public URL (the balancer's) for both, as in a real deployment: it is the token issuer.
  const env = { CONTROLLER_PUBLIC_URL: 'http://localhost:51121' };
  const a = await startController({ dir, env });
  const b = await startController({ dir, env });
  try {
    const call = (url: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}) =>
      jsonApi(url)(method, path, opts);
    const login = async (url: string, email: string, password: string) => {
      const r = await call(url, 'POST', '/api/v3/user/login', { body: { email, password } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { accessToken: string; refreshToken: string };
    };
    const admin = (await login(a.url, ADMIN.email, ADMIN.password)).accessToken;

    // ---- agent token replay: used on A, refused on B within 1 s ----
    const fog = await call(a.url, 'POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'multi-edge', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    assert.equal(fog.status, 201, JSON.stringify(fog.body));
    const key = await call(a.url, 'GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    const onA = new Edgelet(`${a.url}/api/v3`, { archId: 1 });
    assert.equal((await onA.provision(key.body.key)).status, 200);
    const onB = new Edgelet(`${b.url}/api/v3`, { archId: 1 });
    await onB.loadCredentials({ uuid: onA.uuid, privateKey: onA.privateKeyB64 });
    const poll = (edge: Edgelet, token: string) => edge.request('GET', '/agent/config/changes', { token });

    const replayAcross = async (first: Edgelet, second: Edgelet) => {
      // Warm both: the fog's key cached and a connection open, so the timing below is the sync's.
      for (const edge of [first, second]) assert.equal((await poll(edge, onA.signToken())).status, 200);
      const target = onA.signToken();
      // Probes, used on the first instance right after the target: the first probe the second
      // instance refuses marks the moment the target's batch (written no later) reached it. A probe
      // it accepts was simply not there yet, and is spent; the next one is tried.
      const probes = Array.from({ length: 30 }, () => onA.signToken());
      assert.equal((await poll(first, target)).status, 200);
      const usedAt = Date.now();
      for (const r of await Promise.all(probes.map((p) => poll(first, p)))) assert.equal(r.status, 200);
      let next = 0;
      await waitFor(
        'the second instance refuses a token id the first one used',
        async () => {
          const r = await poll(second, probes[next++]!);
          if (r.status !== 200 && r.status !== 401) throw new Error(JSON.stringify(r.body));
          return r.status === 401 && r.body.code === 'AGENT_JWT_ALREADY_USED';
        },
        { timeoutMs: 3000, intervalMs: 20 },
      );
      const refusedAfterMs = Date.now() - usedAt;
      const replay = await poll(second, target);
      assert.equal(replay.status, 401);
      assert.equal(replay.body.code, 'AGENT_JWT_ALREADY_USED');
      assert.ok(refusedAfterMs < 1000, `a token used on one instance is refused on the other within 1 s (took ${refusedAfterMs} ms)`);
      return refusedAfterMs;
    };
    const aToB = await replayAcross(onA, onB);
    const bToA = await replayAcross(onB, onA);

    // ---- RBAC: a binding created or deleted on A is enforced on B ----
    assert.equal(
      (await call(a.url, 'POST', '/api/v3/users', { token: admin, body: { email: 'ops@example.com', password: PASSWORD, groups: [] } }))
        .status,
      201,
    );
    const first = await login(a.url, 'ops@example.com', PASSWORD);
    assert.equal(
      (
        await call(a.url, 'POST', '/api/v3/user/change-password', {
          token: first.accessToken,
          body: { currentPassword: PASSWORD, newPassword: CHANGED },
        })
      ).status,
      200,
    );
    const ops = await login(a.url, 'ops@example.com', CHANGED);
    const listOnB = async () => (await call(b.url, 'GET', '/api/v3/iofog-list', { token: ops.accessToken })).status;
    const denied = await call(b.url, 'GET', '/api/v3/iofog-list', { token: ops.accessToken });
    assert.equal(denied.status, 403, JSON.stringify(denied.body));
    const role = { name: 'fog-lister', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['list', 'get'] }] };
    assert.equal((await call(a.url, 'POST', '/api/v3/roles', { token: admin, body: role })).status, 201);
    const binding = {
      name: 'ops-lists',
      roleRef: { kind: 'Role', name: 'fog-lister' },
      subjects: [{ kind: 'User', name: 'ops@example.com' }],
    };
    assert.equal((await call(a.url, 'POST', '/api/v3/rolebindings', { token: admin, body: binding })).status, 201);
    let t0 = Date.now();
    await waitFor('B allows what the binding made on A grants', async () => (await listOnB()) === 200, { timeoutMs: 5000 });
    const grantMs = Date.now() - t0;
    assert.equal((await call(a.url, 'DELETE', '/api/v3/rolebindings/ops-lists', { token: admin })).status, 204);
    t0 = Date.now();
    await waitFor('B refuses once the binding is deleted on A', async () => (await listOnB()) === 403, { timeoutMs: 5000 });
    const revokeRoleMs = Date.now() - t0;
    assert.ok(
      grantMs < 2000 && revokeRoleMs < 2000,
      `RBAC changes reach the other instance in about a second (${grantMs}, ${revokeRoleMs} ms)`,
    );

    // ---- logout on A: the refresh token is refused on B at once (it is checked in the database) ----
    const session = await login(b.url, 'ops@example.com', CHANGED);
    assert.equal((await call(a.url, 'POST', '/api/v3/user/logout', { token: session.accessToken })).status, 204);
    const refresh = await call(b.url, 'POST', '/api/v3/user/refresh', { body: { refreshToken: session.refreshToken } });
    assert.equal(refresh.status, 401);
    assert.equal(refresh.body.code, 'REFRESH_TOKEN_INVALID');

    // ---- revocation: deleting the user on A ends their access token on B ----
    const profileOnB = async () => (await call(b.url, 'GET', '/api/v3/user/profile', { token: session.accessToken })).status;
    assert.equal(await profileOnB(), 200);
    const users = (await call(a.url, 'GET', '/api/v3/users', { token: admin })).body;
    const opsId = (users.users ?? users).find((u: { email: string }) => u.email === 'ops@example.com').id;
    assert.equal((await call(a.url, 'DELETE', `/api/v3/users/${opsId}`, { token: admin })).status, 204);
    t0 = Date.now();
    await waitFor('B refuses the deleted user’s access token', async () => (await profileOnB()) === 401, { timeoutMs: 5000 });
    const userRevokeMs = Date.now() - t0;
    assert.ok(userRevokeMs < 2000, `revocation reaches the other instance in about a second (${userRevokeMs} ms)`);

    // ---- signing-key rotation on A: B signs with and publishes the new key ----
    const oldKid = decodeProtectedHeader(admin).kid;
    const rotated = await call(a.url, 'POST', '/api/v3/auth/jwks/rotate', { token: admin });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const newKid = rotated.body.kid as string;
    t0 = Date.now();
    const fromB = await waitFor(
      'B signs with the rotated key',
      async () => {
        const t = (await login(b.url, ADMIN.email, ADMIN.password)).accessToken;
        return decodeProtectedHeader(t).kid === newKid && t;
      },
      { timeoutMs: 5000 },
    );
    const rotateMs = Date.now() - t0;
    const jwksB = (await call(b.url, 'GET', '/oidc/jwks')).body.keys.map((k: { kid: string }) => k.kid);
    assert.deepEqual(new Set(jwksB), new Set([oldKid, newKid]));
    assert.equal((await call(a.url, 'GET', '/api/v3/iofog-list', { token: fromB })).status, 200, 'A accepts what B signs with the new key');
    assert.equal((await call(b.url, 'GET', '/api/v3/iofog-list', { token: admin })).status, 200, 'the previous key is still accepted');
    console.log(
      JSON.stringify({ jtiAtoBMs: aToB, jtiBtoAMs: bToA, rbacGrantMs: grantMs, rbacRevokeMs: revokeRoleMs, userRevokeMs, rotateMs }),
    );
    onA.close();
    onB.close();
  } finally {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
