import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';

test('node debug: POST /iofog/:uuid/exec provisions the debug system microservice, DELETE removes it; flags, RBAC, validation', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer');
    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'debug-fog', archId: 2, routerMode: 'none', natsMode: 'none' },
    });
    const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    const agent = await AgentSigner.fromProvision(
      (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 2 } })).body,
    );
    const changes = async () => (await t.call('GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body;
    const ack = async () => {
      const c = await changes();
      await t.call('PATCH', '/api/v3/agent/config/changes', { token: await agent.token(), body: { lastUpdated: c.lastUpdated } });
    };
    await ack();
    assert.deepEqual((await t.call('GET', '/api/v3/agent/exec/sessions', { token: await agent.token() })).body, { execSessions: [] });
    assert.deepEqual((await t.call('GET', '/api/v3/agent/logs/sessions', { token: await agent.token() })).body, { logSessions: [] });

    assert.equal((await t.call('POST', `/api/v3/iofog/${fog.body.uuid}/exec`, { token: viewer })).status, 403);
    assert.equal((await t.call('POST', '/api/v3/iofog/00000000-0000-4000-8000-000000000000/exec', { token: admin })).status, 404);
    const bad = await t.call('POST', `/api/v3/iofog/${fog.body.uuid}/exec`, { token: admin, body: { image: 'has space' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^image: /);
    assert.equal((await t.call('POST', `/api/v3/iofog/${fog.body.uuid}/exec`, { token: admin })).status, 204);
    const c1 = await changes();
    assert.equal(c1.microserviceList, true);
    assert.equal(c1.execSessions, true);
    const ms = (await t.call('GET', '/api/v3/agent/microservices', { token: await agent.token() })).body.microservices;
    const debug = ms.find((m: any) => m.name === 'debug');
    assert.ok(debug, JSON.stringify(ms));
    assert.equal(debug.imageId, 'ghcr.io/eclipse-iofog/debugger');
    assert.deepEqual(
      [debug.hostNetworkMode, debug.isPrivileged, debug.pidMode, debug.ipcMode, debug.schedule, debug.application],
      [true, true, 'host', 'host', 0, 'system-debug-fog'],
    );
    const system = await t.call('GET', '/api/v3/microservices/system', { token: admin });
    assert.ok(system.body.microservices.some((m: any) => m.uuid === debug.uuid));
    // Again with another image: same microservice, rebuilt.
    await ack();
    assert.equal(
      (await t.call('POST', `/api/v3/iofog/${fog.body.uuid}/exec`, { token: admin, body: { image: 'acme/debug:2' } })).status,
      204,
    );
    const again = (await t.call('GET', '/api/v3/agent/microservices', { token: await agent.token() })).body.microservices.filter(
      (m: any) => m.name === 'debug',
    );
    assert.equal(again.length, 1);
    assert.equal(again[0].uuid, debug.uuid);
    assert.equal(again[0].imageId, 'acme/debug:2');
    assert.equal(again[0].rebuild, true);
    // The WebSocket routes answer a plain GET with 426 once authenticated.
    const plain = await t.call('GET', `/api/v3/microservices/system/exec/${debug.uuid}`, { token: admin });
    assert.equal(plain.status, 426);
    assert.equal(plain.body.code, 'UPGRADE_REQUIRED');
    assert.equal((await t.call('GET', `/api/v3/microservices/system/exec/${debug.uuid}`)).status, 401);
    assert.equal((await t.call('GET', `/api/v3/microservices/exec/${debug.uuid}`, { token: viewer })).status, 403, 'viewers have no exec');

    await ack();
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${fog.body.uuid}/exec`, { token: admin })).status, 204);
    const c2 = await changes();
    assert.equal(c2.microserviceList, true);
    assert.equal(c2.execSessions, true);
    const gone = (await t.call('GET', '/api/v3/agent/microservices', { token: await agent.token() })).body.microservices.find(
      (m: any) => m.name === 'debug',
    );
    assert.equal(gone.delete, true, 'delivered for deletion until the agent reports it gone');
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${fog.body.uuid}/exec`, { token: admin })).status, 404);
  } finally {
    await t.close();
  }
});
