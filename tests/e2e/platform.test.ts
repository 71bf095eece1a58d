// The fog platform against the built bundle as a real process: the platform worker (every 3 s) gives each
// fog its router system microservice with certificates and configuration; the Edgelet simulator pulls it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Edgelet } from '../harness/edgelet';
import { ADMIN, startController } from '../harness/process';

test('fog platform e2e: the worker provisions the router (mounts, config), a failed reconcile recovers on manual retry, a deleted fog takes its router along', { timeout: 120_000 }, async () => {
  const ctl = await startController();
  try {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(ctl.url + path, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
      const t = await res.text();
      return { status: res.status, body: t ? JSON.parse(t) : undefined };
    };
    let token = '';
    token = (await (await fetch(`${ctl.url}/api/v3/user/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })).json()).accessToken;
    const phase = async (uuid: string, want: string, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = (await api('GET', `/api/v3/iofog/${uuid}`)).body.platformStatus;
        if (s.phase === want) return s;
        if (Date.now() > deadline) throw new Error(`fog ${uuid} stayed ${JSON.stringify(s)}, wanted ${want}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const hub = await api('POST', '/api/v3/iofog', { name: 'hub', archId: 1, isSystem: true, routerMode: 'interior', host: 'hub.example', interRouterPort: 55671, edgeRouterPort: 45671 });
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

    // A fog whose router cannot be built: Failed with the reason; fixed catalog + manual retry → Ready.
    const rv = await api('POST', '/api/v3/iofog', { name: 'rv', archId: 3, routerMode: 'edge', host: 'rv.example', natsMode: 'none' });
    const failed = await phase(rv.body.uuid, 'Failed');
    assert.match(failed.lastError, /archId 3/);
    const catalog = (await api('GET', '/api/v3/catalog/microservices')).body.catalogItems.find((i: { name: string }) => i.name === 'Router');
    const images = catalog.images.map((i: { containerImage: string; archId?: number; fogTypeId?: number }) => ({ containerImage: i.containerImage, archId: i.archId ?? i.fogTypeId }));
    assert.ok((await api('PATCH', `/api/v3/catalog/microservices/${catalog.id}`, { images: [...images, { containerImage: 'ghcr.io/eclipse-iofog/router:riscv', archId: 3 }] })).status < 300);
    assert.equal((await api('POST', `/api/v3/iofog/${rv.body.uuid}/reconcile`)).status, 202);
    const fixed = await phase(rv.body.uuid, 'Ready');
    assert.equal(fixed.lastError, null);

    // Delete: the agent is told to remove the router and the node; once it confirms, the material is gone.
    assert.equal((await api('DELETE', `/api/v3/iofog/${fog.body.uuid}`)).status, 202);
    assert.equal((await api('GET', `/api/v3/iofog/${fog.body.uuid}`)).body.platformStatus.phase, 'Deleting');
    for (let i = 0; i < 100 && !edge.deleted; i++) {
      await edge.changeCycle();
      if (!edge.deleted) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(edge.deleted, 'the agent confirmed the deletion');
    assert.equal((await api('GET', `/api/v3/iofog/${fog.body.uuid}`)).status, 404);
    assert.equal((await api('GET', '/api/v3/certificates/router-site-server-site-a')).status, 404);
    edge.close();
  } finally {
    await ctl.stop('SIGKILL');
  }
});
