import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';
import { runTick } from '../../src/jobs/runner';
import { outboxDrainerJob } from '../../workers/outbox-drainer';
import { PROPAGATION_CHUNK } from '../../src/services/outbox/outbox';

async function agentFor(t: TestApp, admin: string, name: string) {
  const fog = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name, archId: 1, routerMode: 'none', natsMode: 'none' } });
  const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
  const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } });
  const agent = await AgentSigner.fromProvision(prov.body);
  const call = async (method: string, path: string, body?: unknown) =>
    t.call(method, `/api/v3/agent${path}`, { token: await agent.token(), body });
  const ch = await call('GET', '/config/changes');
  await call('PATCH', '/config/changes', { lastUpdated: ch.body.lastUpdated });
  return { uuid: fog.body.uuid as string, call };
}

let tick = Date.UTC(2026, 0, 1);
const drain = (t: TestApp) => runTick(t.ctx, outboxDrainerJob, (tick += 1000));

test('registries: CRUD, passwords encrypted and never returned, built-ins protected, agents notified through the outbox', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer');
    const a = await agentFor(t, admin, 'fog-a');
    const created = await t.call('POST', '/api/v3/registries', {
      token: admin,
      body: { url: 'ghcr.io', isPublic: false, username: 'ci-bot', password: 's3cr3t', email: 'ops@example.net' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    assert.equal(id, 3);
    const stored = await t.ctx.store.raw.execute('SELECT password_enc FROM registry WHERE id = ?', [id]);
    assert.ok(!String(stored.rows[0]!.password_enc).includes('s3cr3t'));
    const list = await t.call('GET', '/api/v3/registries', { token: viewer });
    assert.deepEqual(
      list.body.registries.map((r: { url: string }) => r.url),
      ['docker.io', 'from_cache', 'ghcr.io'],
    );
    assert.ok(!JSON.stringify(list.body).includes('s3cr3t'));
    // Inline: nothing yet; the drainer raises the flag.
    assert.equal((await a.call('GET', '/config/changes')).body.registries, false);
    const drained = await drain(t);
    assert.deepEqual(drained.ran && drained.result, { processed: 1, failed: 0, pending: 0 });
    assert.equal((await a.call('GET', '/config/changes')).body.registries, true);
    const regs = (await a.call('GET', '/registries')).body.registries;
    assert.deepEqual(regs[2], {
      id: 3,
      url: 'ghcr.io',
      isPublic: false,
      username: 'ci-bot',
      password: 's3cr3t',
      userEmail: 'ops@example.net',
    });

    assert.equal(
      (
        await t.call('POST', '/api/v3/registries', {
          token: viewer,
          body: { url: 'x', isPublic: true, username: '', password: '', email: '' },
        })
      ).status,
      403,
    );
    assert.equal((await t.call('POST', '/api/v3/registries', { token: admin, body: { url: 'x' } })).status, 400);
    assert.equal((await t.call('PATCH', `/api/v3/registries/${id}`, { token: admin, body: { password: 'n3w' } })).status, 204);
    assert.equal((await t.call('DELETE', '/api/v3/registries/1', { token: admin })).status, 400);
    assert.equal((await t.call('DELETE', '/api/v3/registries/2', { token: admin })).status, 400);
    assert.equal((await t.call('GET', '/api/v3/registries/99', { token: admin })).status, 404);
    assert.equal((await t.call('GET', '/api/v3/registries/abc', { token: admin })).status, 400);
    assert.equal((await t.call('DELETE', `/api/v3/registries/${id}`, { token: admin })).status, 204);
  } finally {
    await t.close();
  }
});

test('outbox: the registries fan-out to many fogs runs in chunks with a cursor', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const now = Date.now();
    const rows = Array.from(
      { length: PROPAGATION_CHUNK + 20 },
      (_, i) => `('fog-${String(i).padStart(4, '0')}-uuid', 'f${i}', ${now}, ${now})`,
    ).join(',');
    await t.ctx.store.raw.execute(`INSERT INTO fog (uuid, name, created_at, updated_at) VALUES ${rows}`);
    assert.equal(
      (
        await t.call('POST', '/api/v3/registries', {
          token: admin,
          body: { url: 'quay.io', isPublic: true, username: '', password: '', email: '' },
        })
      ).status,
      201,
    );
    const first = await drain(t);
    assert.deepEqual(first.ran && first.result, { processed: 0, failed: 0, pending: 1 });
    const second = await drain(t);
    assert.deepEqual(second.ran && second.result, { processed: 1, failed: 0, pending: 0 });
    const flagged = await t.ctx.store.raw.execute('SELECT count(DISTINCT fog_uuid) AS n FROM fog_change');
    assert.equal(flagged.rows[0]!.n, PROPAGATION_CHUNK + 20);
    const third = await drain(t);
    assert.deepEqual(third.ran && third.result, { processed: 0, failed: 0, pending: 0 });
  } finally {
    await t.close();
  }
});

test('catalog: system items seeded and protected; CRUD; microservices from an item are rebuilt when its image changes', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const developer = await t.userToken('developer');
    const list = await t.call('GET', '/api/v3/catalog/microservices', { token: developer });
    assert.deepEqual(
      list.body.catalogItems.filter((i: { category: string }) => i.category === 'SYSTEM').map((i: { name: string }) => i.name),
      ['Router', 'NATS', 'Debug'],
    );
    const sys = list.body.catalogItems[0];
    assert.equal((await t.call('DELETE', `/api/v3/catalog/microservices/${sys.id}`, { token: admin })).status, 400);
    const item = await t.call('POST', '/api/v3/catalog/microservices', {
      token: developer,
      body: { name: 'sensor', registryId: 1, images: [{ containerImage: 'acme/sensor:1', archId: 1 }] },
    });
    assert.equal(item.status, 201);
    assert.equal(
      (
        await t.call('POST', '/api/v3/catalog/microservices', {
          token: developer,
          body: { name: 'sensor', registryId: 1, images: [{ containerImage: 'x', archId: 1 }] },
        })
      ).status,
      409,
    );
    assert.equal(
      (
        await t.call('POST', '/api/v3/catalog/microservices', {
          token: developer,
          body: {
            name: 'dup-arch',
            registryId: 1,
            images: [
              { containerImage: 'x', archId: 1 },
              { containerImage: 'y', archId: 1 },
            ],
          },
        })
      ).status,
      400,
    );
    assert.equal(
      (
        await t.call('POST', '/api/v3/catalog/microservices', {
          token: developer,
          body: { name: 'bad-reg', registryId: 42, images: [{ containerImage: 'x', archId: 1 }] },
        })
      ).status,
      400,
    );

    const a = await agentFor(t, admin, 'fog-cat');
    assert.equal(
      (
        await t.call('POST', '/api/v3/application', {
          token: developer,
          body: {
            name: 'plant',
            isActivated: true,
            microservices: [{ name: 'sensor', agentName: 'fog-cat', catalogItemId: item.body.id }],
          },
        })
      ).status,
      201,
    );
    let ms = (await a.call('GET', '/microservices')).body.microservices;
    assert.equal(ms[0].imageId, 'acme/sensor:1');
    const ch = await a.call('GET', '/config/changes');
    await a.call('PATCH', '/config/changes', { lastUpdated: ch.body.lastUpdated });
    assert.equal((await t.call('DELETE', `/api/v3/catalog/microservices/${item.body.id}`, { token: admin })).status, 400, 'in use');

    assert.equal(
      (
        await t.call('PATCH', `/api/v3/catalog/microservices/${item.body.id}`, {
          token: developer,
          body: { images: [{ containerImage: 'acme/sensor:2', archId: 1 }] },
        })
      ).status,
      204,
    );
    await drain(t);
    assert.equal((await a.call('GET', '/config/changes')).body.microserviceConfig, true);
    ms = (await a.call('GET', '/microservices')).body.microservices;
    assert.equal(ms[0].rebuild, true);
    assert.equal(ms[0].imageId, 'acme/sensor:2', 'follows the catalog item');
  } finally {
    await t.close();
  }
});
