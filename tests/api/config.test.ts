import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { ManualClock } from '../../src/lib/clock';
import { runTick } from '../../src/jobs/runner';
import { controllerHeartbeatJob } from '../../workers/controller-heartbeat';
import { controllerCleanupJob } from '../../workers/controller-cleanup';
import { tokenCleanupJob } from '../../workers/token-cleanup';

test('config: list, get, upsert; keys and values validated; RBAC', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const developer = await t.userToken('developer');
    const viewer = await t.userToken('viewer');
    assert.deepEqual((await t.call('GET', '/api/v3/config', { token: viewer })).body, { config: [] }, 'internal settings are never listed');
    const put = await t.call('PUT', '/api/v3/config', { token: admin, body: { key: 'console.banner', value: 'Plant A' } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { key: 'console.banner', value: 'Plant A' });
    assert.deepEqual((await t.call('PUT', '/api/v3/config', { token: admin, body: { key: 'console.banner', value: 'Plant B' } })).body, {
      key: 'console.banner',
      value: 'Plant B',
    });
    await t.call('PUT', '/api/v3/config', { token: admin, body: { key: 'a.first', value: '' } });
    assert.deepEqual((await t.call('GET', '/api/v3/config', { token: viewer })).body.config, [
      { key: 'a.first', value: '' },
      { key: 'console.banner', value: 'Plant B' },
    ]);
    assert.deepEqual((await t.call('GET', '/api/v3/config/console.banner', { token: viewer })).body, {
      key: 'console.banner',
      value: 'Plant B',
    });
    assert.equal((await t.call('GET', '/api/v3/config/missing', { token: viewer })).status, 404);
    assert.equal(
      (await t.call('PUT', '/api/v3/config', { token: developer, body: { key: 'x', value: 'y' } })).status,
      403,
      'developers read config only',
    );
    assert.equal((await t.call('PUT', '/api/v3/config', { token: viewer, body: { key: 'x', value: 'y' } })).status, 403);
    for (const [body, field] of [
      [{ key: '', value: 'x' }, 'key'],
      [{ key: ' spaced key', value: 'x' }, 'key'],
      [{ key: 'k', value: 42 }, 'value'],
      [{ key: 'k' }, 'value'],
      [{ key: 'k', value: 'v', extra: true }, 'extra'],
      [{ key: 'k', value: 'x'.repeat(65_537) }, 'value'],
    ] as const) {
      const r = await t.call('PUT', '/api/v3/config', { token: admin, body });
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
      assert.match(r.body.message, new RegExp(field));
    }
  } finally {
    await t.close();
  }
});

test('cluster controllers: two instances on one database both register; heartbeats run per instance; silent ones turn inactive', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 12));
  const a = await makeTestApp({
    clock,
    env: { CONTROLLER_UUID: '11111111-2222-4333-8444-555555555555', CONTROLLER_HOST: 'ctl-a.plant.local' },
  });
  const b = await makeTestApp({
    clock,
    env: {
      DB_URL: a.ctx.config.db.url,
      ENCRYPTION_KEY: a.ctx.config.encryptionKey!,
      CONTROLLER_UUID: '22222222-3333-4444-8555-666666666666',
    },
  });
  try {
    const admin = (await a.login()).accessToken;
    const viewer = await a.userToken('viewer');
    const developer = await a.userToken('developer');
    // The same tick: the lease would let only one instance run it; a per-instance job runs on both.
    const tick = clock.now();
    assert.equal((await runTick(a.ctx, controllerHeartbeatJob, tick)).ran, true);
    assert.equal((await runTick(b.ctx, controllerHeartbeatJob, tick)).ran, true);
    assert.equal((await runTick(b.ctx, controllerHeartbeatJob, tick)).ran, false, 'but once per instance');
    assert.equal((await runTick(a.ctx, tokenCleanupJob, tick)).ran, true);
    assert.equal((await runTick(b.ctx, tokenCleanupJob, tick)).ran, false, 'ordinary jobs still run once across instances');

    const list = await a.call('GET', '/api/v3/cluster/controllers', { token: viewer });
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 2);
    const rowA = list.body.find((r: any) => r.uuid === '11111111-2222-4333-8444-555555555555');
    assert.ok(rowA, 'CONTROLLER_UUID is the replica id');
    assert.equal(rowA.host, 'ctl-a.plant.local');
    assert.equal(rowA.isActive, true);
    assert.equal(rowA.version, a.ctx.version);
    assert.equal(rowA.processId, process.pid);
    assert.equal(rowA.lastHeartbeat, new Date(tick).toISOString());
    const uuidB = b.ctx.controllerUuid;
    assert.equal(list.body.find((r: any) => r.uuid === uuidB).host, null);

    // An operator sets B's host; B's heartbeats keep it (B has no CONTROLLER_HOST).
    assert.equal(
      (await a.call('PATCH', `/api/v3/cluster/controllers/${uuidB}`, { token: developer, body: { host: 'ctl-b' } })).status,
      403,
    );
    const patched = await a.call('PATCH', `/api/v3/cluster/controllers/${uuidB}`, {
      token: admin,
      body: { host: 'https://ctl-b.plant.local:51121' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    for (const body of [{ host: 'not a host' }, { host: '' }, { host: 'ok', extra: 1 }, {}]) {
      assert.equal(
        (await a.call('PATCH', `/api/v3/cluster/controllers/${uuidB}`, { token: admin, body })).status,
        400,
        JSON.stringify(body),
      );
    }
    assert.equal((await a.call('PATCH', '/api/v3/cluster/controllers/nope', { token: admin, body: { host: 'x' } })).status, 404);

    // A goes silent; B keeps beating. After the threshold the cleanup marks A inactive.
    clock.advance(200_000);
    await runTick(b.ctx, controllerHeartbeatJob, clock.now());
    clock.advance(200_000);
    await runTick(b.ctx, controllerHeartbeatJob, clock.now());
    const cleaned = await runTick(b.ctx, controllerCleanupJob, clock.now());
    assert.deepEqual(cleaned, { ran: true, result: { inactivated: 1 } });
    const admin2 = (await b.login()).accessToken;
    const active = await b.call('GET', '/api/v3/cluster/controllers', { token: admin2 });
    assert.deepEqual(
      active.body.map((r: any) => r.uuid),
      [uuidB],
    );
    assert.equal(active.body[0].host, 'https://ctl-b.plant.local:51121');
    const all = await b.call('GET', '/api/v3/cluster/controllers?includeInactive=true', { token: admin2 });
    assert.equal(all.body.length, 2);
    assert.equal(all.body.find((r: any) => r.uuid !== uuidB).isActive, false);
    assert.equal((await b.call('GET', '/api/v3/cluster/controllers?includeInactive=maybe', { token: admin2 })).status, 400);
    assert.equal((await b.call('GET', '/api/v3/cluster/controllers?color=red', { token: admin2 })).status, 400);
    // A comes back.
    await runTick(a.ctx, controllerHeartbeatJob, clock.now());
    assert.equal(
      (await b.call('GET', `/api/v3/cluster/controllers/11111111-2222-4333-8444-555555555555`, { token: admin2 })).body.isActive,
      true,
    );

    // Delete: gone until the replica's next heartbeat.
    assert.equal((await b.call('DELETE', `/api/v3/cluster/controllers/${uuidB}`, { token: admin2 })).status, 204);
    assert.equal((await b.call('GET', `/api/v3/cluster/controllers/${uuidB}`, { token: admin2 })).status, 404);
    assert.equal((await b.call('DELETE', `/api/v3/cluster/controllers/${uuidB}`, { token: admin2 })).status, 404);
    clock.advance(30_000);
    await runTick(b.ctx, controllerHeartbeatJob, clock.now());
    assert.equal((await b.call('GET', `/api/v3/cluster/controllers/${uuidB}`, { token: admin2 })).status, 200);
  } finally {
    await b.close();
    await a.close();
  }
});

test('a host that cannot keep a replica id (no CONTROLLER_UUID, no filesystem) is not registered', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const r = await runTick(t.ctx, controllerHeartbeatJob, Date.now());
    assert.equal(r.ran, true);
    assert.match(String((r as { result: { skipped?: string } }).result.skipped), /CONTROLLER_UUID/);
    assert.deepEqual((await t.call('GET', '/api/v3/cluster/controllers?includeInactive=true', { token: admin })).body, []);
  } finally {
    await t.close();
  }
});

test('capabilities: HEAD probes; templates and NATS supported', async () => {
  const t = await makeTestApp();
  try {
    const viewer = await t.userToken('viewer');
    const head = (path: string, token?: string) => t.call('HEAD', path, { token });
    assert.equal((await head('/api/v3/capabilities/applicationTemplates', viewer)).status, 204);
    assert.equal((await head('/api/v3/capabilities/nats', viewer)).status, 204);
    assert.equal((await head('/api/v3/capabilities/applicationTemplates')).status, 401);
    assert.equal((await head('/api/v3/capabilities/edgeResources', viewer)).status, 404, 'removed in v3.8');
  } finally {
    await t.close();
  }
});
