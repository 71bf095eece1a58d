import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { SignJWT, importJWK, type JWK } from 'jose';
import { makeTestApp, type TestApp } from '../harness/app';
import { ManualClock } from '../../src/lib/clock';
import { authSigningKey } from '../../db/schema/index';

/** Signs arbitrary claims with the Controller's own active key: the tokens a signer bug or a careless tool could mint. */
async function signWithRing(t: TestApp, claims: Record<string, unknown>, set: { iat?: number; exp?: number }): Promise<string> {
  const [row] = await t.ctx.store.db.select().from(authSigningKey).where(eq(authSigningKey.active, true)).limit(1);
  const priv = JSON.parse(await t.ctx.vault.decrypt(row!.privateJwkEnc, `signing-key:${row!.kid}`)) as JWK;
  const key = await importJWK(priv, row!.alg);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: row!.alg, kid: row!.kid, typ: 'at+jwt' })
    .setIssuer(t.ctx.config.issuer)
    .setAudience(t.ctx.config.clientId)
    .setJti(crypto.randomUUID());
  if (set.iat !== undefined) jwt = jwt.setIssuedAt(set.iat);
  if (set.exp !== undefined) jwt = jwt.setExpirationTime(set.exp);
  return jwt.sign(key);
}

test('access tokens without exp, or issued in the future beyond the clock tolerance, are refused', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const admin = await t.login();
    const { sub } = JSON.parse(Buffer.from(admin.accessToken.split('.')[1]!, 'base64url').toString()) as { sub: string };
    const claims = { sub, token_use: 'access', preferred_username: 'admin@example.com', groups: ['admin'] };
    const now = Math.floor(clock.now() / 1000);
    // The control: the same claims with a sane iat/exp work, so the refusals below are about iat/exp only.
    const good = await signWithRing(t, claims, { iat: now, exp: now + 600 });
    assert.equal((await t.call('GET', '/api/v3/users', { token: good })).status, 200);
    const skewed = await signWithRing(t, claims, { iat: now + 4, exp: now + 600 });
    assert.equal((await t.call('GET', '/api/v3/users', { token: skewed })).status, 200, 'iat within the tolerance');

    const noExp = await signWithRing(t, claims, { iat: now });
    const r1 = await t.call('GET', '/api/v3/users', { token: noExp });
    assert.equal(r1.status, 401);
    assert.equal(r1.body.code, 'AUTH_TOKEN_INVALID');
    const future = await signWithRing(t, claims, { iat: now + 3600, exp: now + 7200 });
    const r2 = await t.call('GET', '/api/v3/users', { token: future });
    assert.equal(r2.status, 401);
    assert.equal(r2.body.code, 'AUTH_TOKEN_INVALID');
    const noIat = await signWithRing(t, claims, { exp: now + 600 });
    assert.equal((await t.call('GET', '/api/v3/users', { token: noIat })).status, 401);
  } finally {
    await t.close();
  }
});

test('/oidc/jwks drops a retired key once its retention has passed', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const admin = (await t.login()).accessToken;
    const before = await t.call('GET', '/oidc/jwks');
    const oldKid = before.body.keys[0].kid as string;
    const rot = await t.call('POST', '/api/v3/auth/jwks/rotate', { token: admin });
    assert.equal(rot.status, 200);
    const kids = async () => (await t.call('GET', '/oidc/jwks')).body.keys.map((k: { kid: string }) => k.kid).sort();
    assert.deepEqual(await kids(), [oldKid, rot.body.kid].sort());
    const retainMs = Math.max(t.ctx.config.accessTokenTtlSec, t.ctx.config.refreshTokenTtlSec) * 1000;
    clock.advance(retainMs - 1000);
    assert.deepEqual(await kids(), [oldKid, rot.body.kid].sort(), 'still inside the retention');
    clock.advance(2000);
    assert.deepEqual(await kids(), [rot.body.kid], 'retention passed: only the active key');
  } finally {
    await t.close();
  }
});

test('routes that hand out credentials need a write verb: a viewer gets 403, an admin the credential', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer');
    const as = (token: string, method: string, path: string, body?: unknown) => t.call(method, path, { token, body });
    const fog = await as(admin, 'POST', '/api/v3/iofog', { name: 'edge-1', archId: 1, routerMode: 'none', natsMode: 'none' });
    assert.equal(fog.status, 201, JSON.stringify(fog.body));
    assert.equal((await as(admin, 'POST', '/api/v3/secrets', { name: 'db-pass', type: 'Opaque', data: { password: 'hunter2' } })).status, 201);
    assert.equal((await as(admin, 'POST', '/api/v3/certificates/ca', { name: 'edge-ca', type: 'self-signed', subject: 'Edge Root', expiration: 24 })).status, 201);
    const leaf = await as(admin, 'POST', '/api/v3/certificates', { name: 'edge-leaf', subject: 'edge', hosts: 'edge.example', ca: { type: 'direct', secretName: 'edge-ca' } });
    assert.equal(leaf.status, 201, JSON.stringify(leaf.body));
    assert.equal((await as(admin, 'POST', '/api/v3/application', { name: 'plant', isActivated: false, microservices: [] })).status, 201);
    assert.equal((await as(admin, 'POST', '/api/v3/nats/accounts/plant', {})).status, 201);
    const natsUser = await as(admin, 'POST', '/api/v3/nats/accounts/plant/users', { name: 'probe' });
    assert.equal(natsUser.status, 201, JSON.stringify(natsUser.body));

    const cases: Array<[string, (body: any) => void]> = [
      [`/api/v3/iofog/${fog.body.uuid}/provisioning-key`, (b) => assert.ok(b.key)],
      ['/api/v3/nats/accounts/plant/users/probe/creds', (b) => assert.match(atob(b.credsBase64), /NATS USER JWT/)],
      ['/api/v3/secrets/db-pass', (b) => assert.equal(b.data.password, 'hunter2')],
      ['/api/v3/certificates/ca/edge-ca', (b) => assert.match(b.data.private_key, /PRIVATE KEY/)],
      ['/api/v3/certificates/edge-leaf', (b) => assert.match(b.data.private_key, /PRIVATE KEY/)],
    ];
    for (const [path, check] of cases) {
      const denied = await as(viewer, 'GET', path);
      assert.equal(denied.status, 403, `viewer on ${path}: ${JSON.stringify(denied.body)}`);
      assert.equal(denied.body.code, 'FORBIDDEN');
      assert.match(denied.body.message, /:patch/);
      const ok = await as(admin, 'GET', path);
      assert.ok(ok.status === 200 || ok.status === 201, `admin on ${path}: ${ok.status} ${JSON.stringify(ok.body)}`);
      check(ok.body);
    }
    // What stays readable: the lists and the fog itself.
    assert.equal((await as(viewer, 'GET', '/api/v3/secrets')).status, 200);
    assert.equal((await as(viewer, 'GET', '/api/v3/certificates')).status, 200);
    assert.equal((await as(viewer, 'GET', `/api/v3/iofog/${fog.body.uuid}`)).status, 200);
  } finally {
    await t.close();
  }
});
