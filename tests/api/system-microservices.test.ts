import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';

test('controller/register: system fogs only, idempotent upsert into system-{fog}; protected from the user API', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const mk = async (name: string, isSystem: boolean) => {
      const fog = await t.call('POST', '/api/v3/iofog', {
        token: admin,
        body: { name, archId: 1, isSystem, ...(isSystem ? { host: 'cp.example' } : { routerMode: 'none', natsMode: 'none' }) },
      });
      const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
      const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } });
      const agent = await AgentSigner.fromProvision(prov.body);
      return async (method: string, path: string, body?: unknown) =>
        t.call(method, `/api/v3/agent${path}`, { token: await agent.token(), body });
    };
    const sysAgent = await mk('cp-node', true);
    const plainAgent = await mk('edge-node', false);
    const body = {
      uuid: 'c7a1f1e2-0b4d-4f5e-8e21-3f0a6b9d1c00',
      name: 'controller',
      schedule: 0,
      images: [{ containerImage: 'ghcr.io/example/controller:3.8.3', archId: 1 }],
      registryId: 1,
      ports: [{ internal: 51121, external: 51121, protocol: 'tcp' }],
      env: [{ key: 'DB_PROVIDER', value: 'sqlite' }],
    };
    assert.equal((await plainAgent('POST', '/controller/register', body)).status, 403);
    const first = await sysAgent('POST', '/controller/register', body);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { uuid: body.uuid });
    assert.equal((await sysAgent('POST', '/controller/register', body)).status, 200, 'idempotent');
    assert.equal((await sysAgent('POST', '/controller/register', { ...body, registryId: 77 })).status, 404);
    assert.equal((await sysAgent('POST', '/controller/register', { ...body, images: [{ containerImage: 'x', archId: 2 }] })).status, 400);
    assert.equal((await sysAgent('POST', '/controller/register', { ...body, extra: true })).status, 400, 'strict schema');
    const list = (await sysAgent('GET', '/microservices')).body.microservices;
    assert.equal(list.length, 1);
    assert.equal(list[0].isController, true);
    assert.equal(list[0].application, 'system-cp-node');
    assert.equal(list[0].schedule, 0);

    const apps = await t.call('GET', '/api/v3/application/system', { token: admin });
    assert.deepEqual(
      apps.body.applications.map((a: { name: string }) => a.name),
      ['system-cp-node'],
    );
    assert.equal((await t.call('GET', '/api/v3/application', { token: admin })).body.applications.length, 0);
    assert.equal((await t.call('DELETE', `/api/v3/microservices/${body.uuid}`, { token: admin })).status, 403);
    assert.equal((await t.call('PATCH', `/api/v3/microservices/${body.uuid}`, { token: admin, body: { cmd: ['x'] } })).status, 400);
    assert.equal((await t.call('GET', `/api/v3/microservices/${body.uuid}`, { token: admin })).status, 404);
    const sys = await t.call('GET', `/api/v3/microservices/system/${body.uuid}`, { token: admin });
    assert.equal(sys.status, 200);
    assert.equal(sys.body.isController, true);
    assert.equal(
      (await t.call('PATCH', `/api/v3/microservices/system/${body.uuid}`, { token: admin, body: { schedule: 30 } })).status,
      204,
    );
    assert.equal(
      (await t.call('GET', `/api/v3/microservices/system/${body.uuid}`, { token: admin })).body.schedule,
      0,
      'controller schedule forced to 0',
    );
    assert.equal((await t.call('PATCH', `/api/v3/microservices/system/${body.uuid}/config`, { token: admin, body: { a: 1 } })).status, 204);
    assert.deepEqual(
      (await t.call('GET', `/api/v3/microservices/system/${body.uuid}/config`, { token: admin })).body,
      { config: { a: 1 } },
      'wrapped in {config}, as upstream',
    );
    assert.equal((await t.call('GET', '/api/v3/microservices/system', { token: admin })).body.microservices.length, 1);
    const developer = await t.userToken('developer');
    assert.equal(
      (await t.call('PATCH', `/api/v3/microservices/system/${body.uuid}/rebuild`, { token: developer })).status,
      403,
      'developers read system microservices only',
    );
  } finally {
    await t.close();
  }
});
