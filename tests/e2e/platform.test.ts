// The fog platform against the built bundle as a real process: the platform worker (every 3 s) gives each
// fog its router system microservice with certificates and configuration; the Edgelet simulator pulls it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Edgelet } from '../harness/edgelet';
import { ADMIN, startController } from '../harness/process';
import { waitFor } from '../harness/wait';

test('fog platform e2e: the worker provisions the router (mounts, config), a failed reconcile recovers on manual retry, a deleted fog takes its router along', {
  timeout: 120_000,
}, async () => {
  const ctl = await startController();
  try {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(ctl.url + path, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const t = await res.text();
      return { status: res.status, body: t ? JSON.parse(t) : undefined };
    };
    let token = '';
    token = (
      await (
        await fetch(`${ctl.url}/api/v3/user/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(ADMIN),
        })
      ).json()
    ).accessToken;
    // Generous: reconciling issues RSA keys, slow on a loaded machine; waitFor returns as soon as the phase is reached.
    const phase = async (uuid: string, want: string, timeoutMs = 60_000) => {
      let last: unknown;
      return waitFor(
        `fog ${uuid} to reach ${want}`,
        async () => {
          const s = (await api('GET', `/api/v3/iofog/${uuid}`)).body.platformStatus;
          last = s;
          return s.phase === want ? s : false;
        },
        { timeoutMs, intervalMs: 200 },
      ).catch(() => {
        throw new Error(`fog ${uuid} stayed ${JSON.stringify(last)}, wanted ${want}`);
      });
    };
    const hub = await api('POST', '/api/v3/iofog', {
      name: 'hub',
      archId: 1,
      isSystem: true,
      routerMode: 'interior',
      host: 'hub.example',
      interRouterPort: 55671,
      edgeRouterPort: 45671,
    });
    const fog = await api('POST', '/api/v3/iofog', { name: 'site-a', archId: 0, routerMode: 'edge', host: 'site-a.example' });
    assert.equal(fog.status, 201);
    const key = await api('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`);
    const edge = new Edgelet(`${ctl.url}/api/v3`, { archId: 2 });
    assert.equal((await edge.provision(key.body.key)).status, 200);
    await edge.boot();
    await phase(hub.body.uuid, 'Ready');
    await phase(fog.body.uuid, 'Ready');
    await edge.changeCycle();
    const router = [...edge.running.values()].find((m) => m.isRouter);
    assert.ok(router, `router delivered: ${JSON.stringify([...edge.running.values()].map((m) => m.name))}`);
    assert.equal(router.imageId, 'ghcr.io/eclipse-iofog/router:latest');
    assert.equal(JSON.parse(router.config).connectors['default-router'].host, 'hub.example');
    const mounted = new Set(edge.volumeMounts.map((m) => m.name));
    for (const v of router.volumeMappings) assert.ok(mounted.has(v.hostDestination), `mount ${v.hostDestination} delivered with its data`);
    // And its NATS leaf (natsMode defaults to leaf): configuration, bundle, certificates and creds mounted.
    const nats = [...edge.running.values()].find((m) => m.isNats);
    assert.ok(nats, 'nats leaf delivered');
    const natsMounts = nats.volumeMappings
      .filter((v: { type: string }) => v.type === 'volumeMount')
      .map((v: { hostDestination: string }) => v.hostDestination);
    assert.deepEqual(natsMounts, [
      'nats-server-conf-site-a',
      'nats-jwt-bundle-site-a',
      'nats-server-site-a',
      'nats-mqtt-server-site-a',
      'nats-leaf-creds-site-a',
    ]);
    for (const m of natsMounts) assert.ok(mounted.has(m), `mount ${m} delivered`);
    assert.ok(
      nats.env.some((e: { key: string; value: string }) => e.key === 'JETSTREAM_KEY' && e.value.length >= 40),
      'the JetStream key is resolved from its secret for the agent',
    );

    // A fog whose router cannot be built: Failed with the reason; fixed catalog + manual retry → Ready.
    const rv = await api('POST', '/api/v3/iofog', { name: 'rv', archId: 3, routerMode: 'edge', host: 'rv.example', natsMode: 'none' });
    const failed = await phase(rv.body.uuid, 'Failed');
    assert.match(failed.lastError, /archId 3/);
    const catalog = (await api('GET', '/api/v3/catalog/microservices')).body.catalogItems.find(
      (i: { name: string }) => i.name === 'Router',
    );
    const images = catalog.images.map((i: { containerImage: string; archId?: number; fogTypeId?: number }) => ({
      containerImage: i.containerImage,
      archId: i.archId ?? i.fogTypeId,
    }));
    assert.ok(
      (
        await api('PATCH', `/api/v3/catalog/microservices/${catalog.id}`, {
          images: [...images, { containerImage: 'ghcr.io/eclipse-iofog/router:riscv', archId: 3 }],
        })
      ).status < 300,
    );
    assert.equal((await api('POST', `/api/v3/iofog/${rv.body.uuid}/reconcile`)).status, 202);
    const fixed = await phase(rv.body.uuid, 'Ready');
    assert.equal(fixed.lastError, null);

    // Delete: the agent is told to remove the router and the node; once it confirms, the material is gone.
    assert.equal((await api('DELETE', `/api/v3/iofog/${fog.body.uuid}`)).status, 202);
    assert.equal((await api('GET', `/api/v3/iofog/${fog.body.uuid}`)).body.platformStatus.phase, 'Deleting');
    // Each change cycle is what an agent would run on its poll; the reconcile worker decides when deleteNode is raised.
    await waitFor(
      'the agent to confirm the deletion',
      async () => {
        await edge.changeCycle();
        return edge.deleted;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal((await api('GET', `/api/v3/iofog/${fog.body.uuid}`)).status, 404);
    assert.equal((await api('GET', '/api/v3/certificates/router-site-server-site-a')).status, 404);
    assert.equal((await api('GET', '/api/v3/certificates/nats-server-site-a')).status, 404);
    assert.equal((await api('GET', '/api/v3/configmaps/nats-server-conf-site-a')).status, 404);
    edge.close();
  } finally {
    await ctl.stop('SIGKILL');
  }
});

test('fog platform e2e: two Controller processes on one database file run the worker; every fog task is processed exactly once', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'controller-platform-'));
  // Each reconcile is logged at debug (a fleet-wide change would otherwise flood the log at info).
  const a = await startController({ dir, env: { LOG_LEVEL: 'debug' } });
  const b = await startController({ dir, env: { LOG_LEVEL: 'debug' } });
  try {
    // Each instance is its own issuer here (CONTROLLER_PUBLIC_URL defaults to its own address): one token each.
    const login = async (url: string) =>
      (
        await (
          await fetch(`${url}/api/v3/user/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(ADMIN),
          })
        ).json()
      ).accessToken as string;
    const token = await login(a.url);
    const tokenB = await login(b.url);
    const uuids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const [base, tok] = i % 2 ? [a.url, token] : [b.url, tokenB];
      const res = await fetch(`${base}/api/v3/iofog`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
        body: JSON.stringify({ name: `twin-${i}`, archId: 1, routerMode: 'none', natsMode: 'none' }),
      });
      const created = await res.json();
      assert.equal(res.status, 201, JSON.stringify(created));
      uuids.push(created.uuid);
    }
    let phases: string[] = [];
    const allReady = async () => {
      phases = await Promise.all(
        uuids.map(
          async (u) =>
            (await (await fetch(`${a.url}/api/v3/iofog/${u}`, { headers: { authorization: `Bearer ${token}` } })).json()).platformStatus
              .phase,
        ),
      );
      return phases.every((p) => p === 'Ready');
    };
    await waitFor('every fog to be Ready', allReady, { timeoutMs: 60_000, intervalMs: 300 }).catch(() => {
      throw new Error(`not all Ready: ${phases.join(', ')}`);
    });
    // The log line follows the commit that made the fog Ready: wait until every fog has one.
    const reconciledLines = () => (a.output() + b.output()).split('\n').filter((l) => l.includes('fog platform reconciled'));
    await waitFor('a reconcile log line for every fog', () => uuids.every((u) => reconciledLines().some((l) => l.includes(u))));
    const lines = reconciledLines();
    for (const u of uuids) assert.equal(lines.filter((l) => l.includes(u)).length, 1, `fog ${u} reconciled exactly once`);
    const perInstance = [a, b].map(
      (c) =>
        c
          .output()
          .split('\n')
          .filter((l) => l.includes('fog platform reconciled')).length,
    );
    console.log(JSON.stringify({ reconciledPerInstance: perInstance }));
  } finally {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
