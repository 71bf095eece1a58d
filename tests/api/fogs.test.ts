import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';
import { processFogTasks } from '../../src/services/platform/fog-platform';

test('fogs: create with defaults, list with filters, get, patch, conflicts, validation, RBAC', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer');
    const developer = await t.userToken('developer');
    // Edge fogs need the default router and NATS hub of a system fog.
    const cp = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'cp-01', archId: 1, isSystem: true, host: 'cp.example' },
    });
    assert.equal(cp.status, 201, JSON.stringify(cp.body));
    const a = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge-lisbon-01', archId: 2, host: '10.20.0.15', routerMode: 'edge', tags: ['site:lisbon'], unknownKey: 1 },
    });
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
    assert.deepEqual(
      all.body.fogs.map((f: { name: string }) => f.name),
      ['cp-01', 'edge-lisbon-01', 'edge-porto-02'],
    );
    assert.equal(all.body.fogs[1].platformStatus.phase, 'Pending', 'the router platform is reconciled asynchronously');
    const has = await t.call('GET', '/api/v3/iofog-list?filters[0][key]=name&filters[0][value]=PORTO&filters[0][condition]=has', {
      token: viewer,
    });
    assert.deepEqual(
      has.body.fogs.map((f: { name: string }) => f.name),
      ['edge-porto-02'],
    );
    const eq = await t.call('GET', '/api/v3/iofog-list?filters[0][key]=name&filters[0][value]=edge&filters[0][condition]=equals', {
      token: viewer,
    });
    assert.deepEqual(eq.body.fogs, []);
    assert.equal((await t.call('GET', '/api/v3/iofog-list?filters[0][key]=secret&filters[0][value]=x', { token: viewer })).status, 400);
    assert.equal(
      (await t.call('GET', '/api/v3/iofog-list?filters[0][key]=name&filters[0][value]=x&filters[0][condition]=like', { token: viewer }))
        .status,
      400,
    );

    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}`, { token: admin, body: { name: 'edge-lisbon-01' } })).status, 409);
    assert.equal(
      (
        await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}`, {
          token: admin,
          body: { location: 'Porto', cpuLimit: 55.5, logLevel: 'debug' },
        })
      ).status,
      204,
    );
    const patched = (await t.call('GET', `/api/v3/iofog/${b.body.uuid}`, { token: viewer })).body;
    assert.equal(patched.location, 'Porto');
    assert.equal(patched.cpuLimit, 55.5);
    assert.equal(patched.logLevel, 'DEBUG');
    // 0 is upstream's minimum: stored as 0, and the agent is sent its default period instead (never 0).
    assert.equal(
      (await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}`, { token: admin, body: { statusFrequency: 0, changeFrequency: 0 } })).status,
      204,
    );
    const zero = (await t.call('GET', `/api/v3/iofog/${b.body.uuid}`, { token: viewer })).body;
    assert.deepEqual([zero.statusFrequency, zero.changeFrequency], [0, 0]);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}`, { token: admin, body: { statusFrequency: -1 } })).status, 400);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}`, { token: admin, body: { changeFrequency: 1.5 } })).status, 400);
    assert.equal((await t.call('PATCH', '/api/v3/iofog/missing', { token: admin, body: { location: 'x' } })).status, 404);
    assert.equal((await t.call('GET', '/api/v3/iofog/missing', { token: admin })).status, 404);
    assert.equal((await t.call('GET', '/api/v3/iofog/missing/provisioning-key', { token: admin })).status, 404);
    assert.equal((await t.call('POST', '/api/v3/iofog/missing/reboot', { token: admin })).status, 404);

    const tunnel = await t.call('GET', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: admin });
    assert.equal(tunnel.status, 200);
    assert.equal(tunnel.body.status, 'closed');
    assert.equal(
      (await t.call('GET', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: viewer })).status,
      403,
      'viewer has no tunnels access',
    );
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: admin, body: { action: 'open' } })).status, 400);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: admin, body: { action: 'close' } })).status, 204);
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${b.body.uuid}/tunnel`, { token: admin, body: { action: 'jump' } })).status, 400);

    assert.equal((await t.call('DELETE', `/api/v3/iofog/${a.body.uuid}`, { token: developer })).status, 403);
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${a.body.uuid}`, { token: admin })).status, 202);
    // Never provisioned: removed at once (no agent to confirm), its name free again.
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${a.body.uuid}`, { token: admin, body: { location: 'x' } })).status, 404, 'removed');
    assert.equal((await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge-lisbon-01', archId: 1 } })).status, 201);
  } finally {
    await t.close();
  }
});

test('fog creation rules: the first fog with a host becomes the system fog; edge fogs need its router and hub; references checked; system fogs stay interior/server; routerMode-none fogs follow their router', {
  timeout: 120_000,
}, async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });
    const refused = async (body: Record<string, unknown>, status: number, message: RegExp) => {
      const r = await call('POST', '/api/v3/iofog', { archId: 1, ...body });
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.message, message);
    };
    const mk = async (body: Record<string, unknown>) => {
      const r = await call('POST', '/api/v3/iofog', { archId: 1, ...body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.uuid as string;
    };

    // Nothing yet provides the default router or the NATS hub (a first fog without a host cannot).
    await refused({ name: 'early' }, 404, /^default-router not found: no system fog provides it yet\. Create the system fog first/);
    await refused(
      { name: 'early', routerMode: 'none' },
      404,
      /^default-nats-hub not found: no system fog provides it yet\. Create the system fog first/,
    );
    await refused({ name: 'sys', isSystem: true }, 400, /^host: required/);
    await refused(
      { name: 'sys', isSystem: true, host: 'x.example', routerMode: 'edge' },
      400,
      /^routerMode: a system fog must be interior/,
    );
    await refused({ name: 'sys', isSystem: true, host: 'x.example', natsMode: 'leaf' }, 400, /^natsMode: a system fog must be server/);

    // The first fog with a host becomes the system fog: interior router (conventional ports), NATS server.
    const cp = await mk({ name: 'cp', host: 'cp.example' });
    const cpView = (await call('GET', `/api/v3/iofog/${cp}`)).body;
    assert.equal(cpView.isSystem, true);
    assert.equal(cpView.routerMode, 'interior');
    assert.equal(cpView.natsMode, 'server');
    assert.equal(cpView.interRouterPort, 55671);
    assert.equal(cpView.edgeRouterPort, 45671);
    assert.equal((await t.call('GET', '/api/v3/router', { token: admin })).body.host, 'cp.example');
    // Later fogs are edge fogs by default, and may now rely on the default router and hub.
    const e1 = await mk({ name: 'e1' });
    const e1View = (await call('GET', `/api/v3/iofog/${e1}`)).body;
    assert.equal(e1View.isSystem, false);
    assert.equal(e1View.routerMode, 'edge');
    assert.equal(e1View.natsMode, 'leaf');
    // As v3.8 shows them: a router created without named upstreams connects to the default router.
    assert.deepEqual(e1View.upstreamRouters, ['default-router']);
    assert.deepEqual(cpView.upstreamRouters, [], 'the system fog is the default router');

    // Named upstreams must exist and have the right mode.
    await refused({ name: 'e2', upstreamRouters: ['ghost'] }, 404, /^upstreamRouters: router ghost not found/);
    await refused({ name: 'e2', upstreamRouters: ['e1'] }, 400, /^upstreamRouters: e1 is not an interior router/);
    await refused({ name: 'e2', upstreamNatsServers: ['ghost'] }, 404, /^upstreamNatsServers: NATS server ghost not found/);
    await refused({ name: 'e2', upstreamNatsServers: ['e1'] }, 400, /^upstreamNatsServers: e1 is not a NATS server/);
    await refused(
      { name: 'n1', routerMode: 'none', natsMode: 'none', networkRouter: 'ghost' },
      404,
      /^networkRouter: router ghost not found/,
    );
    const n0 = await mk({ name: 'n0', routerMode: 'none', natsMode: 'none' });
    // A fog without a router uses the default one, and says so; its agent still gets the local-agent
    // certificate, signed by the default router's local CA (as v3.8 issues it for every fog).
    assert.equal((await call('GET', `/api/v3/iofog/${n0}`)).body.networkRouter, 'default-router');
    await processFogTasks(t.ctx, 50);
    const agentCert = await call('GET', '/api/v3/certificates/router-local-agent-n0');
    assert.equal(agentCert.status, 200, JSON.stringify(agentCert.body));
    assert.equal(agentCert.body.caName, 'default-router-local-ca');
    await refused({ name: 'n1', routerMode: 'none', natsMode: 'none', networkRouter: 'n0' }, 400, /^networkRouter: fog n0 has no router/);
    await mk({ name: 'e2', upstreamRouters: ['default-router', 'cp'], upstreamNatsServers: ['default-nats-hub'] });

    // System fogs keep their role.
    for (const [body, message] of [
      [{ isSystem: false }, /^isSystem: immutable/],
      [{ routerMode: 'edge' }, /^routerMode: a system fog must be interior/],
      [{ natsMode: 'leaf' }, /^natsMode: a system fog must be server/],
    ] as const) {
      const r = await call('PATCH', `/api/v3/iofog/${cp}`, body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.message, message);
    }
    assert.equal((await call('PATCH', `/api/v3/iofog/${e1}`, { isSystem: true })).status, 400);
    assert.equal((await call('PATCH', `/api/v3/iofog/${e1}`, { upstreamRouters: ['ghost'] })).status, 404);

    // An interior router other fogs name as upstream cannot turn edge.
    const mid = await mk({
      name: 'mid',
      routerMode: 'interior',
      host: 'mid.example',
      interRouterPort: 55672,
      edgeRouterPort: 45672,
      natsMode: 'none',
    });
    const down = await mk({ name: 'down', routerMode: 'edge', host: 'down.example', upstreamRouters: ['mid'], natsMode: 'none' });
    const turn = await call('PATCH', `/api/v3/iofog/${mid}`, { routerMode: 'edge' });
    assert.equal(turn.status, 400);
    assert.match(turn.body.message, /^routerMode: fog mid is the upstream router of down/);

    // A routerMode-none fog using mid's router: when mid goes, it goes back to the default router and is told.
    const n1 = await mk({ name: 'n1', routerMode: 'none', natsMode: 'none', networkRouter: 'mid' });
    await processFogTasks(t.ctx, 50);
    const agentOf = async (uuid: string) => {
      const key = await call('GET', `/api/v3/iofog/${uuid}/provisioning-key`);
      const agent = await AgentSigner.fromProvision(
        (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } })).body,
      );
      const a = async (method: string, path: string, body?: unknown) =>
        t.call(method, `/api/v3/agent${path}`, { token: await agent.token(), body });
      const first = await a('GET', '/config/changes');
      await a('PATCH', '/config/changes', { lastUpdated: first.body.lastUpdated });
      return a;
    };
    const n1Agent = await agentOf(n1);
    const downAgent = await agentOf(down);
    assert.equal((await n1Agent('GET', '/config/changes')).body.routerChanged, false);
    assert.equal((await call('DELETE', `/api/v3/iofog/${mid}`)).status, 202);
    await processFogTasks(t.ctx, 50);
    assert.equal((await n1Agent('GET', '/config/changes')).body.routerChanged, true, 'the fog without a router is told its router changed');
    assert.equal((await call('GET', `/api/v3/iofog/${n1}`)).body.networkRouter, 'default-router', 'back on the default router');
    const downChanges = (await downAgent('GET', '/config/changes')).body;
    assert.equal(downChanges.routerChanged, true, 'the re-homed edge router is told too');
    assert.equal(downChanges.microserviceConfig, true);

    // The system fog (the default router) goes: fogs on the default router are told, fogs naming another router are not.
    const _other = await mk({
      name: 'other',
      routerMode: 'interior',
      host: 'other.example',
      interRouterPort: 55673,
      edgeRouterPort: 45673,
      natsMode: 'none',
    });
    const n2 = await mk({ name: 'n2', routerMode: 'none', natsMode: 'none', networkRouter: 'other' });
    await processFogTasks(t.ctx, 50);
    const n2Agent = await agentOf(n2);
    const ack = async (a: typeof n1Agent) =>
      a('PATCH', '/config/changes', { lastUpdated: (await a('GET', '/config/changes')).body.lastUpdated });
    await ack(n1Agent);
    assert.equal((await n1Agent('GET', '/config/changes')).body.routerChanged, false);
    assert.equal((await call('DELETE', `/api/v3/iofog/${cp}`)).status, 202);
    await processFogTasks(t.ctx, 50);
    assert.equal(
      (await n1Agent('GET', '/config/changes')).body.routerChanged,
      true,
      'a fog on the default router is told when the system fog goes',
    );
    assert.equal((await n2Agent('GET', '/config/changes')).body.routerChanged, false, 'a fog naming another router is not');
    assert.equal((await call('GET', `/api/v3/iofog/${n2}`)).body.networkRouter, 'other', 'and keeps its router');
  } finally {
    await t.close();
  }
});
