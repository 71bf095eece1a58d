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
