import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';

/**
 * Where our responses or accepted bodies differed from upstream v3.8 in ways clients trip over — each
 * test fails on the old behaviour.
 */

async function agentOf(t: TestApp, admin: string, uuid: string) {
  const key = await t.call('GET', `/api/v3/iofog/${uuid}/provisioning-key`, { token: admin });
  const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } });
  const agent = await AgentSigner.fromProvision(prov.body);
  return async (method: string, path: string, body?: unknown) =>
    t.call(method, `/api/v3/agent${path}`, { token: await agent.token(), body });
}

/** A GET body sent back unchanged as the write body is accepted and changes nothing a client sees (but updatedAt). */
async function roundTrip(t: TestApp, token: string, path: string, method: 'PATCH' | 'PUT', writePath = path) {
  const before = await t.call('GET', path, { token });
  assert.equal(before.status, 200, JSON.stringify(before.body));
  const write = await t.call(method, writePath, { token, body: before.body });
  assert.ok(
    write.status >= 200 && write.status < 300,
    `${method} ${writePath} with its own GET body: ${write.status} ${JSON.stringify(write.body)}`,
  );
  const after = await t.call('GET', path, { token });
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => k !== 'updatedAt')
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  assert.deepEqual(strip(after.body), strip(before.body), `${path}: unchanged after the round trip`);
}

const image = [{ containerImage: 'ghcr.io/acme/reader:1', archId: 1 }];

test('round trip: what GET returns for a fog, microservice, application, template, registry and catalog item is accepted back by its PATCH/PUT', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const cp = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'cp', archId: 1, isSystem: true, host: 'cp.example' } });
    const none = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'bare', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const edge = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge', archId: 1 } });
    const got = (await t.call('GET', `/api/v3/iofog/${none.body.uuid}`, { token: admin })).body;
    assert.deepEqual(
      [got.host, got.interRouterPort, got.edgeRouterPort],
      [null, null, null],
      'a routerMode none fog has no host or interior ports',
    );
    for (const f of [cp, none, edge]) await roundTrip(t, admin, `/api/v3/iofog/${f.body.uuid}`, 'PATCH');

    await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'line',
        natsConfig: { natsAccess: false },
        microservices: [
          {
            name: 'reader',
            agentName: 'bare',
            images: image,
            ports: [{ internal: 80, external: 8080 }],
            healthCheck: { test: ['CMD', 'true'] },
            volumeMappings: [{ hostDestination: '/d', containerDestination: '/d', accessMode: 'rw' }],
          },
          { name: 'unplaced', images: image },
        ],
      },
    });
    const app = (await t.call('GET', '/api/v3/application/line', { token: admin })).body;
    for (const m of app.microservices) await roundTrip(t, admin, `/api/v3/microservices/${m.uuid}`, 'PATCH');
    await roundTrip(t, admin, '/api/v3/application/line', 'PUT');

    const tpl = {
      name: 'kit',
      variables: [{ key: 'where', defaultValue: 'bare' }],
      application: { microservices: [{ name: 's', agentName: '{{where}}', images: image }] },
    };
    assert.equal((await t.call('POST', '/api/v3/applicationTemplate', { token: admin, body: tpl })).status, 201);
    await roundTrip(t, admin, '/api/v3/applicationTemplate/kit', 'PUT');

    const reg = await t.call('POST', '/api/v3/registries', {
      token: admin,
      body: { url: 'ghcr.io', isPublic: true, username: 'u', password: 'p', email: 'a@b.c' },
    });
    await roundTrip(t, admin, `/api/v3/registries/${reg.body.id}`, 'PATCH');
    const item = await t.call('POST', '/api/v3/catalog/microservices', {
      token: admin,
      body: { name: 'sensor', registryId: 1, images: image },
    });
    assert.equal((await t.call('GET', `/api/v3/catalog/microservices/${item.body.id}`, { token: admin })).body.inputType, null);
    await roundTrip(t, admin, `/api/v3/catalog/microservices/${item.body.id}`, 'PATCH');
  } finally {
    await t.close();
  }
});

test('microservices carry isActivated, applicationId, execStatus and a protocol on every port, as upstream', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'bare', archId: 1, routerMode: 'none', natsMode: 'none' } });
    await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'line',
        microservices: [{ name: 'reader', agentName: 'bare', images: image, ports: [{ internal: 80, external: 8080 }] }],
      },
    });
    const app = (await t.call('GET', '/api/v3/application/line', { token: admin })).body;
    const ms = app.microservices[0];
    assert.equal(ms.applicationId, app.id);
    assert.equal(ms.application, 'line');
    assert.equal(ms.isActivated, true);
    assert.deepEqual(ms.ports, [{ internal: 80, external: 8080, protocol: 'tcp' }]);
    assert.deepEqual(ms.execStatus, { status: 'INACTIVE', execSessionId: '' });
    assert.equal((await t.call('PATCH', `/api/v3/microservices/${ms.uuid}/stop`, { token: admin })).status, 204);
    assert.equal((await t.call('GET', `/api/v3/microservices/${ms.uuid}`, { token: admin })).body.isActivated, false);
    const listed = (await t.call('GET', '/api/v3/microservices', { token: admin })).body.microservices[0];
    assert.equal(listed.isActivated, false);
  } finally {
    await t.close();
  }
});

test('fogs show gpsStatus and their linked volume mounts', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const f = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'bare', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const agent = await agentOf(t, admin, f.body.uuid);
    assert.equal((await agent('PUT', '/status', { gpsStatus: 'HEALTHY' })).status, 204);
    const ok = (r: { status: number; body: unknown }) => assert.ok(r.status >= 200 && r.status < 300, JSON.stringify(r.body));
    ok(await t.call('POST', '/api/v3/configmaps', { token: admin, body: { name: 'settings', data: { 'a.conf': 'x=1' } } }));
    ok(await t.call('POST', '/api/v3/volumeMounts', { token: admin, body: { name: 'settings-mount', configMapName: 'settings' } }));
    ok(await t.call('POST', '/api/v3/volumeMounts/settings-mount/link', { token: admin, body: { fogUuids: [f.body.uuid] } }));
    const fog = (await t.call('GET', `/api/v3/iofog/${f.body.uuid}`, { token: admin })).body;
    assert.equal(fog.gpsStatus, 'HEALTHY');
    assert.deepEqual(fog.volumeMounts, [{ name: 'settings-mount', version: 1, configMapName: 'settings', secretName: null }]);
    const listed = (await t.call('GET', '/api/v3/iofog-list', { token: admin })).body.fogs[0];
    assert.deepEqual(listed.volumeMounts, fog.volumeMounts);
  } finally {
    await t.close();
  }
});

test('statusFrequency and changeFrequency accept 0 (upstream minimum); the agent is then sent its default period, never 0', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const f = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'bare', archId: 1, routerMode: 'none', natsMode: 'none', statusFrequency: 0, changeFrequency: 0 },
    });
    assert.equal(f.status, 201, JSON.stringify(f.body));
    const fog = (await t.call('GET', `/api/v3/iofog/${f.body.uuid}`, { token: admin })).body;
    assert.deepEqual([fog.statusFrequency, fog.changeFrequency], [0, 0]);
    const agent = await agentOf(t, admin, f.body.uuid);
    const cfg = (await agent('GET', '/config')).body;
    assert.deepEqual([cfg.statusFrequency, cfg.changeFrequency], [10, 20]);
    assert.equal(
      (await t.call('PATCH', `/api/v3/iofog/${f.body.uuid}`, { token: admin, body: { statusFrequency: 30, changeFrequency: 0 } })).status,
      204,
    );
    const again = (await agent('GET', '/config')).body;
    assert.deepEqual([again.statusFrequency, again.changeFrequency], [30, 20]);
  } finally {
    await t.close();
  }
});

test('PUT /application/{name} and PUT /applicationTemplate/{name}: name optional in the body, must match the path when given', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    assert.equal((await t.call('POST', '/api/v3/application', { token: admin, body: { name: 'line' } })).status, 201);
    assert.equal((await t.call('PUT', '/api/v3/application/line', { token: admin, body: { description: 'no name' } })).status, 204);
    assert.equal((await t.call('GET', '/api/v3/application/line', { token: admin })).body.description, 'no name');
    const other = await t.call('PUT', '/api/v3/application/line', { token: admin, body: { name: 'other', description: 'x' } });
    assert.equal(other.status, 400);
    assert.match(other.body.message, /name/);
    const tpl = { application: { microservices: [{ name: 's', images: image }] } };
    const created = await t.call('PUT', '/api/v3/applicationTemplate/kit', { token: admin, body: tpl });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.name, 'kit');
    assert.equal(
      (await t.call('PUT', '/api/v3/applicationTemplate/kit', { token: admin, body: { ...tpl, description: 'd' } })).status,
      200,
    );
    assert.equal((await t.call('GET', '/api/v3/applicationTemplate/kit', { token: admin })).body.description, 'd');
    const wrong = await t.call('PUT', '/api/v3/applicationTemplate/kit', { token: admin, body: { ...tpl, name: 'other' } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.message, /name/);
  } finally {
    await t.close();
  }
});

test('microservice config: GET …/config answers {config}; a plain or quote-escaped string is accepted as upstream; a non-string, non-object is a 400', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'bare', archId: 1, routerMode: 'none', natsMode: 'none' } });
    const create = (name: string, config: unknown) =>
      t.call('POST', '/api/v3/microservices', {
        token: admin,
        body: { name, application: 'line', agentName: 'bare', images: image, config },
      });
    await t.call('POST', '/api/v3/application', { token: admin, body: { name: 'line' } });
    const escaped = await create('escaped', '{\\"threshold\\":0.7,\\"mode\\":\\"fast\\"}');
    assert.equal(escaped.status, 201, JSON.stringify(escaped.body));
    const ms = (await t.call('GET', `/api/v3/microservices/${escaped.body.uuid}`, { token: admin })).body;
    assert.equal(ms.config, '{"threshold":0.7,"mode":"fast"}', 'escaped quotes are unescaped');
    assert.deepEqual((await t.call('GET', `/api/v3/microservices/${escaped.body.uuid}/config`, { token: admin })).body, {
      config: { threshold: 0.7, mode: 'fast' },
    });

    const plain = await create('plain', 'not json at all');
    assert.equal(plain.status, 201, JSON.stringify(plain.body));
    assert.equal((await t.call('GET', `/api/v3/microservices/${plain.body.uuid}`, { token: admin })).body.config, 'not json at all');
    assert.deepEqual((await t.call('GET', `/api/v3/microservices/${plain.body.uuid}/config`, { token: admin })).body, {
      config: 'not json at all',
    });

    const json = await create('json', '{"a":"say \\"hi\\""}');
    assert.equal(json.status, 201);
    assert.equal(
      (await t.call('GET', `/api/v3/microservices/${json.body.uuid}`, { token: admin })).body.config,
      '{"a":"say \\"hi\\""}',
      'JSON text is kept as sent',
    );

    const bad = await create('bad', 42);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /config/);
  } finally {
    await t.close();
  }
});
