// The NATS trust chain against a real nats-server (apt `nats-server`) in operator mode: the server is
// configured from the Controller's API (operator JWT, system account, every account JWT preloaded), and
// clients connect with creds downloaded from GET /api/v3/nats/accounts/:app/users/:user/creds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startController } from '../harness/process';
import { natsSkip, startNats } from '../harness/nats';
import { connectWithCreds, operatorModeConfig } from '../harness/nats-client';
import { waitFor } from '../harness/wait';

test('NATS: rules decide what users may publish and subscribe; accounts isolate; a deleted user is refused after the bundle update', {
  timeout: 90_000,
  skip: natsSkip,
}, async () => {
  const ctl = await startController();
  let nats: Awaited<ReturnType<typeof startNats>> | undefined;
  const conns: Array<{ close(): Promise<void> }> = [];
  try {
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(ctl.url + path, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const t = await res.text();
      return { status: res.status, body: t ? JSON.parse(t) : undefined };
    };
    const admin = (await call('POST', '/api/v3/user/login', ADMIN)).body.accessToken as string;
    const api = (method: string, path: string, body?: unknown) => call(method, path, body, admin);

    for (const name of ['plant', 'other'])
      assert.equal((await api('POST', '/api/v3/application', { name, isActivated: true, microservices: [] })).status, 201);
    const op = await api('GET', '/api/v3/nats/operator');
    assert.equal(op.status, 200);
    assert.equal(op.body.name, 'iofog-operator');
    assert.match(op.body.publicKey, /^O[A-Z2-7]{55}$/);
    const enabled = await api('POST', '/api/v3/nats/accounts/plant');
    assert.equal(enabled.status, 201, JSON.stringify(enabled.body));
    assert.match(enabled.body.publicKey, /^A[A-Z2-7]{55}$/);
    assert.equal(enabled.body.natsRule, 'default-account');
    assert.equal((await api('POST', '/api/v3/nats/accounts/plant')).status, 400, 'already enabled');
    assert.equal((await api('POST', '/api/v3/nats/accounts/ghost')).status, 404);
    assert.equal((await api('POST', '/api/v3/nats/accounts/other', { natsRule: 'no-such-rule' })).status, 400);
    assert.equal((await api('POST', '/api/v3/nats/accounts/other')).status, 201);

    // Rules: predefined ones are listed and protected; a custom rule limits subjects.
    const userRules = (await api('GET', '/api/v3/nats/user-rules')).body.rules.map((r: { name: string }) => r.name);
    assert.deepEqual(userRules, ['default-user', 'default-mqtt-user', 'default-leaf-user', 'controller-user']);
    assert.equal((await api('PATCH', '/api/v3/nats/user-rules/default-user', { maxSubscriptions: 1 })).status, 400);
    assert.equal((await api('DELETE', '/api/v3/nats/account-rules/default-account')).status, 400);
    const latin = await api('POST', '/api/v3/nats/user-rules', { name: 'bad', description: 'température ✓' });
    assert.equal(latin.status, 400);
    assert.match(latin.body.message, /^description: must contain Latin-1 characters only/);
    const rule = await api('POST', '/api/v3/nats/user-rules', {
      name: 'sensors-only',
      allowedConnectionTypes: ['STANDARD', 'WEBSOCKET'],
      pubAllow: ['sensors.>'],
      subAllow: ['sensors.>', '_INBOX.>'],
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    assert.equal((await api('POST', '/api/v3/nats/user-rules', { name: 'sensors-only' })).status, 409);
    assert.equal((await api('POST', '/api/v3/nats/user-rules', { name: 'x', maxPayload: '12q' })).status, 400);

    // Users.
    const alice = await api('POST', '/api/v3/nats/accounts/plant/users', { name: 'alice', natsRule: 'sensors-only' });
    assert.equal(alice.status, 201, JSON.stringify(alice.body));
    assert.match(alice.body.publicKey, /^U[A-Z2-7]{55}$/);
    assert.equal((await api('POST', '/api/v3/nats/accounts/plant/users', { name: 'bob', expiresIn: '30d' })).status, 201);
    assert.equal((await api('POST', '/api/v3/nats/accounts/other/users', { name: 'eve' })).status, 201);
    assert.equal((await api('POST', '/api/v3/nats/accounts/plant/users', { name: 'bob' })).status, 409);
    assert.equal((await api('POST', '/api/v3/nats/accounts/plant/users', { name: 'zed', expiresIn: '2y' })).status, 400);
    assert.equal((await api('POST', '/api/v3/nats/accounts/plant/users', { name: 'zed', extra: true })).status, 400, 'strict body');
    assert.equal(
      (await api('POST', '/api/v3/nats/accounts/SYS/users', { name: 'intruder' })).status,
      400,
      'system accounts are not for users',
    );
    const bearer = await api('POST', '/api/v3/nats/accounts/plant/mqtt-bearer', { name: 'meter' });
    assert.equal(bearer.status, 201);
    assert.equal(bearer.body.isBearer, true);
    assert.equal((await api('GET', '/api/v3/nats/accounts/plant/users/meter/creds')).status, 404, 'bearer users have a JWT only');
    const all = (await api('GET', '/api/v3/nats/users')).body.users;
    assert.deepEqual(
      all.map((u: { accountName: string; name: string }) => `${u.accountName}/${u.name}`),
      ['plant/alice', 'plant/bob', 'other/eve', 'plant/meter'],
    );
    assert.equal(all[0].applicationName, 'plant');
    const creds = async (app: string, user: string) => {
      const r = await api('GET', `/api/v3/nats/accounts/${app}/users/${user}/creds`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const text = atob(r.body.credsBase64);
      assert.match(text, /-----BEGIN NATS USER JWT-----/);
      assert.match(text, /-----BEGIN USER NKEY SEED-----\n\s*SU/);
      return text;
    };
    const [aliceCreds, bobCreds, eveCreds] = [await creds('plant', 'alice'), await creds('plant', 'bob'), await creds('other', 'eve')];

    // A real server configured from the Controller.
    nats = await startNats({ extraConfig: await operatorModeConfig(api) });
    const a = await connectWithCreds(nats.wsUrl, aliceCreds, 'alice');
    const b = await connectWithCreds(nats.wsUrl, bobCreds, 'bob');
    const e = await connectWithCreds(nats.wsUrl, eveCreds, 'eve');
    conns.push(a, b, e);
    const got: string[] = [];
    const eveGot: string[] = [];
    a.subscribe('sensors.temp', { callback: (_err, m) => void got.push(m.string()) });
    e.subscribe('sensors.temp', { callback: (_err, m) => void eveGot.push(m.string()) });
    await a.flush();
    await e.flush();
    b.publish('sensors.temp', '21.5');
    await b.flush();
    await waitFor('alice to receive the reading', () => got.length > 0);
    assert.deepEqual(got, ['21.5'], 'allowed by the rule');
    // The server queued the message for every matching subscriber before alice got it; a round trip on eve's
    // connection after that brings anything queued for her ahead of the PONG.
    await e.flush();
    assert.deepEqual(eveGot, [], 'another account does not see the traffic');

    // Denied subject: the server answers with a permission violation.
    const errors: string[] = [];
    void (async () => {
      for await (const s of a.status()) if (s.type === 'error') errors.push(String((s as { error?: unknown }).error));
    })();
    a.publish('admin.reboot', 'x');
    await a.flush().catch(() => {});
    const denied = a.subscribe('admin.>');
    const subErr = await (async () => {
      try {
        for await (const _m of denied) break;
        return 'no error';
      } catch (err) {
        return String(err);
      }
    })();
    await waitFor('a permissions violation', () => /[Pp]ermissions? [Vv]iolation/.test(subErr + errors.join(' '))).catch(() => {});
    assert.match(subErr + errors.join(' '), /[Pp]ermissions? [Vv]iolation/);

    // Delete bob: revoked on the plant account; after the bundle update his creds no longer connect.
    assert.equal((await api('DELETE', '/api/v3/nats/accounts/plant/users/bob')).status, 204);
    assert.equal((await api('DELETE', '/api/v3/nats/accounts/plant/users/bob')).status, 404);
    assert.equal((await api('GET', '/api/v3/nats/accounts/plant/users/bob/creds')).status, 404);
    assert.equal((await api('DELETE', '/api/v3/nats/accounts/plant/users/meter')).status, 400, 'a bearer user is deleted on its own path');
    assert.equal((await api('DELETE', '/api/v3/nats/accounts/plant/mqtt-bearer/meter')).status, 204);
    for (const c of conns.splice(0)) await c.close().catch(() => {});
    await nats.stop();
    nats.setExtraConfig(await operatorModeConfig(api));
    await nats.restart();
    const refused = await connectWithCreds(nats.wsUrl, bobCreds, 'bob-again').then(
      (c) => {
        conns.push(c);
        return 'connected';
      },
      (err: unknown) => String(err),
    );
    assert.match(refused, /[Aa]uthorization|[Aa]uthentication|revoked/, refused);
    const aliceAgain = await connectWithCreds(nats.wsUrl, aliceCreds, 'alice-again');
    conns.push(aliceAgain);
    await aliceAgain.flush();

    // A rule change re-issues its users: alice may now publish to metrics.> too.
    const patched = await api('PATCH', '/api/v3/nats/user-rules/sensors-only', { pubAllow: ['sensors.>', 'metrics.>'] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const users = (await api('GET', '/api/v3/nats/accounts/plant/users')).body.users;
    const jwt = users.find((u: { name: string }) => u.name === 'alice').jwt as string;
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(claims.nats.pub.allow, ['sensors.>', 'metrics.>']);
    assert.equal(claims.sub, alice.body.publicKey, 'the user keeps its key');

    // Rules from YAML.
    const upload = async (method: string, path: string, field: string, yaml: string) => {
      const form = new FormData();
      form.append(field, new Blob([yaml], { type: 'application/yaml' }), 'rule.yaml');
      const res = await fetch(ctl.url + path, { method, headers: { authorization: `Bearer ${admin}` }, body: form });
      return { status: res.status, body: await res.json() };
    };
    const yRule = await upload(
      'POST',
      '/api/v3/nats/user-rules/yaml',
      'natsUserRule',
      'apiVersion: iofog.org/v3\nkind: NatsUserRule\nmetadata: { name: from-yaml }\nspec: { pubAllow: [a.>], maxPayload: 64k }\n',
    );
    assert.equal(yRule.status, 201, JSON.stringify(yRule.body));
    assert.equal(yRule.body.maxPayload, '64k');
    const yPatch = await upload(
      'PATCH',
      '/api/v3/nats/user-rules/yaml/from-yaml',
      'natsUserRule',
      'apiVersion: iofog.org/v3\nkind: NatsUserRule\nmetadata: { name: from-yaml }\nspec: { pubAllow: [b.>] }\n',
    );
    assert.equal(yPatch.status, 200, JSON.stringify(yPatch.body));
    assert.deepEqual(yPatch.body.pubAllow, ['b.>']);
    const yWrong = await upload(
      'PATCH',
      '/api/v3/nats/user-rules/yaml/from-yaml',
      'natsUserRule',
      'apiVersion: iofog.org/v3\nkind: NatsUserRule\nmetadata: { name: other }\nspec: {}\n',
    );
    assert.equal(yWrong.status, 400);
    const yBadField = await upload(
      'POST',
      '/api/v3/nats/account-rules/yaml',
      'natsAccountRule',
      'apiVersion: iofog.org/v3\nkind: NatsAccountRule\nmetadata: { name: acct }\nspec: { maxConnections: -5 }\n',
    );
    assert.equal(yBadField.status, 400);
    assert.match(yBadField.body.message, /^spec\.maxConnections/);
    assert.equal(
      (
        await upload(
          'POST',
          '/api/v3/nats/account-rules/yaml',
          'natsAccountRule',
          'apiVersion: iofog.org/v3\nkind: NatsAccountRule\nmetadata: { name: acct }\nspec: { maxConnections: 10 }\n',
        )
      ).status,
      201,
    );

    // Operator rotation: new operator key; accounts re-signed (revocations kept); user creds stay valid.
    const rotated = await api('POST', '/api/v3/nats/operator/rotate');
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.publicKey, op.body.publicKey);
    const plant = (await api('GET', '/api/v3/nats/accounts/plant')).body;
    const plantClaims = JSON.parse(Buffer.from(plant.jwt.split('.')[1], 'base64url').toString());
    assert.equal(plantClaims.iss, rotated.body.publicKey, 'signed by the new operator');
    assert.ok(Object.keys(plantClaims.nats.revocations ?? {}).length >= 1, "bob's revocation survives");
    for (const c of conns.splice(0)) await c.close().catch(() => {});
    await nats.stop();
    nats.setExtraConfig(await operatorModeConfig(api));
    await nats.restart();
    const afterRotation = await connectWithCreds(nats.wsUrl, aliceCreds, 'alice-rotated');
    conns.push(afterRotation);
    await afterRotation.flush();
    const bobAfter = await connectWithCreds(nats.wsUrl, bobCreds, 'bob-rotated').then(
      (c) => {
        conns.push(c);
        return 'connected';
      },
      (err: unknown) => String(err),
    );
    assert.notEqual(bobAfter, 'connected', 'still revoked');
  } finally {
    for (const c of conns) await c.close().catch(() => {});
    await nats?.stop();
    await ctl.stop('SIGKILL');
  }
});
