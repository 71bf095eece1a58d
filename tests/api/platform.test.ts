import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createClient } from '@libsql/client';
import { makeTestApp, ADMIN } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';
import { processFogTasks, sweepFogPlatforms } from '../../src/services/platform/fog-platform';
import { and, eq } from 'drizzle-orm';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { Vault } from '../../src/crypto/vault';
import { fog, fogPlatformTask, fogPlatformStatus, microservice } from '../../db/schema/index';
import { createFog } from '../../src/services/fogs/fogs';
import { natsSkip } from '../harness/nats';

test('fog platform: router microservice with certificates and config per fog; failure, backoff and manual retry; host change; delete', {
  timeout: 120_000,
}, async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });
    const hub = await call('POST', '/api/v3/iofog', {
      name: 'hub',
      archId: 1,
      isSystem: true,
      routerMode: 'interior',
      host: 'hub.example',
      interRouterPort: 55671,
      edgeRouterPort: 45671,
    });
    assert.equal(hub.status, 201, JSON.stringify(hub.body));
    const edge = await call('POST', '/api/v3/iofog', { name: 'edge-1', archId: 2, routerMode: 'edge', host: '10.0.0.7' });
    assert.equal(edge.status, 201);
    const pending = await call('GET', `/api/v3/iofog/${edge.body.uuid}`);
    assert.equal(pending.body.platformStatus.phase, 'Pending', 'the router comes asynchronously');
    assert.deepEqual((await processFogTasks(t.ctx, 10)).failed, []);
    const ready = (await call('GET', `/api/v3/iofog/${edge.body.uuid}`)).body.platformStatus;
    assert.equal(ready.phase, 'Ready');
    assert.equal(ready.observedGeneration, ready.generation);
    assert.deepEqual(ready.conditions, [
      { type: 'RouterReady', status: 'True' },
      { type: 'NatsReady', status: 'True' },
    ]);
    assert.equal(
      (await call('GET', '/api/v3/iofog-list')).body.fogs.find((f: { name: string }) => f.name === 'hub').platformStatus.phase,
      'Ready',
    );

    // The edge agent receives its router: image for its arch, ports, cert mounts, the configuration document.
    const key = await call('GET', `/api/v3/iofog/${edge.body.uuid}/provisioning-key`);
    const agent = await AgentSigner.fromProvision(
      (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 2 } })).body,
    );
    const routerOf = async () =>
      (await t.call('GET', '/api/v3/agent/microservices', { token: await agent.token() })).body.microservices.find(
        (m: { isRouter: boolean }) => m.isRouter,
      );
    const router = await routerOf();
    assert.ok(router, 'the router system microservice is delivered');
    assert.equal(router.name, 'router');
    assert.equal(router.application, 'system-edge-1');
    assert.equal(router.imageId, 'ghcr.io/eclipse-iofog/router:latest');
    assert.deepEqual(router.portMappings, [{ internal: 5671, external: 5671, protocol: 'tcp' }]);
    assert.equal(router.hostNetworkMode, false, 'edge routers run on the bridge network');
    assert.deepEqual(router.capAdd, ['NET_RAW']);
    assert.equal(router.schedule, 0);
    assert.deepEqual(
      router.volumeMappings.map((v: { hostDestination: string; containerDestination: string; accessMode: string; type: string }) => [
        v.hostDestination,
        v.containerDestination,
        v.accessMode,
        v.type,
      ]),
      ['router-site-server-edge-1', 'router-local-server-edge-1', 'router-local-agent-edge-1'].map((n) => [
        n,
        `/etc/skupper-router-certs/${n}`,
        'ro',
        'volumeMount',
      ]),
    );
    assert.ok(router.env.some((e: { key: string; value: string }) => e.key === 'SKUPPER_SITE_ID' && e.value === edge.body.uuid));
    const cfg = JSON.parse(router.config);
    assert.deepEqual(cfg.metadata, { id: edge.body.uuid, mode: 'edge', helloMaxAgeSeconds: '3' });
    assert.deepEqual(cfg.connectors, {
      'default-router': {
        name: 'default-router',
        role: 'edge',
        host: 'hub.example',
        port: '45671',
        sslProfile: 'router-site-server-edge-1',
      },
    });
    assert.deepEqual(Object.keys(cfg.listeners).sort(), [`${edge.body.uuid}-amqp`, `${edge.body.uuid}-amqps`]);
    assert.equal(cfg.listeners[`${edge.body.uuid}-amqps`].sslProfile, 'router-local-server-edge-1');
    assert.equal(cfg.sslProfiles['router-site-server-edge-1'].certFile, '/etc/skupper-router-certs/router-site-server-edge-1/tls.crt');
    const mounts = (await t.call('GET', '/api/v3/agent/volumeMounts', { token: await agent.token() })).body;
    assert.equal(JSON.stringify(mounts).includes('router-local-agent-edge-1'), true, 'the cert secrets are projected to the agent');
    const siteCert = await call('GET', '/api/v3/certificates/router-site-server-edge-1');
    assert.equal(siteCert.body.caName, 'router-site-ca');
    assert.equal(siteCert.body.hosts, '10.0.0.7');
    assert.equal((await call('GET', '/api/v3/certificates/router-local-server-edge-1')).body.caName, 'default-router-local-ca');
    // The interior hub listens for edges and other interiors.
    const hubRouter = (await call('GET', '/api/v3/microservices/system')).body.microservices.find(
      (m: { isRouter: boolean; iofogUuid: string }) => m.isRouter && m.iofogUuid === hub.body.uuid,
    );
    const hubCfg = JSON.parse(typeof hubRouter.config === 'string' ? hubRouter.config : JSON.stringify(hubRouter.config));
    assert.equal(hubCfg.metadata.mode, 'interior');
    assert.equal(hubCfg.listeners[`${hub.body.uuid}-edge`].port, 45671);
    assert.deepEqual(hubCfg.connectors, {});
    // Idempotent: another reconcile changes nothing.
    const c0 = (await t.call('GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body;
    await t.call('PATCH', '/api/v3/agent/config/changes', { token: await agent.token(), body: { lastUpdated: c0.lastUpdated } });
    assert.equal((await call('POST', `/api/v3/iofog/${edge.body.uuid}/reconcile`)).status, 202);
    await processFogTasks(t.ctx, 5);
    const c1 = (await t.call('GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body;
    assert.equal(c1.microserviceList || c1.microserviceConfig || c1.volumeMounts, false, 'nothing changed, nothing to tell');

    // A host change re-issues the site certificate in place (the agent reloads the mount).
    assert.equal((await call('PATCH', `/api/v3/iofog/${edge.body.uuid}`, { host: 'edge-1.example' })).status, 204);
    assert.equal((await call('GET', `/api/v3/iofog/${edge.body.uuid}`)).body.platformStatus.phase, 'Pending');
    await processFogTasks(t.ctx, 5);
    assert.equal((await call('GET', '/api/v3/certificates/router-site-server-edge-1')).body.hosts, 'edge-1.example');
    assert.equal((await t.call('GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body.volumeMounts, true);

    // Failure: no router image for riscv64 → Failed with the reason, backoff; fixed catalog + manual retry → Ready.
    const riscv = await call('POST', '/api/v3/iofog', { name: 'rv', archId: 3, routerMode: 'edge', host: 'rv.example', natsMode: 'none' });
    assert.deepEqual(await processFogTasks(t.ctx, 5), { reconciled: [], failed: [riscv.body.uuid] });
    const failed = (await call('GET', `/api/v3/iofog/${riscv.body.uuid}`)).body;
    assert.equal(failed.platformStatus.phase, 'Failed');
    assert.match(failed.platformStatus.lastError, /no image for this fog's architecture \(archId 3\)/);
    assert.match(failed.warningMessage, /^Platform reconcile: /);
    assert.deepEqual(await processFogTasks(t.ctx, 5), { reconciled: [], failed: [] }, 'backing off');
    const [task] = await t.ctx.db.select().from(fogPlatformTask);
    assert.equal(task!.attempts, 1);
    assert.ok(task!.nextAttemptAt! > t.ctx.clock.now());
    const catalog = (await call('GET', '/api/v3/catalog/microservices')).body.catalogItems.find(
      (i: { name: string }) => i.name === 'Router',
    );
    const patched = await call('PATCH', `/api/v3/catalog/microservices/${catalog.id}`, {
      images: [
        ...catalog.images.map((i: { containerImage: string; archId?: number; fogTypeId?: number }) => ({
          containerImage: i.containerImage,
          archId: i.archId ?? i.fogTypeId,
        })),
        { containerImage: 'ghcr.io/eclipse-iofog/router:riscv', archId: 3 },
      ],
    });
    assert.ok(patched.status < 300, JSON.stringify(patched.body));
    assert.equal((await call('POST', `/api/v3/iofog/${riscv.body.uuid}/reconcile`)).status, 202);
    assert.deepEqual(await processFogTasks(t.ctx, 5), { reconciled: [riscv.body.uuid], failed: [] });
    const fixed = (await call('GET', `/api/v3/iofog/${riscv.body.uuid}`)).body.platformStatus;
    assert.equal(fixed.phase, 'Ready');
    assert.equal(fixed.lastError, null);
    assert.equal((await call('POST', '/api/v3/iofog/00000000-0000-4000-8000-000000000000/reconcile')).status, 404);

    // Delete: Deleting, the router is delivered for deletion; when the agent confirms, the fog and its router material go.
    assert.equal((await call('DELETE', `/api/v3/iofog/${edge.body.uuid}`)).status, 202);
    assert.equal((await call('GET', `/api/v3/iofog/${edge.body.uuid}`)).body.platformStatus.phase, 'Deleting');
    await processFogTasks(t.ctx, 5);
    assert.equal((await routerOf()).delete, true);
    assert.equal((await t.call('DELETE', '/api/v3/agent/delete-node', { token: await agent.token() })).status, 204);
    assert.equal((await call('GET', `/api/v3/iofog/${edge.body.uuid}`)).status, 404);
    assert.equal((await call('GET', '/api/v3/certificates/router-site-server-edge-1')).status, 404);
    assert.equal((await call('GET', '/api/v3/volumeMounts/router-local-agent-edge-1')).status, 404);
    assert.equal(
      (await t.ctx.db.select().from(fogPlatformStatus)).some((s) => s.fogUuid === edge.body.uuid),
      false,
    );
  } finally {
    await t.close();
  }
});

test('fog platform: two instances on one database file each claim tasks; every task is processed exactly once', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-platform-'));
  const key = Vault.generateKey();
  const env = () =>
    loadConfig({
      DB_URL: `file:${join(dir, 'c.db')}`,
      ENCRYPTION_KEY: key,
      OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
      OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    });
  const a = await bootstrap({ config: env(), logger: createLogger('silent'), createClient });
  const b = await bootstrap({ config: env(), logger: createLogger('silent'), createClient });
  try {
    const uuids: string[] = [];
    for (let i = 0; i < 8; i++)
      uuids.push(
        (await createFog(a, { name: `f${i}`, archId: 1, routerMode: 'edge', host: `f${i}.example`, upstreamRouters: [], natsMode: 'none' }))
          .uuid,
      );
    const seen: string[] = [];
    const worker = async (ctx: typeof a) => {
      for (let i = 0; i < 20; i++) {
        const r = await processFogTasks(ctx, 1);
        seen.push(...r.reconciled, ...r.failed);
      }
    };
    await Promise.all([worker(a), worker(b)]);
    assert.deepEqual([...seen].sort(), [...uuids].sort(), 'each task once, none twice, none lost');
    assert.deepEqual(await a.db.select().from(fogPlatformTask), []);
  } finally {
    a.store.close();
    b.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fog platform sweep: a fog whose router went missing, or that never got a status, is re-enqueued and repaired', {
  timeout: 60_000,
}, async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const fogA = (
      await t.call('POST', '/api/v3/iofog', {
        token: admin,
        body: { name: 'sweep-a', archId: 1, routerMode: 'edge', host: 'a.example', upstreamRouters: [], natsMode: 'none' },
      })
    ).body.uuid as string;
    const fogB = (
      await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'sweep-b', archId: 1, routerMode: 'none', natsMode: 'none' } })
    ).body.uuid as string;
    await processFogTasks(t.ctx, 10);
    assert.deepEqual(await sweepFogPlatforms(t.ctx), { enqueued: [] }, 'nothing drifted');
    assert.equal((await t.call('GET', '/api/v3/router', { token: admin })).status, 404, 'no system fog, no default router');
    assert.equal((await t.call('GET', '/api/v3/nats/hub', { token: admin })).status, 404, 'no system NATS server, no hub');
    assert.equal((await t.call('PUT', '/api/v3/nats/hub', { token: admin, body: { host: 'x.example' } })).status, 400);

    assert.equal((await t.call('PUT', '/api/v3/router', { token: admin, body: { host: 'x.example' } })).status, 400);

    // Drift: the router row disappears behind the Controller's back.
    await t.ctx.db.delete(microservice).where(and(eq(microservice.fogUuid, fogA), eq(microservice.isRouter, true)));
    assert.deepEqual(await sweepFogPlatforms(t.ctx), { enqueued: [fogA] });
    assert.deepEqual(await sweepFogPlatforms(t.ctx), { enqueued: [] }, 'an active task is not enqueued twice');
    await processFogTasks(t.ctx, 10);
    const routers = await t.ctx.db
      .select()
      .from(microservice)
      .where(and(eq(microservice.fogUuid, fogA), eq(microservice.isRouter, true)));
    assert.equal(routers.length, 1, 'repaired');
    assert.equal((await t.call('GET', `/api/v3/iofog/${fogB}`, { token: admin })).body.platformStatus.phase, 'Ready');

    // A fleet larger than one sweep page (500 fogs): 1,200 copies of fogB, all Ready, and three without a
    // status, placed in the first, second and last page by uuid order. Each must be found, and only they.
    const [row] = await t.ctx.db.select().from(fog).where(eq(fog.uuid, fogB));
    const copies = Array.from({ length: 1200 }, (_, i) => ({
      ...row!,
      uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `sweep-copy-${i}`,
    }));
    for (let i = 0; i < copies.length; i += 100) await t.ctx.db.insert(fog).values(copies.slice(i, i + 100));
    const missing = [copies[10]!.uuid, copies[700]!.uuid, copies[1199]!.uuid];
    const ready = copies
      .filter((c) => !missing.includes(c.uuid))
      .map((c) => ({ fogUuid: c.uuid, phase: 'Ready', observedGeneration: c.specGeneration, lastTransitionAt: 0 }));
    for (let i = 0; i < ready.length; i += 100) await t.ctx.db.insert(fogPlatformStatus).values(ready.slice(i, i + 100));
    assert.deepEqual(await sweepFogPlatforms(t.ctx), { enqueued: missing }, 'every page is swept, in uuid order');
    assert.deepEqual(await sweepFogPlatforms(t.ctx), { enqueued: [] });
  } finally {
    await t.close();
  }
});

test('fog NATS: server (hub) and leaf instances — certificates, JetStream key, system users, rendered configs that nats-server accepts, the nats microservice', {
  timeout: 120_000,
  skip: natsSkip,
}, async () => {
  const t = await makeTestApp();
  const work = mkdtempSync(join(tmpdir(), 'nats-conf-'));
  try {
    const admin = (await t.login()).accessToken;
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });
    const hub = (await call('POST', '/api/v3/iofog', { name: 'hub', archId: 1, isSystem: true, natsMode: 'server', host: '127.0.0.1' }))
      .body.uuid as string;
    const leaf = (
      await call('POST', '/api/v3/iofog', { name: 'Leaf One', archId: 2, routerMode: 'none', natsMode: 'leaf', host: 'leaf.example' })
    ).body.uuid as string;
    assert.deepEqual((await processFogTasks(t.ctx, 10)).failed, []);
    const system = (await call('GET', '/api/v3/microservices/system')).body.microservices as Array<Record<string, any>>;
    const natsOf = (fogUuid: string) => system.find((m) => m.isNats && m.iofogUuid === fogUuid)!;
    const hubMs = natsOf(hub);
    const leafMs = natsOf(leaf);
    assert.ok(hubMs && leafMs, 'a nats system microservice per fog');
    const envOf = (ms: Record<string, any>) =>
      Object.fromEntries(
        (ms.env as Array<{ key: string; value?: string; valueFromSecret?: string }>).map((e) => [
          e.key,
          e.value ?? `secret:${e.valueFromSecret}`,
        ]),
      );
    assert.equal(envOf(hubMs).NATS_SERVER_MODE, 'server');
    assert.equal(envOf(leafMs).NATS_SERVER_MODE, 'leaf');
    assert.equal(envOf(hubMs).JETSTREAM_KEY, 'secret:nats-jetstream-key-hub/jsk');
    assert.equal(envOf(hubMs).NATS_SYS_USER_CRED_PATH, '/etc/nats/creds/sys/admin-hub.creds');
    assert.equal(envOf(leafMs).NATS_CERT_NAME, 'nats-server-leaf-one');
    assert.deepEqual(
      hubMs.ports.map((p: { internal: number }) => p.internal),
      [4222, 7422, 6222, 8883, 8222],
    );
    assert.deepEqual(
      leafMs.ports.map((p: { internal: number }) => p.internal),
      [4222, 7422, 8883, 8222],
    );
    assert.deepEqual(
      leafMs.volumeMappings.map(
        (v: { hostDestination: string; containerDestination: string }) => `${v.hostDestination} → ${v.containerDestination}`,
      ),
      [
        'Leaf One-nats-jetstream → /home/runner/data',
        'nats-server-conf-leaf-one → /etc/nats/config',
        'nats-jwt-bundle-leaf-one → /tmp/nats/jwt',
        'nats-server-leaf-one → /etc/nats/certs/nats-server-leaf-one',
        'nats-mqtt-server-leaf-one → /etc/nats/certs/nats-mqtt-server-leaf-one',
        'nats-leaf-creds-leaf-one → /etc/nats/creds',
      ],
    );
    const accounts = (await call('GET', '/api/v3/nats/accounts')).body.accounts as Array<{
      name: string;
      publicKey: string;
      isLeafSystem: boolean;
    }>;
    assert.ok(accounts.find((a) => a.name === 'SYS-leaf-leaf-one')?.isLeafSystem, 'the leaf has its own system account');

    // Materialise what the agent would mount and let nats-server check each configuration.
    const materialise = async (ms: Record<string, any>, dir: string) => {
      for (const v of ms.volumeMappings as Array<{ hostDestination: string; containerDestination: string; type: string }>) {
        if (v.type !== 'volumeMount') continue;
        const mount = (await call('GET', `/api/v3/volumeMounts/${encodeURIComponent(v.hostDestination)}`)).body;
        const target = join(dir, v.containerDestination);
        mkdirSync(target, { recursive: true });
        if (mount.secretName) {
          const sec = (await call('GET', `/api/v3/secrets/${mount.secretName}`)).body as { type: string; data: Record<string, string> };
          for (const [k, val] of Object.entries(sec.data)) {
            mkdirSync(dirname(join(target, k)), { recursive: true });
            // tls values are stored base64; Opaque values as they are (the agent gets both base64-encoded).
            writeFileSync(join(target, k), sec.type === 'tls' ? Buffer.from(val, 'base64') : val);
          }
        } else {
          const data = (await call('GET', `/api/v3/configmaps/${mount.configMapName}`)).body.data as Record<string, string>;
          for (const [k, val] of Object.entries(data)) {
            mkdirSync(dirname(join(target, k)), { recursive: true });
            writeFileSync(join(target, k), val);
          }
        }
      }
      for (const d of ['home/runner/data', 'home/runner/run', 'home/runner/nats/jwt']) mkdirSync(join(dir, d), { recursive: true });
      let conf = readFileSync(join(dir, 'etc/nats/config/server.conf'), 'utf8')
        .replaceAll('/etc/nats/', `${dir}/etc/nats/`)
        .replaceAll('/home/runner/', `${dir}/home/runner/`);
      // The configuration targets the catalog's nats 2.10 image; apt's nats-server 2.9 predates the TLS
      // option `handshake_first`, so it is dropped for the check (everything else is checked as rendered).
      if (/v2\.9\./.test(spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout))
        conf = conf.replace(/\n\s*handshake_first: true/g, '');
      writeFileSync(join(dir, 'check.conf'), conf);
      return conf;
    };
    const jsk = (await call('GET', '/api/v3/secrets/nats-jetstream-key-hub')).body.data.jsk as string;
    for (const [name, ms] of [
      ['hub', hubMs],
      ['leaf', leafMs],
    ] as const) {
      const dir = join(work, name);
      const conf = await materialise(ms, dir);
      assert.match(conf, /operator: "ey/);
      const check = spawnSync('nats-server', ['-t', '-c', join(dir, 'check.conf')], {
        encoding: 'utf8',
        env: { ...process.env, JETSTREAM_KEY: jsk },
      });
      assert.equal(check.status, 0, `${name}: nats-server -t\n${check.stdout}${check.stderr}\n${conf}`);
    }
    const hubConf = readFileSync(join(work, 'hub/check.conf'), 'utf8');
    assert.match(hubConf, new RegExp(`system_account: ${accounts.find((a) => a.name === 'SYS')!.publicKey}`));
    assert.match(hubConf, /leafnodes \{\n {2}port: 7422\n {2}advertise: "127\.0\.0\.1:7422"/);
    assert.doesNotMatch(hubConf, /cluster \{/, 'a single server has no cluster block');
    assert.match(
      readFileSync(join(work, 'leaf/check.conf'), 'utf8'),
      new RegExp(`system_account: ${accounts.find((a) => a.name === 'SYS-leaf-leaf-one')!.publicKey}`),
    );

    // natsMode none: the nats microservice is delivered for deletion.
    assert.equal((await call('PATCH', `/api/v3/iofog/${leaf}`, { natsMode: 'none' })).status, 204);
    await processFogTasks(t.ctx, 10);
    assert.equal(
      ((await call('GET', '/api/v3/microservices/system')).body.microservices as Array<Record<string, any>>).some(
        (m) => m.isNats && m.iofogUuid === leaf && !m.delete,
      ),
      false,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    await t.close();
  }
});

test('router re-homing: when an explicit upstream router goes, its downstream routers connect to the default router', {
  timeout: 60_000,
}, async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const mk = async (body: Record<string, unknown>) =>
      (await t.call('POST', '/api/v3/iofog', { token: admin, body: { archId: 1, natsMode: 'none', ...body } })).body.uuid as string;
    await mk({ name: 'hub', isSystem: true, natsMode: 'server', host: 'hub.example' });
    const mid = await mk({ name: 'mid', routerMode: 'interior', host: 'mid.example', interRouterPort: 55671, edgeRouterPort: 45672 });
    const edge = await mk({ name: 'leafy', routerMode: 'edge', host: 'leafy.example', upstreamRouters: ['mid'] });
    await processFogTasks(t.ctx, 20);
    const connectors = async () => {
      const ms = (await t.call('GET', '/api/v3/microservices/system', { token: admin })).body.microservices.find(
        (m: { isRouter: boolean; iofogUuid: string }) => m.isRouter && m.iofogUuid === edge,
      );
      return JSON.parse(typeof ms.config === 'string' ? ms.config : JSON.stringify(ms.config)).connectors;
    };
    assert.deepEqual(Object.keys(await connectors()), [mid]);
    assert.equal((await connectors())[mid].port, '45672');
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${mid}`, { token: admin })).status, 202);
    await processFogTasks(t.ctx, 20);
    assert.deepEqual(await connectors(), {
      'default-router': {
        name: 'default-router',
        role: 'edge',
        host: 'hub.example',
        port: '45671',
        sslProfile: 'router-site-server-leafy',
      },
    });
  } finally {
    await t.close();
  }
});
