import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { SignJWT, decodeJwt, importJWK, type JWK } from 'jose';
import { ADMIN, CHANGED_PASSWORD, USER_PASSWORD, makeTestApp, type TestApp } from '../harness/app';
import { ManualClock } from '../../src/lib/clock';
import { authSigningKey } from '../../db/schema/index';
import { TokenGenerationCache } from '../../src/services/auth/token-generation';

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
    assert.equal(
      (await as(admin, 'POST', '/api/v3/secrets', { name: 'db-pass', type: 'Opaque', data: { password: 'hunter2' } })).status,
      201,
    );
    assert.equal(
      (await as(admin, 'POST', '/api/v3/certificates/ca', { name: 'edge-ca', type: 'self-signed', subject: 'Edge Root', expiration: 24 }))
        .status,
      201,
    );
    const leaf = await as(admin, 'POST', '/api/v3/certificates', {
      name: 'edge-leaf',
      subject: 'edge',
      hosts: 'edge.example',
      ca: { type: 'direct', secretName: 'edge-ca' },
    });
    assert.equal(leaf.status, 201, JSON.stringify(leaf.body));
    assert.equal((await as(admin, 'POST', '/api/v3/application', { name: 'plant', isActivated: false, microservices: [] })).status, 201);
    assert.equal((await as(admin, 'POST', '/api/v3/nats/accounts/plant', {})).status, 201);
    const natsUser = await as(admin, 'POST', '/api/v3/nats/accounts/plant/users', { name: 'probe' });
    assert.equal(natsUser.status, 201, JSON.stringify(natsUser.body));

    const cases: Array<[string, (body: any) => void]> = [
      [`/api/v3/iofog/${fog.body.uuid}/provisioning-key`, (b) => assert.ok(b.key)],
      ['/api/v3/nats/accounts/plant/users/probe/creds', (b) => assert.match(atob(b.credsBase64), /NATS USER JWT/)],
      ['/api/v3/secrets/db-pass', (b) => assert.equal(b.data.password, 'hunter2')],
      ['/api/v3/certificates/ca/edge-ca', (b) => assert.match(b.data.privateKey, /PRIVATE KEY/)],
      ['/api/v3/certificates/edge-leaf', (b) => assert.match(b.data.privateKey, /PRIVATE KEY/)],
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

test('every credential failure runs one Argon2 verify: unknown, deleted and locked users as much as a wrong password', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const admin = (await t.login()).accessToken;
    const gone = await t.call('POST', '/api/v3/users', { token: admin, body: { email: 'gone@example.com', password: USER_PASSWORD } });
    assert.equal((await t.call('DELETE', `/api/v3/users/${gone.body.id}`, { token: admin })).status, 204);
    const real = t.ctx.passwords.verify;
    let hashes = 0;
    t.ctx.passwords.verify = async (password, encoded) => {
      hashes++;
      return real(password, encoded);
    };
    const attempt = async (email: string, password: string) => {
      const before = hashes;
      const r = await t.call('POST', '/api/v3/user/login', { body: { email, password }, ip: '198.51.100.7' });
      return { status: r.status, body: r.body, hashes: hashes - before };
    };
    const wrong = await attempt(ADMIN.email, 'Wrong-Passw0rd-9');
    assert.deepEqual([wrong.status, wrong.hashes], [401, 1]);
    assert.deepEqual([(await attempt('nobody@example.com', 'Whatever-123')).hashes], [1], 'unknown user');
    assert.deepEqual([(await attempt('gone@example.com', USER_PASSWORD)).hashes], [1], 'deleted user');
    for (let i = 0; i < 4; i++) await attempt(ADMIN.email, 'Wrong-Passw0rd-9');
    const locked = await attempt(ADMIN.email, ADMIN.password);
    assert.equal(locked.status, 401, 'the locked address is refused even with the right password');
    assert.equal(locked.hashes, 1, 'a locked account still does the Argon2 work');
    assert.deepEqual({ ...locked.body, requestId: '' }, { ...wrong.body, requestId: '' }, 'and answers exactly like a wrong password');
  } finally {
    await t.close();
  }
});

test('lockout is per account and client address: an attacker locks only their own address', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const login = (password: string, ip: string) => t.call('POST', '/api/v3/user/login', { body: { email: ADMIN.email, password }, ip });
    const attacker = '203.0.113.66';
    for (let i = 0; i < 5; i++) assert.equal((await login('Wrong-Passw0rd-9', attacker)).status, 401);
    assert.equal((await login(ADMIN.password, attacker)).status, 401, 'the attacker address is locked');
    // The owner, from their own address, is not affected; nor is the count shared.
    assert.equal((await login(ADMIN.password, '10.0.0.1')).status, 200, 'the admin from another address still logs in');
    assert.equal((await login(ADMIN.password, attacker)).status, 401, 'a success elsewhere does not unlock the attacker');
    clock.advance(15 * 60_000 + 1000);
    assert.equal((await login(ADMIN.password, attacker)).status, 200, 'the lock ends after 15 minutes');

    // A new password (here the owner's own change) clears every address's lock.
    for (let i = 0; i < 5; i++) await login('Wrong-Passw0rd-9', attacker);
    assert.equal((await login(ADMIN.password, attacker)).status, 401);
    const token = (await t.login()).accessToken;
    const changed = await t.call('POST', '/api/v3/user/change-password', {
      token,
      body: { currentPassword: ADMIN.password, newPassword: CHANGED_PASSWORD },
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await login(CHANGED_PASSWORD, attacker)).status, 200);
  } finally {
    await t.close();
  }
});

test('access tokens die with their user: delete, password change (own or reset), group change, group rename and delete', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const idOf = async (token: string) => (await t.call('GET', '/api/v3/user/profile', { token })).body.sub as string;
    const works = async (token: string) => (await t.call('GET', '/api/v3/iofog-list', { token })).status;
    const revoked = async (token: string, why: string) => {
      const r = await t.call('GET', '/api/v3/iofog-list', { token });
      assert.equal(r.status, 401, `${why}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'AUTH_TOKEN_INVALID');
      assert.match(r.body.message, /revoked/);
    };

    // Delete.
    const doomed = await t.userToken('viewer', 'doomed@example.com');
    assert.equal(await works(doomed), 200);
    assert.equal((await t.call('DELETE', `/api/v3/users/${await idOf(doomed)}`, { token: admin })).status, 204);
    await revoked(doomed, 'deleted user');

    // Own password change: the token used for it and every other one.
    const self = await t.userToken('viewer', 'self@example.com');
    const other = (await t.login('self@example.com', CHANGED_PASSWORD)).accessToken;
    const change = await t.call('POST', '/api/v3/user/change-password', {
      token: self,
      body: { currentPassword: CHANGED_PASSWORD, newPassword: 'Third-Passw0rd-3' },
    });
    assert.equal(change.status, 200, JSON.stringify(change.body));
    await revoked(other, 'own password change');
    const fresh = (await t.login('self@example.com', 'Third-Passw0rd-3')).accessToken;
    assert.equal(await works(fresh), 200, 'a token signed after the change works');

    // Admin reset.
    const reset = await t.call('POST', `/api/v3/users/${await idOf(fresh)}/reset-password`, { token: admin });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    await revoked(fresh, 'admin password reset');

    // Group change (demotion): the token would otherwise keep its admin rights for 15 minutes.
    const demoted = await t.userToken('admin', 'demoted@example.com');
    assert.equal((await t.call('GET', '/api/v3/users', { token: demoted })).status, 200);
    const patched = await t.call('PATCH', `/api/v3/users/${await idOf(demoted)}`, { token: admin, body: { groups: ['viewer'] } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await revoked(demoted, 'group change');

    // A custom group renamed or deleted: its members' tokens name it.
    assert.equal((await t.call('POST', '/api/v3/groups', { token: admin, body: { name: 'ops' } })).status, 201);
    const member = await t.userToken('ops', 'member@example.com');
    assert.equal((await t.call('GET', '/api/v3/user/profile', { token: member })).status, 200);
    assert.equal((await t.call('PATCH', '/api/v3/groups/ops', { token: admin, body: { name: 'ops2' } })).status, 200);
    assert.equal((await t.call('GET', '/api/v3/user/profile', { token: member })).status, 401, 'group renamed');
    const member2 = (await t.login('member@example.com', CHANGED_PASSWORD)).accessToken;
    assert.equal((await t.call('GET', '/api/v3/user/profile', { token: member2 })).status, 200);
    assert.equal((await t.call('DELETE', '/api/v3/groups/ops2', { token: admin })).status, 204);
    assert.equal((await t.call('GET', '/api/v3/user/profile', { token: member2 })).status, 401, 'group deleted');

    // Untouched users keep working.
    assert.equal(await works(admin), 200);
  } finally {
    await t.close();
  }
});

test('another instance learns of a revocation within its check interval', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const admin = (await t.login()).accessToken;
    const user = await t.userToken('viewer', 'far@example.com');
    const id = (await t.call('GET', '/api/v3/user/profile', { token: user })).body.sub as string;
    // A second cache on the same database stands for another Controller process.
    const elsewhere = new TokenGenerationCache(1000);
    const gen = (decodeJwt(user) as { gen: number }).gen;
    assert.equal(await elsewhere.accepts(t.ctx, id, gen), true);
    assert.equal((await t.call('DELETE', `/api/v3/users/${id}`, { token: admin })).status, 204);
    assert.equal(await elsewhere.accepts(t.ctx, id, gen), true, 'within the interval the other instance has not looked yet');
    clock.advance(1001);
    assert.equal(await elsewhere.accepts(t.ctx, id, gen), false, 'after it, it has');
  } finally {
    await t.close();
  }
});

test('one name rule: NUL, ESC, CR/LF, lone surrogates and path parts are refused with 400 naming the field, JSON and YAML', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    assert.equal(
      (await t.call('POST', '/api/v3/application', { token: admin, body: { name: 'plant', isActivated: false, microservices: [] } }))
        .status,
      201,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      201,
    );
    const BAD: Record<string, string> = {
      NUL: 'a\u0000b',
      ESC: 'a\u001b[31mb',
      'CR/LF': 'a\r\nb',
      'lone surrogate': 'a\ud800b',
      '../': '../etc',
      '..': '..',
    };
    const resources: Record<string, (n: string) => [string, string, unknown]> = {
      fog: (n) => ['POST', '/api/v3/iofog', { name: n, archId: 1, routerMode: 'none', natsMode: 'none' }],
      'fog rename': (n) => ['PATCH', '/api/v3/iofog/00000000-0000-0000-0000-000000000000', { name: n }],
      application: (n) => ['POST', '/api/v3/application', { name: n, isActivated: false, microservices: [] }],
      microservice: (n) => [
        'POST',
        '/api/v3/microservices',
        { name: n, application: 'plant', agentName: 'edge', images: [{ containerImage: 'i', archId: 1 }] },
      ],
      'NATS account rule': (n) => ['POST', '/api/v3/nats/account-rules', { name: n }],
      'NATS user rule': (n) => ['POST', '/api/v3/nats/user-rules', { name: n }],
      'config map': (n) => ['POST', '/api/v3/configmaps', { name: n, data: {} }],
      'catalog item': (n) => [
        'POST',
        '/api/v3/catalog/microservices',
        { name: n, registryId: 1, images: [{ containerImage: 'i', archId: 1 }] },
      ],
    };
    for (const [what, make] of Object.entries(resources)) {
      for (const [label, name] of Object.entries(BAD)) {
        const [method, path, body] = make(name);
        const r = await t.call(method, path, { token: admin, body });
        assert.equal(r.status, 400, `${what} with ${label}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.code, 'VALIDATION_FAILED');
        assert.match(r.body.message, /^name: /, `${what} with ${label} names the field: ${r.body.message}`);
      }
    }
    const nulFog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge\u0000hidden', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    assert.match(nulFog.body.message, /control/);
    // Names upstream accepts stay accepted: spaces and non-ASCII inside a fog name, dots in a rule name.
    assert.equal(
      (
        await t.call('POST', '/api/v3/iofog', {
          token: admin,
          body: { name: 'Edge Lisboa nº 2 ✓', archId: 1, routerMode: 'none', natsMode: 'none' },
        })
      ).status,
      201,
    );
    assert.equal((await t.call('POST', '/api/v3/nats/account-rules', { token: admin, body: { name: 'rule.v2..x' } })).status, 201);

    // YAML documents go through the same rule, and the message names the YAML field.
    for (const [label, name] of Object.entries(BAD)) {
      const quoted = JSON.stringify(name);
      const app = await t.upload(
        'POST',
        '/api/v3/application/yaml',
        'application',
        `apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: ${quoted} }\nspec: { microservices: [] }`,
        admin,
      );
      assert.equal(app.status, 400, `YAML application with ${label}: ${JSON.stringify(app.body)}`);
      assert.match(app.body.message, /^metadata\.name: /);
      const rule = await t.upload(
        'POST',
        '/api/v3/nats/account-rules/yaml',
        'natsAccountRule',
        `apiVersion: iofog.org/v3\nkind: NatsAccountRule\nmetadata: { name: ${quoted} }\nspec: {}`,
        admin,
      );
      assert.equal(rule.status, 400, `YAML NATS rule with ${label}: ${JSON.stringify(rule.body)}`);
      assert.match(rule.body.message, /^metadata\.name: /);
    }
    // Nothing of the above was stored.
    const fogs = (await t.call('GET', '/api/v3/iofog-list', { token: admin })).body.fogs.map((f: { name: string }) => f.name).sort();
    assert.deepEqual(fogs, ['Edge Lisboa nº 2 ✓', 'edge']);
  } finally {
    await t.close();
  }
});
