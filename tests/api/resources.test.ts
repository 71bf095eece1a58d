import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../harness/app';
import { sqliteOnly } from '../harness/postgres';
import { AgentSigner } from '../harness/agent-token';
import { waitFor } from '../harness/wait';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A provisioned fog with a signed-request helper and change-flag read/acknowledge. */
async function agentFor(t: TestApp, admin: string, name: string) {
  const fog = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name, archId: 1, routerMode: 'none', natsMode: 'none' } });
  const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
  const agent = await AgentSigner.fromProvision(
    (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } })).body,
  );
  const call = async (method: string, path: string, body?: unknown) =>
    t.call(method, `/api/v3/agent${path}`, { token: await agent.token(), body });
  const changes = async () => (await call('GET', '/config/changes')).body;
  const ack = async () => {
    const c = await changes();
    await call('PATCH', '/config/changes', { lastUpdated: c.lastUpdated });
    return c;
  };
  await ack();
  return { uuid: fog.body.uuid as string, call, changes, ack };
}

test('secrets: CRUD, encrypted at rest, values only on get, tls base64, type kept, YAML, RBAC', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer');
    const developer = await t.userToken('developer');
    const created = await t.call('POST', '/api/v3/secrets', {
      token: developer,
      body: { name: 'acme-creds', type: 'Opaque', data: { token: 's3cr3t-value', user: 'bot' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.data, { token: 's3cr3t-value', user: 'bot' });
    assert.ok(created.body.created_at && created.body.updated_at);
    const raw = await t.ctx.store.raw.execute('SELECT * FROM secret');
    assert.ok(!JSON.stringify(raw.rows).includes('s3cr3t-value'), 'values are not stored in clear');

    const list = await t.call('GET', '/api/v3/secrets', { token: viewer });
    assert.deepEqual(
      list.body.secrets.map((s: any) => [s.name, s.type]),
      [['acme-creds', 'Opaque']],
    );
    assert.ok(!JSON.stringify(list.body).includes('s3cr3t'), 'lists never carry values');
    // Reading the values is a credential hand-out: secrets:patch, which a viewer lacks.
    assert.equal((await t.call('GET', '/api/v3/secrets/acme-creds', { token: viewer })).status, 403);
    assert.equal((await t.call('GET', '/api/v3/secrets/acme-creds', { token: admin })).body.data.token, 's3cr3t-value');
    assert.equal((await t.call('GET', '/api/v3/secrets/nope', { token: admin })).status, 404);
    assert.equal((await t.call('POST', '/api/v3/secrets', { token: viewer, body: { name: 'x', type: 'Opaque', data: {} } })).status, 403);
    assert.equal(
      (await t.call('POST', '/api/v3/secrets', { token: developer, body: { name: 'acme-creds', type: 'Opaque', data: {} } })).status,
      409,
    );

    for (const [body, pattern] of [
      [{ name: 'bad name!', type: 'Opaque', data: {} }, /^name: /],
      [{ name: 'x', type: 'Secret', data: {} }, /^type: /],
      [{ name: 'x', type: 'Opaque', data: { 'bad/key': 'v' } }, /^data\.bad\/key: keys must be/],
      [{ name: 'x', type: 'Opaque', data: { k: 1 } }, /^data\.k: /],
      [{ name: 'x', type: 'Opaque', data: {}, extra: 1 }, /extra/],
      [{ name: 'tls-1', type: 'tls', data: { 'tls.crt': b64('cert'), 'tls.key': 'not base64!' } }, /not base64: tls\.key$/],
    ] as const) {
      const r = await t.call('POST', '/api/v3/secrets', { token: developer, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.message, pattern, r.body.message);
    }

    const tls = await t.call('POST', '/api/v3/secrets', {
      token: developer,
      body: { name: 'tls-1', type: 'tls', data: { 'tls.crt': b64('cert'), 'tls.key': b64('key') } },
    });
    assert.equal(tls.status, 201);
    // PATCH without type keeps it; another type is refused.
    const patched = await t.call('PATCH', '/api/v3/secrets/tls-1', { token: developer, body: { data: { 'tls.crt': b64('cert2') } } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.type, 'tls');
    assert.deepEqual(patched.body.data, { 'tls.crt': b64('cert2') });
    const retype = await t.call('PATCH', '/api/v3/secrets/tls-1', { token: developer, body: { type: 'Opaque', data: {} } });
    assert.equal(retype.status, 400);
    assert.match(retype.body.message, /^type: /);
    assert.equal((await t.call('PATCH', '/api/v3/secrets/tls-1', { token: developer, body: { data: { 'tls.crt': '%%%' } } })).status, 400);
    assert.equal((await t.call('PATCH', '/api/v3/secrets/nope', { token: developer, body: { data: {} } })).status, 404);

    // YAML: type in spec (or top level), data top level.
    const doc = (name: string, extra = '') =>
      `apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: ${name} }\nspec: { type: Opaque }\n${extra}data: { token: from-yaml }\n`;
    assert.equal((await t.upload('POST', '/api/v3/secrets/yaml', 'secret', doc('yaml-secret'), developer)).status, 201);
    const topLevel = await t.upload(
      'POST',
      '/api/v3/secrets/yaml',
      'secret',
      'apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: top-level }\ntype: Opaque\ndata: { a: b }\n',
      developer,
    );
    assert.equal(topLevel.status, 201, JSON.stringify(topLevel.body));
    const badYaml = await t.upload(
      'POST',
      '/api/v3/secrets/yaml',
      'secret',
      'apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: y2 }\nspec: { type: tls }\ndata: { tls.crt: "***" }\n',
      developer,
    );
    assert.equal(badYaml.status, 400);
    assert.match(badYaml.body.message, /not base64: tls\.crt/);
    const upd = await t.upload(
      'PATCH',
      '/api/v3/secrets/yaml/yaml-secret',
      'secret',
      doc('yaml-secret').replace('from-yaml', 'changed'),
      developer,
    );
    assert.equal(upd.status, 200);
    assert.equal(upd.body.data.token, 'changed');
    assert.equal((await t.upload('PATCH', '/api/v3/secrets/yaml/yaml-secret', 'secret', doc('other'), developer)).status, 400);

    assert.equal((await t.call('DELETE', '/api/v3/secrets/top-level', { token: viewer })).status, 403);
    assert.equal((await t.call('DELETE', '/api/v3/secrets/top-level', { token: developer })).status, 200);
    assert.equal((await t.call('DELETE', '/api/v3/secrets/top-level', { token: developer })).status, 404);
    void admin;
  } finally {
    await t.close();
  }
});

test('config maps: CRUD, immutable honoured, useVault kept, YAML requires spec, RBAC', async () => {
  const t = await makeTestApp();
  try {
    const developer = await t.userToken('developer');
    const viewer = await t.userToken('viewer');
    const c = await t.call('POST', '/api/v3/configmaps', {
      token: developer,
      body: { name: 'line-config', data: { 'app.yaml': 'mode: fast\n' } },
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    assert.deepEqual([c.body.immutable, c.body.useVault], [false, false]);
    assert.equal((await t.call('POST', '/api/v3/configmaps', { token: developer, body: { name: 'line-config', data: {} } })).status, 409);
    assert.equal((await t.call('POST', '/api/v3/configmaps', { token: viewer, body: { name: 'v', data: {} } })).status, 403);
    const frozen = await t.call('POST', '/api/v3/configmaps', {
      token: developer,
      body: { name: 'frozen', data: { a: '1' }, immutable: true, useVault: true },
    });
    assert.equal(frozen.status, 201);
    assert.equal(frozen.body.useVault, true);
    const list = await t.call('GET', '/api/v3/configmaps', { token: viewer });
    assert.deepEqual(
      list.body.configMaps.map((m: any) => [m.name, m.immutable]),
      [
        ['frozen', true],
        ['line-config', false],
      ],
    );
    assert.ok(!('data' in list.body.configMaps[0]));
    assert.equal((await t.call('GET', '/api/v3/configmaps/line-config', { token: viewer })).body.data['app.yaml'], 'mode: fast\n');
    assert.equal((await t.call('GET', '/api/v3/configmaps/nope', { token: viewer })).status, 404);

    const p = await t.call('PATCH', '/api/v3/configmaps/line-config', { token: developer, body: { data: { 'app.yaml': 'mode: slow\n' } } });
    assert.equal(p.status, 200);
    assert.equal(p.body.data['app.yaml'], 'mode: slow\n');
    const denied = await t.call('PATCH', '/api/v3/configmaps/frozen', { token: developer, body: { data: { a: '2' } } });
    assert.equal(denied.status, 400);
    assert.match(denied.body.message, /immutable/);
    assert.equal((await t.call('GET', '/api/v3/configmaps/frozen', { token: viewer })).body.data.a, '1');
    for (const body of [{ data: { a: 1 } }, { data: {}, immutable: 'yes' }, { data: {}, color: 'red' }, {}]) {
      assert.equal((await t.call('PATCH', '/api/v3/configmaps/line-config', { token: developer, body })).status, 400, JSON.stringify(body));
    }

    const doc = (name: string, spec = 'spec: { immutable: false }\n') =>
      `apiVersion: iofog.org/v3\nkind: ConfigMap\nmetadata: { name: ${name} }\n${spec}data: { app.yaml: "mode: fast" }\n`;
    assert.equal((await t.upload('POST', '/api/v3/configmaps/yaml', 'configMap', doc('from-yaml'), developer)).status, 201);
    const noSpec = await t.upload('POST', '/api/v3/configmaps/yaml', 'configMap', doc('no-spec', ''), developer);
    assert.equal(noSpec.status, 400);
    assert.match(noSpec.body.message, /^spec: required/);
    const badSpec = await t.upload(
      'POST',
      '/api/v3/configmaps/yaml',
      'configMap',
      doc('bad-spec', 'spec: { immutable: sometimes }\n'),
      developer,
    );
    assert.equal(badSpec.status, 400);
    assert.match(badSpec.body.message, /^spec\.immutable: /);
    assert.equal(
      (
        await t.upload(
          'PATCH',
          '/api/v3/configmaps/yaml/from-yaml',
          'configMap',
          doc('from-yaml', 'spec: { immutable: true }\n'),
          developer,
        )
      ).status,
      200,
    );
    assert.equal(
      (await t.upload('PATCH', '/api/v3/configmaps/yaml/from-yaml', 'configMap', doc('from-yaml'), developer)).status,
      400,
      'now immutable',
    );

    assert.equal((await t.call('DELETE', '/api/v3/configmaps/frozen', { token: developer })).status, 200);
    assert.equal((await t.call('DELETE', '/api/v3/configmaps/frozen', { token: developer })).status, 404);
  } finally {
    await t.close();
  }
});

test('volume mounts: one source, versioned, linked fogs get the flag and the content; references protected', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const developer = await t.userToken('developer');
    const viewer = await t.userToken('viewer');
    const a = await agentFor(t, admin, 'fog-a');
    const b = await agentFor(t, admin, 'fog-b');
    await t.call('POST', '/api/v3/secrets', {
      token: developer,
      body: { name: 'app-tls', type: 'tls', data: { 'tls.crt': b64('CERT'), 'tls.key': b64('KEY') } },
    });
    await t.call('POST', '/api/v3/configmaps', {
      token: developer,
      body: { name: 'app-settings', data: { 'settings.yaml': 'logLevel: debug\n' } },
    });

    for (const [body, status, pattern] of [
      [{ name: 'm', secretName: 'app-tls', configMapName: 'app-settings' }, 400, /exactly one/],
      [{ name: 'm' }, 400, /exactly one/],
      [{ name: 'm', secretName: 'missing' }, 404, /Secret missing/],
      [{ name: 'Bad_Name', secretName: 'app-tls' }, 400, /^name: /],
    ] as const) {
      const r = await t.call('POST', '/api/v3/volumeMounts', { token: developer, body });
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(r.body.message, pattern);
    }
    const settings = await t.call('POST', '/api/v3/volumeMounts', {
      token: developer,
      body: { name: 'app-settings', configMapName: 'app-settings' },
    });
    assert.equal(settings.status, 200, JSON.stringify(settings.body));
    assert.equal(settings.body.version, 1);
    assert.equal(
      (await t.call('POST', '/api/v3/volumeMounts', { token: developer, body: { name: 'app-settings', configMapName: 'app-settings' } }))
        .status,
      409,
    );
    const tlsMount = await t.upload(
      'POST',
      '/api/v3/volumeMounts/yaml',
      'volumeMount',
      'apiVersion: iofog.org/v3\nkind: VolumeMount\nmetadata: { name: app-tls }\nspec: { secretName: app-tls }\n',
      developer,
    );
    assert.equal(tlsMount.status, 200, JSON.stringify(tlsMount.body));
    const bothYaml = await t.upload(
      'POST',
      '/api/v3/volumeMounts/yaml',
      'volumeMount',
      'apiVersion: iofog.org/v3\nkind: VolumeMount\nmetadata: { name: x }\nspec: { secretName: app-tls, configMapName: app-settings }\n',
      developer,
    );
    assert.equal(bothYaml.status, 400);
    assert.equal((await t.call('GET', '/api/v3/volumeMounts', { token: viewer })).body.length, 2);
    assert.equal((await t.call('POST', '/api/v3/volumeMounts', { token: viewer, body: { name: 'v', secretName: 'app-tls' } })).status, 403);

    // Link both to fog A: A is told, B is not; A receives base64 content.
    assert.equal(
      (await t.call('POST', '/api/v3/volumeMounts/app-settings/link', { token: developer, body: { fogUuids: ['nope'] } })).status,
      404,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/volumeMounts/app-settings/link', { token: developer, body: { fogUuids: [] } })).status,
      400,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/volumeMounts/app-settings/link', { token: developer, body: { fogUuids: [a.uuid] } })).status,
      200,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/volumeMounts/app-tls/link', { token: developer, body: { fogUuids: [a.uuid] } })).status,
      200,
    );
    assert.deepEqual((await t.call('GET', '/api/v3/volumeMounts/app-tls/link', { token: viewer })).body, { fogUuids: [a.uuid] });
    assert.equal((await a.ack()).volumeMounts, true);
    assert.equal((await b.changes()).volumeMounts, false);
    const got = (await a.call('GET', '/volumeMounts')).body.volumeMounts;
    assert.deepEqual(
      got.map((m: any) => [m.name, m.type, m.version]),
      [
        ['app-settings', 'configMap', 1],
        ['app-tls', 'secret', 1],
      ],
    );
    assert.deepEqual(got[0].data, { 'settings.yaml': b64('logLevel: debug\n') });
    assert.deepEqual(got[1].data, { 'tls.crt': b64('CERT'), 'tls.key': b64('KEY') }, 'tls values pass through');
    assert.deepEqual((await b.call('GET', '/volumeMounts')).body.volumeMounts, []);
    // Linking again is idempotent and tells nobody.
    await t.call('POST', '/api/v3/volumeMounts/app-tls/link', { token: developer, body: { fogUuids: [a.uuid] } });
    assert.equal((await a.changes()).volumeMounts, false);

    // The source changes: version + 1, the fog reloads.
    await t.call('PATCH', '/api/v3/configmaps/app-settings', { token: developer, body: { data: { 'settings.yaml': 'logLevel: info\n' } } });
    assert.equal((await a.ack()).volumeMounts, true);
    const after = (await a.call('GET', '/volumeMounts')).body.volumeMounts[0];
    assert.equal(after.version, 2);
    assert.deepEqual(after.data, { 'settings.yaml': b64('logLevel: info\n') });
    // The mount changes source: version + 1, fog told.
    const swapped = await t.call('PATCH', '/api/v3/volumeMounts/app-settings', { token: developer, body: { secretName: 'app-tls' } });
    assert.equal(swapped.status, 200);
    assert.equal(swapped.body.version, 3);
    assert.equal(swapped.body.secretName, 'app-tls');
    assert.equal((await a.ack()).volumeMounts, true);
    await t.call('PATCH', '/api/v3/volumeMounts/app-settings', { token: developer, body: { configMapName: 'app-settings' } });
    await a.ack();

    // Sources in use cannot be deleted.
    const inUse = await t.call('DELETE', '/api/v3/configmaps/app-settings', { token: developer });
    assert.equal(inUse.status, 409);
    assert.match(inUse.body.message, /app-settings/);
    assert.equal((await t.call('DELETE', '/api/v3/secrets/app-tls', { token: developer })).status, 409);

    // Unlink: the fog is told and the mount is gone from its list.
    const un = await t.call('DELETE', '/api/v3/volumeMounts/app-tls/link', { token: developer, body: { fogUuids: [a.uuid, b.uuid] } });
    assert.equal(un.status, 200, JSON.stringify(un.body));
    assert.equal((await a.ack()).volumeMounts, true);
    assert.equal((await b.changes()).volumeMounts, false, 'B was never linked');
    assert.deepEqual(
      (await a.call('GET', '/volumeMounts')).body.volumeMounts.map((m: any) => m.name),
      ['app-settings'],
    );
    // Delete: 202, linked fogs told.
    assert.equal((await t.call('DELETE', '/api/v3/volumeMounts/app-settings', { token: developer })).status, 202);
    assert.equal((await a.ack()).volumeMounts, true);
    assert.deepEqual((await a.call('GET', '/volumeMounts')).body.volumeMounts, []);
    assert.equal((await t.call('GET', '/api/v3/volumeMounts/app-settings', { token: viewer })).status, 404);
    assert.equal((await t.call('DELETE', '/api/v3/configmaps/app-settings', { token: developer })).status, 200, 'free again');
  } finally {
    await t.close();
  }
});

test('microservices: env from secrets and config maps resolved for the agent; mapped mounts auto-link; changes reach the fog', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const a = await agentFor(t, admin, 'edge-1');
    await t.call('POST', '/api/v3/secrets', { token: admin, body: { name: 'acme-creds', type: 'Opaque', data: { token: 's3cr3t' } } });
    await t.call('POST', '/api/v3/configmaps', { token: admin, body: { name: 'line-config', data: { mode: 'fast', 'app.yaml': 'x: 1' } } });
    await t.call('POST', '/api/v3/volumeMounts', { token: admin, body: { name: 'line-config', configMapName: 'line-config' } });
    const ms = (env: unknown, volumes: unknown = []) => ({
      name: 'reader',
      isActivated: true,
      microservices: [
        { name: 'reader', agentName: 'edge-1', images: [{ containerImage: 'img', archId: 1 }], env, volumeMappings: volumes },
      ],
    });
    for (const [env, pattern] of [
      [[{ key: 'A', valueFromSecret: 'acme-creds/missing' }], /env\[0\]\.valueFromSecret: secret acme-creds has no key missing/],
      [[{ key: 'A', valueFromSecret: 'nope/token' }], /env\[0\]\.valueFromSecret: no secret named nope/],
      [[{ key: 'A', valueFromConfigMap: 'no-slash' }], /env\[0\]\.valueFromConfigMap: must be/],
      [[{ key: 'A', value: 'x', valueFromSecret: 'acme-creds/token' }], /exactly one of value, valueFromSecret, valueFromConfigMap/],
    ] as const) {
      const r = await t.call('POST', '/api/v3/application', { token: admin, body: { ...ms(env), name: 'bad-app' } });
      assert.equal(r.status, 400, JSON.stringify(env));
      assert.match(r.body.message, pattern, r.body.message);
    }
    const badMount = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        ...ms([], [{ hostDestination: 'line-config/nokey', containerDestination: '/etc/app', accessMode: 'ro', type: 'volumeMount' }]),
        name: 'bad-app',
      },
    });
    assert.equal(badMount.status, 400);
    assert.match(badMount.body.message, /volumeMappings\[0\]\.hostDestination: volume mount line-config has no key nokey/);

    const app = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: ms(
        [
          { key: 'TOKEN', valueFromSecret: 'acme-creds/token' },
          { key: 'MODE', valueFromConfigMap: 'line-config/mode' },
          { key: 'PLAIN', value: 'p' },
        ],
        [{ hostDestination: 'line-config/app.yaml', containerDestination: '/etc/app', accessMode: 'ro', type: 'volumeMount' }],
      ),
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    // Operators see the reference; the agent gets the value.
    const stored = (await t.call('GET', '/api/v3/application/reader', { token: admin })).body.microservices[0];
    assert.deepEqual(stored.env[0], { key: 'TOKEN', valueFromSecret: 'acme-creds/token' });
    const flags = await a.ack();
    assert.equal(flags.volumeMounts, true, 'the mapped mount was linked to the fog');
    assert.deepEqual((await t.call('GET', '/api/v3/volumeMounts/line-config/link', { token: admin })).body.fogUuids, [a.uuid]);
    const delivered = async () => (await a.call('GET', '/microservices')).body.microservices[0].env;
    assert.deepEqual(await delivered(), [
      { key: 'TOKEN', value: 's3cr3t' },
      { key: 'MODE', value: 'fast' },
      { key: 'PLAIN', value: 'p' },
    ]);

    // A consumed secret changes: its fog reloads the microservices and gets the new value.
    await t.call('PATCH', '/api/v3/secrets/acme-creds', { token: admin, body: { data: { token: 'rotated' } } });
    const c = await a.ack();
    assert.equal(c.microserviceConfig, true);
    assert.equal((await delivered())[0].value, 'rotated');
    const inUse = await t.call('DELETE', '/api/v3/secrets/acme-creds', { token: admin });
    assert.equal(inUse.status, 409);
    assert.match(inUse.body.message, /reader\/reader/);
    // The mapped mount cannot be deleted, renamed or unlinked from that fog.
    assert.equal((await t.call('DELETE', '/api/v3/volumeMounts/line-config', { token: admin })).status, 409);
    assert.equal(
      (await t.call('PATCH', '/api/v3/volumeMounts/line-config', { token: admin, body: { name: 'renamed', configMapName: 'line-config' } }))
        .status,
      409,
    );
    assert.equal(
      (await t.call('DELETE', '/api/v3/volumeMounts/line-config/link', { token: admin, body: { fogUuids: [a.uuid] } })).status,
      409,
    );
  } finally {
    await t.close();
  }
});

test('volume mounts: a source or fog deleted while a create or link waits for the write lock is a 404, never a dangling row', {
  skip: sqliteOnly('parks a request on the in-process write lock'),
}, async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    assert.equal((await t.call('POST', '/api/v3/configmaps', { token: admin, body: { name: 'racy', data: { k: 'v' } } })).status, 201);
    const lock = t.ctx.store.writeLock;
    assert.ok(lock.enabled, 'the test needs the in-process write lock');
    const untilWaiting = async () => {
      await waitFor('the request to wait for the write lock', () => lock.waiting > 0, { intervalMs: 5 });
      assert.equal(lock.waiting, 1, 'the request is waiting for the write lock');
    };
    // Hold the write lock so the create parks on it, delete the map underneath, then let the create go.
    const release = await lock.acquire();
    let pending: ReturnType<TestApp['call']>;
    try {
      pending = t.call('POST', '/api/v3/volumeMounts', { token: admin, body: { name: 'racy', configMapName: 'racy' } });
      await untilWaiting();
      await t.ctx.store.raw.execute("DELETE FROM config_map WHERE name = 'racy'");
    } finally {
      release();
    }
    const mount = await pending;
    assert.equal(mount.status, 404, JSON.stringify(mount.body));
    assert.match(mount.body.message, /ConfigMap racy/);
    const rows = await t.ctx.store.raw.execute("SELECT count(*) AS n FROM volume_mount WHERE name = 'racy'");
    assert.equal(Number(rows.rows[0]!.n), 0, 'no mount points at the deleted config map');

    // The same for a link whose fog disappears while the link waits: a 404, not a foreign-key failure.
    await t.call('POST', '/api/v3/configmaps', { token: admin, body: { name: 'racy', data: { k: 'v' } } });
    assert.equal(
      (await t.call('POST', '/api/v3/volumeMounts', { token: admin, body: { name: 'racy', configMapName: 'racy' } })).status,
      200,
    );
    const fogUuid = (
      await t.call('POST', '/api/v3/iofog', {
        token: admin,
        body: { name: 'short-lived', archId: 1, routerMode: 'none', natsMode: 'none' },
      })
    ).body.uuid as string;
    const release2 = await lock.acquire();
    let linking: ReturnType<TestApp['call']>;
    try {
      linking = t.call('POST', '/api/v3/volumeMounts/racy/link', { token: admin, body: { fogUuids: [fogUuid] } });
      await untilWaiting();
      await t.ctx.store.raw.execute('DELETE FROM fog WHERE uuid = ?', [fogUuid]);
    } finally {
      release2();
    }
    const linked = await linking;
    assert.equal(linked.status, 404, JSON.stringify(linked.body));
    assert.match(linked.body.message, new RegExp(fogUuid));
  } finally {
    await t.close();
  }
});
