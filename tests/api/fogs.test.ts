import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';

test('fogs: create with defaults, list with filters, get, patch, conflicts, validation, RBAC', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer');
    const developer = await t.userToken('developer');
    const a = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge-lisbon-01', archId: 2, host: '10.20.0.15', routerMode: 'edge', tags: ['site:lisbon'], unknownKey: 1 } });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.match(a.body.uuid, /^[0-9a-f-]{36}$/);
    const b = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge-porto-02', archId: 1 } });
    assert.equal(b.status, 201);
    const fog = (await t.call('GET', `/api/v3/iofog/${b.body.uuid}`, { token: viewer })).body;
    assert.equal(fog.statusFrequency, 10);
    assert.equal(fog.changeFrequency, 20);
    assert.equal(fog.routerMode, 'edge');
    assert.equal(fog.natsMode, 'leaf');
    assert.equal(fog.daemonStatus, 'NOT_PROVISIONED');
    assert.equal(fog.arch.name, 'amd64');
    assert.deepEqual(fog.tags, []);

    assert.equal((await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge-porto-02', archId: 1 } })).status, 409);
    const v1 = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'x', archId: 7 } });
    assert.equal(v1.status, 400);
    assert.match(v1.body.message, /^archId: /);
    const v2 = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'x', archId: 1, routerMode: 'interior' } });
    assert.equal(v2.status, 400);
    assert.match(v2.body.message, /^host: required when routerMode is interior/);
    const v3 = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'x', archId: 1, jsStorageSize: 'lots' } });
    assert.equal(v3.status, 400);
    assert.match(v3.body.message, /^jsStorageSize: /);
    assert.equal((await t.call('POST', '/api/v3/iofog', { token: admin, body: { archId: 1 } })).status, 400);
    assert.equal((await t.call('POST', '/api/v3/iofog', { token: developer, body: { name: 'dev-fog', archId: 1 } })).status, 403);
    assert.equal((await t.call('POST', '/api/v3/iofog', { token: viewer, body: { name: 'v-fog', archId: 1 } })).status, 403);

    const all = await t.call('GET', '/api/v3/iofog-list', { token: developer });
    assert.deepEqual(all.body.fogs.map((f: { name: string }) => f.name), ['edge-lisbon-01', 'edge-porto-02']);
    assert.equal(all.body.fogs[0].platformStatus.phase, 'Pending', 'the router platform is reconciled asynchronously');
    const has = await t.call('GET', '/api/v3/iofog-list?filters[0][key]=name&filters[0][value]=PORTO&filters[0][condition]=has', { token: viewer });
    assert.deepEqual(has.body.fogs.map((f: { name: string }) => f.name), ['edge-porto-02']);
    const eq = await t.call('GET', '/api/v3/iofog-list?filters[0][key]=name&filters[0][value]=edge&filters[0][condition]=equals', { token: viewer });
    assert.deepEqual(eq.body.fogs, []);
    assert.equal((await t.call('GET', '/api/v3/iofog-list?filters[0][key]=secret&filters[0][value]=x', { token: viewer })).status, 400);
    assert.equal((await t.call('GET', '/api/v3/iofog-list?filters[0][key]=name&filters[0][value]=x&filters[0][condition]=like', { token: viewer })).status, 400);

    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}`, { token: admin, body: { name: 'edge-lisbon-01' } })).status, 409);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}`, { token: admin, body: { location: 'Porto', cpuLimit: 55.5, logLevel: 'debug' } })).status, 204);
    const patched = (await t.call('GET', `/api/v3/iofog/${b.body.uuid}`, { token: viewer })).body;
    assert.equal(patched.location, 'Porto');
    assert.equal(patched.cpuLimit, 55.5);
    assert.equal(patched.logLevel, 'DEBUG');
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}`, { token: admin, body: { statusFrequency: 0 } })).status, 400);
    assert.equal((await t.call('PATCH', '/api/v3/iofog/missing', { token: admin, body: { location: 'x' } })).status, 404);
    assert.equal((await t.call('GET', '/api/v3/iofog/missing', { token: admin })).status, 404);
    assert.equal((await t.call('GET', '/api/v3/iofog/missing/provisioning-key', { token: admin })).status, 404);
    assert.equal((await t.call('POST', '/api/v3/iofog/missing/reboot', { token: admin })).status, 404);

    const tunnel = await t.call('GET', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: admin });
    assert.equal(tunnel.status, 200);
    assert.equal(tunnel.body.status, 'closed');
    assert.equal((await t.call('GET', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: viewer })).status, 403, 'viewer has no tunnels access');
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: admin, body: { action: 'open' } })).status, 400);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: admin, body: { action: 'close' } })).status, 204);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: admin, body: { action: 'jump' } })).status, 400);

    assert.equal((await t.call('DELETE', `/api/v3/iofog/${a.body.uuid}`, { token: developer })).status, 403);
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${a.body.uuid}`, { token: admin })).status, 202);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${a.body.uuid}`, { token: admin, body: { location: 'x' } })).status, 409, 'being deleted');
  } finally {
    await t.close();
  }
});
