import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';
import { ManualClock } from '../../src/lib/clock';
import { runTick } from '../../src/jobs/runner';
import { eventCleanupJob } from '../../workers/event-cleanup';

const DAY = 86_400_000;

async function events(t: TestApp, token: string, query = '') {
  const r = await t.call('GET', `/api/v3/events${query}`, { token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as { events: Array<Record<string, any>>; total: number; limit: number; offset: number };
}

const rowCount = async (t: TestApp) => Number((await t.ctx.store.raw.execute('SELECT count(*) AS n FROM audit_event')).rows[0]!.n);

test('events: every successful write leaves exactly one event; failing writes leave none', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer');
    const before = await rowCount(t);

    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'audit-fog', archId: 1, routerMode: 'none', natsMode: 'none' },
      ip: '10.9.8.7',
    });
    assert.equal(fog.status, 201);
    assert.equal(await rowCount(t), before + 1);
    const [ev] = (await events(t, admin, '?limit=1')).events;
    assert.equal(ev!.method, 'POST');
    assert.equal(ev!.resourceType, 'fogs');
    assert.equal(ev!.resourceId, fog.body.uuid, 'a create names the object it created');
    assert.equal(ev!.endpointPath, '/api/v3/iofog');
    assert.equal(ev!.endpointType, 'user');
    assert.equal(ev!.actorId, 'admin@example.com');
    assert.equal(ev!.ipAddress, '10.9.8.7');
    assert.equal(ev!.status, 'SUCCESS');
    assert.equal(ev!.statusCode, 201);
    assert.equal(ev!.requestId, fog.headers.get('x-request-id'));
    assert.equal(ev!.eventType, 'HTTP');

    // Failing writes: conflict, validation, RBAC, not found — no event.
    const n = await rowCount(t);
    assert.equal(
      (
        await t.call('POST', '/api/v3/iofog', {
          token: admin,
          body: { name: 'audit-fog', archId: 1, routerMode: 'none', natsMode: 'none' },
        })
      ).status,
      409,
    );
    assert.equal((await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 42 } })).status, 400);
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: viewer, body: { name: 'x', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      403,
    );
    assert.equal((await t.call('PATCH', '/api/v3/iofog/nope', { token: admin, body: { description: 'x' } })).status, 404);
    assert.equal(
      (
        await t.call('POST', '/api/v3/application', {
          token: admin,
          body: { name: 'bad-app', microservices: [{ name: 'a', agentName: 'missing-fog', images: [{ containerImage: 'x', archId: 1 }] }] },
        })
      ).status,
      400,
    );
    assert.equal(await rowCount(t), n, 'no event for a failing write');

    // A request with several internal writes is still one event.
    const app = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'audit-app',
        isActivated: true,
        microservices: [
          { name: 'a', agentName: 'audit-fog', images: [{ containerImage: 'img/a', archId: 1 }] },
          { name: 'b', agentName: 'audit-fog', images: [{ containerImage: 'img/b', archId: 1 }] },
        ],
      },
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    assert.equal(await rowCount(t), n + 1);
    const patched = await t.call('PATCH', `/api/v3/iofog/${fog.body.uuid}`, { token: admin, body: { description: 'patched' } });
    assert.ok(patched.status < 300);
    const [pe] = (await events(t, admin, '?limit=1')).events;
    assert.equal(pe!.method, 'PATCH');
    assert.equal(pe!.resourceId, fog.body.uuid);
    assert.equal(await rowCount(t), n + 2);
    // Reads leave nothing.
    await t.call('GET', '/api/v3/iofog-list', { token: admin });
    await t.call('GET', '/api/v3/application/audit-app', { token: admin });
    assert.equal(await rowCount(t), n + 2);
  } finally {
    await t.close();
  }
});

test('events: agent provision and deprovision are recorded with the fog as actor', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge-1', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    const n = await rowCount(t);
    assert.equal((await t.call('POST', '/api/v3/agent/provision', { body: { key: 'not-a-key', type: 1 } })).status, 404);
    assert.equal(await rowCount(t), n, 'a refused provision leaves no event');
    const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } });
    assert.equal(prov.status, 200);
    const agent = await AgentSigner.fromProvision(prov.body);
    const deprov = await t.call('POST', '/api/v3/agent/deprovision', { token: await agent.token(), body: { microserviceUuids: [] } });
    assert.equal(deprov.status, 204, JSON.stringify(deprov.body));
    const list = await events(t, admin, '?endpointType=agent');
    assert.equal(list.total, 2);
    assert.deepEqual(
      list.events.map((e) => e.endpointPath),
      ['/api/v3/agent/deprovision', '/api/v3/agent/provision'],
    );
    for (const e of list.events) {
      assert.equal(e.actorId, fog.body.uuid);
      assert.equal(e.resourceId, fog.body.uuid);
      assert.equal(e.resourceType, 'fogs');
    }
    // Agent polling is not audited (it would be a write per request on the hot path).
    assert.equal(await rowCount(t), n + 2);
  } finally {
    await t.close();
  }
});

test('events: filters, paging, validation and RBAC', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 12));
  const t = await makeTestApp({ clock });
  try {
    const admin = (await t.login()).accessToken;
    const sre = await t.userToken('sre', 'sre@example.com');
    const developer = await t.userToken('developer', 'dev@example.com');
    const viewer = await t.userToken('viewer', 'view@example.com');
    await t.call('DELETE', '/api/v3/events', { token: admin, body: { days: 0 } });
    const t0 = clock.now();
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      assert.equal(
        (await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: `f${i}`, archId: 1, routerMode: 'none', natsMode: 'none' } }))
          .status,
        201,
      );
    }
    clock.advance(60_000);
    const f = await t.call('GET', '/api/v3/iofog-list', { token: sre });
    const uuid = f.body.fogs[0].uuid;
    assert.ok((await t.call('PATCH', `/api/v3/iofog/${uuid}`, { token: sre, body: { description: 'by sre' } })).status < 300);

    const all = await events(t, sre);
    assert.equal(all.total, 7, 'purge + 5 creates + 1 patch');
    assert.equal(all.limit, 200);
    const page = await events(t, admin, '?limit=2&offset=1');
    assert.equal(page.events.length, 2);
    assert.equal(page.total, 7);
    assert.deepEqual(
      page.events.map((e) => e.id),
      all.events.slice(1, 3).map((e) => e.id),
    );
    assert.equal((await events(t, admin, '?actorId=sre%40example.com')).total, 1);
    assert.equal((await events(t, admin, '?method=PATCH')).total, 1);
    assert.equal((await events(t, admin, '?method=PATCH&method=DELETE')).total, 2);
    assert.equal((await events(t, admin, '?resourceType=fogs&method=POST')).total, 5);
    assert.equal((await events(t, admin, `?startTime=${t0 + 120_000}&endTime=${t0 + 240_000}`)).total, 3);
    assert.equal((await events(t, admin, `?startTime=${new Date(t0 + 240_000).toISOString()}`)).total, 3);
    assert.equal((await events(t, admin, '?status=FAILED')).total, 0);

    for (const [q, field] of [
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?offset=-1', 'offset'],
      ['?startTime=yesterday', 'startTime'],
      ['?endpointType=robot', 'endpointType'],
      ['?status=OK', 'status'],
      ['?method=TRACE', 'method'],
      ['?color=red', 'color'],
    ] as const) {
      const r = await t.call('GET', `/api/v3/events${q}`, { token: admin });
      assert.equal(r.status, 400, q);
      assert.match(r.body.message, new RegExp(field), `${q}: ${r.body.message}`);
    }
    const inverted = await t.call('GET', `/api/v3/events?startTime=${t0 + 1000}&endTime=${t0}`, { token: admin });
    assert.equal(inverted.status, 400);

    // events is SRE-only among the non-admin roles.
    assert.equal((await t.call('GET', '/api/v3/events', { token: viewer })).status, 403);
    assert.equal((await t.call('GET', '/api/v3/events', { token: developer })).status, 403);
    assert.equal((await t.call('DELETE', '/api/v3/events', { token: developer, body: { days: 0 } })).status, 403);
    for (const body of [{ days: -1 }, { days: 366 }, { days: 1.5 }, {}, { days: 1, extra: true }]) {
      const r = await t.call('DELETE', '/api/v3/events', { token: admin, body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
  } finally {
    await t.close();
  }
});

test('events: purge by age and retention job; the purge is on record', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 12));
  const t = await makeTestApp({ clock, env: { EVENT_RETENTION_DAYS: '7' } });
  try {
    const admin = (await t.login()).accessToken;
    await t.call('DELETE', '/api/v3/events', { token: admin, body: { days: 0 } });
    await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'old', archId: 1, routerMode: 'none', natsMode: 'none' } });
    clock.advance(10 * DAY);
    // Access tokens expire; log in again after the clock jump.
    const admin2 = (await t.login()).accessToken;
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: admin2, body: { name: 'new', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      201,
    );

    const job = await runTick(t.ctx, eventCleanupJob, clock.now());
    assert.equal(job.ran, true);
    const left = await events(t, admin2);
    assert.deepEqual(
      left.events.map((e) => [e.actorId, e.method]),
      [
        ['SYSTEM_CLEANUP', 'DELETE'],
        ['admin@example.com', 'POST'],
      ],
    );
    assert.equal(left.events[0]!.endpointType, 'system');
    // Nothing to delete → no cleanup event.
    clock.advance(60_000);
    await runTick(t.ctx, eventCleanupJob, clock.now());
    assert.equal((await events(t, admin2)).total, 2);

    clock.advance(2 * DAY);
    const admin3 = (await t.login()).accessToken;
    const purged = await t.call('DELETE', '/api/v3/events', { token: admin3, body: { days: 1 } });
    assert.equal(purged.status, 200);
    assert.equal(purged.body.deletedCount, 2);
    assert.equal(purged.body.deletedAll, false);
    assert.equal(purged.body.deletedBefore, new Date(clock.now() - DAY).toISOString());
    const all = await t.call('DELETE', '/api/v3/events', { token: admin3, body: { days: 0 } });
    assert.equal(all.body.deletedCount, 1);
    assert.equal(all.body.deletedAll, true);
    assert.equal(all.body.deletedBefore, null);
    const after = await events(t, admin3);
    assert.equal(after.total, 1, 'only the purge itself remains');
    assert.equal(after.events[0]!.method, 'DELETE');
  } finally {
    await t.close();
  }
});

test('events: AUDIT_ENABLED=false records nothing; AUDIT_CAPTURE_IP=false drops addresses', async () => {
  const off = await makeTestApp({ env: { AUDIT_ENABLED: 'false' } });
  try {
    const admin = (await off.login()).accessToken;
    await off.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'quiet', archId: 1, routerMode: 'none', natsMode: 'none' } });
    assert.equal(await rowCount(off), 0);
  } finally {
    await off.close();
  }
  const noIp = await makeTestApp({ env: { AUDIT_CAPTURE_IP: 'false' } });
  try {
    const admin = (await noIp.login()).accessToken;
    await noIp.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'anon', archId: 1, routerMode: 'none', natsMode: 'none' } });
    const [ev] = (await events(noIp, admin)).events;
    assert.equal(ev!.ipAddress, null);
  } finally {
    await noIp.close();
  }
});

test('events: a long list read in chunks is the same list, in the same order, as one query gives', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    // 700 events, seven to a millisecond (ties across chunk boundaries), every third about fogs.
    const values = Array.from({ length: 700 }, (_, i) => {
      const ts = 1_700_000_000_000 + Math.floor(i / 7);
      return `(${ts}, 'HTTP', 'user', 'GET', '${i % 3 === 0 ? 'fogs' : 'users'}', '/api/v3/x/${i}', 'SUCCESS', ${ts}, ${ts})`;
    });
    await t.ctx.store.raw.execute(
      `INSERT INTO audit_event (timestamp, event_type, endpoint_type, method, resource_type, endpoint_path, status, created_at, updated_at) VALUES ${values.join(',')}`,
    );
    const expected = async (where: string, limit: number, offset: number) =>
      (
        await t.ctx.store.raw.execute(
          `SELECT id FROM audit_event ${where} ORDER BY timestamp DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
        )
      ).rows.map((r) => Number(r.id));
    const total = Number((await t.ctx.store.raw.execute('SELECT count(*) AS n FROM audit_event')).rows[0]!.n);
    for (const [query, where, limit, offset] of [
      ['?limit=1000', '', 1000, 0],
      ['?limit=450&offset=130', '', 450, 130],
      ['?limit=1000&offset=699', '', 1000, 699],
      ['?limit=1000&resourceType=fogs', "WHERE resource_type = 'fogs'", 1000, 0],
      ['?limit=201&offset=5&resourceType=users', "WHERE resource_type = 'users'", 201, 5],
    ] as const) {
      const body = await events(t, admin, query);
      const want = await expected(where, limit, offset);
      assert.ok(want.length > 0, query);
      assert.deepEqual(
        body.events.map((e) => e.id),
        want,
        query,
      );
      if (!where) assert.equal(body.total, total, query);
    }
  } finally {
    await t.close();
  }
});
