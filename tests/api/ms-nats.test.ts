import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeTestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';
import { processFogTasks } from '../../src/services/platform/fog-platform';

test('microservice NATS access: user and creds per workload, env and mount delivered, leaf remotes per application account; disabling revokes', {
  timeout: 120_000,
}, async () => {
  const t = await makeTestApp();
  const work = mkdtempSync(join(tmpdir(), 'ms-nats-'));
  try {
    const admin = (await t.login()).accessToken;
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });
    assert.equal(
      (await call('POST', '/api/v3/iofog', { name: 'hub', archId: 1, isSystem: true, natsMode: 'server', host: '127.0.0.1' })).status,
      201,
    );
    const edge = (
      await call('POST', '/api/v3/iofog', { name: 'edge', archId: 1, routerMode: 'none', natsMode: 'leaf', host: 'edge.example' })
    ).body.uuid as string;
    const key = await call('GET', `/api/v3/iofog/${edge}/provisioning-key`);
    const agent = await AgentSigner.fromProvision(
      (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } })).body,
    );

    const top = await call('POST', '/api/v3/application', {
      name: 'bad',
      isActivated: true,
      microservices: [{ name: 'x', agentName: 'edge', images: [{ containerImage: 'i', archId: 1 }], natsAccess: true }],
    });
    assert.equal(top.status, 400);
    assert.match(top.body.message, /natsAccess: not accepted at the top level/);
    const noRule = await call('POST', '/api/v3/application', {
      name: 'bad',
      isActivated: true,
      microservices: [
        { name: 'x', agentName: 'edge', images: [{ containerImage: 'i', archId: 1 }], natsConfig: { natsAccess: true, natsRule: 'ghost' } },
      ],
    });
    assert.equal(noRule.status, 400);
    assert.match(noRule.body.message, /natsRule: no NATS user rule named ghost/);
    const app = await call('POST', '/api/v3/application', {
      name: 'plant',
      isActivated: true,
      microservices: [
        { name: 'sensor', agentName: 'edge', images: [{ containerImage: 'acme/sensor', archId: 1 }], natsConfig: { natsAccess: true } },
        { name: 'other', agentName: 'edge', images: [{ containerImage: 'acme/other', archId: 1 }] },
      ],
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    // The account, the user, its creds and their mount exist as soon as the deploy answers — before the
    // reconcile worker reached the fog (v3.8 writes them with the microservice).
    const early = await call('GET', '/api/v3/nats/accounts/plant/users/sensor/creds');
    assert.equal(early.status, 200, JSON.stringify(early.body));
    assert.match(atob(early.body.credsBase64), /-----BEGIN NATS USER JWT-----/);
    const earlyMount = await call('GET', '/api/v3/volumeMounts/nats-creds-plant-sensor');
    assert.equal(earlyMount.status, 200, JSON.stringify(earlyMount.body));
    assert.ok(
      JSON.stringify((await t.call('GET', '/api/v3/agent/volumeMounts', { token: await agent.token() })).body).includes(
        'nats-creds-plant-sensor',
      ),
      'linked to the fog already',
    );
    const earlyUser = (await call('GET', '/api/v3/nats/accounts/plant/users')).body.users.find(
      (u: { name: string }) => u.name === 'sensor',
    );
    assert.deepEqual((await processFogTasks(t.ctx, 20)).failed, []);
    const keptUser = (await call('GET', '/api/v3/nats/accounts/plant/users')).body.users.find((u: { name: string }) => u.name === 'sensor');
    assert.equal(keptUser.publicKey, earlyUser.publicKey, 'the reconcile keeps the user written with the deploy');

    const list = async () =>
      (await t.call('GET', '/api/v3/agent/microservices', { token: await agent.token() })).body.microservices as Array<Record<string, any>>;
    const sensor = (await list()).find((m) => m.name === 'sensor')!;
    const env = Object.fromEntries(sensor.env.map((e: { key: string; value: string }) => [e.key, e.value]));
    assert.equal(env.NATS_CREDS_PATH, '/etc/nats/creds/plant/sensor.creds');
    assert.equal(env.NATS_SERVER_URL, 'nats://nats.default.svc.bridge.local:4222');
    assert.deepEqual(sensor.volumeMappings.at(-1), {
      hostDestination: 'nats-creds-plant-sensor',
      containerDestination: '/etc/nats/creds',
      accessMode: 'ro',
      type: 'volumeMount',
    });
    assert.ok(!(await list()).find((m) => m.name === 'other')!.env.some((e: { key: string }) => e.key.startsWith('NATS_')));
    const mounts = (await t.call('GET', '/api/v3/agent/volumeMounts', { token: await agent.token() })).body;
    assert.ok(JSON.stringify(mounts).includes('nats-creds-plant-sensor'), 'the creds are projected to the fog');
    const users = (await call('GET', '/api/v3/nats/users')).body.users as Array<{
      name: string;
      accountName: string;
      microserviceUuid: string | null;
    }>;
    assert.ok(users.some((u) => u.accountName === 'plant' && u.name === 'sensor' && u.microserviceUuid === sensor.uuid));
    assert.ok(
      users.some((u) => u.accountName === 'plant' && u.name === 'leaf-edge'),
      'the leaf remote user of the application account',
    );
    const linked = await call('DELETE', '/api/v3/nats/accounts/plant/users/sensor');
    assert.equal(linked.status, 400, 'a microservice user goes with its microservice');

    // The leaf's configuration now carries a remote for the application account; nats-server accepts it.
    const conf = (await call('GET', '/api/v3/configmaps/nats-server-conf-edge')).body.data['server.conf'] as string;
    const plant = (await call('GET', '/api/v3/nats/accounts/plant')).body;
    assert.ok(
      conf.includes(
        `urls: ["tls://127.0.0.1:7422"]\n      account: "${plant.publicKey}"\n      credentials: "/etc/nats/creds/plant/leaf-edge.creds"`,
      ),
      conf,
    );
    const leafCreds = (await call('GET', '/api/v3/configmaps/nats-leaf-creds-edge')).body.data as Record<string, string>;
    assert.deepEqual(Object.keys(leafCreds).sort(), ['plant/leaf-edge.creds', 'sys-leaf-edge/admin-leaf-edge.creds']);
    const bundle = (await call('GET', '/api/v3/configmaps/nats-jwt-bundle-edge')).body.data as Record<string, string>;
    assert.ok(Object.keys(bundle).includes(`${plant.publicKey}.jwt`));
    assert.ok(
      Object.keys((await call('GET', '/api/v3/configmaps/iofog-nats-jwt-bundle')).body.data).includes(`${plant.publicKey}.jwt`),
      'servers resolve the application account too',
    );
    const root = join(work, 'leaf');
    const put = (path: string, content: string | Buffer) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    };
    for (const cert of ['nats-server-edge', 'nats-mqtt-server-edge']) {
      const data = (await call('GET', `/api/v3/secrets/${cert}`)).body.data as Record<string, string>;
      for (const [k, v] of Object.entries(data)) put(`etc/nats/certs/${cert}/${k}`, Buffer.from(v, 'base64'));
    }
    for (const [k, v] of Object.entries(leafCreds)) put(`etc/nats/creds/${k}`, v);
    for (const d of ['home/runner/data', 'home/runner/run', 'home/runner/nats/jwt']) mkdirSync(join(root, d), { recursive: true });
    let checked = conf.replaceAll('/etc/nats/', `${root}/etc/nats/`).replaceAll('/home/runner/', `${root}/home/runner/`);
    if (/v2\.9\./.test(spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout))
      checked = checked.replace(/\n\s*handshake_first: true/g, '');
    put('check.conf', checked);
    const jsk = (await call('GET', '/api/v3/secrets/nats-jetstream-key-edge')).body.data.jsk as string;
    const result = spawnSync('nats-server', ['-t', '-c', join(root, 'check.conf')], {
      encoding: 'utf8',
      env: { ...process.env, JETSTREAM_KEY: jsk },
    });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}\n${checked}`);

    // YAML: natsConfig, or the alias natsEnabled.
    const yaml = (ms: string, nats: string) =>
      `apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: yaml-${ms} }\nspec:\n  microservices:\n    - name: ${ms}\n      agent: { name: edge }\n      images: { amd64: acme/y }\n      ${nats}\n`;
    for (const [ms, nats] of [
      ['a1', 'natsEnabled: true'],
      ['a2', 'natsConfig: { natsAccess: true, natsRule: default-user }'],
    ] as const) {
      const r = await t.upload('POST', '/api/v3/application/yaml', 'application', yaml(ms, nats), admin);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const created = (await call('GET', `/api/v3/application/yaml-${ms}`)).body.microservices[0];
      assert.equal(created.natsConfig.natsAccess, true, JSON.stringify(created));
    }

    // Bootstrap material is for a Kubernetes-installed hub only: 403 on this Remote control plane (the operator seed stays here).
    const boot = await call('GET', '/api/v3/nats/bootstrap');
    assert.equal(boot.status, 403);
    assert.equal(boot.body.code, 'NOT_KUBERNETES_CONTROL_PLANE', 'not an RBAC refusal');
    assert.match(boot.body.message, /Kubernetes control plane/);
    assert.doesNotMatch(JSON.stringify(boot.body), /SO[A-Z2-7]{50,}/, 'no seed in the answer');
    // The hub: GET/PUT /nats/hub; a change reaches the leaves' remotes.
    assert.deepEqual((await call('GET', '/api/v3/nats/hub')).body, {
      host: '127.0.0.1',
      serverPort: 4222,
      clusterPort: 6222,
      leafPort: 7422,
      mqttPort: 8883,
      httpPort: 8222,
      jsStorageSize: '10g',
      jsMemoryStoreSize: '1g',
    });
    const hubPut = await call('PUT', '/api/v3/nats/hub', { host: 'hub.example', leafPort: 7500 });
    assert.equal(hubPut.status, 200, JSON.stringify(hubPut.body));
    assert.equal(hubPut.body.leafPort, 7500);
    assert.equal((await call('PUT', '/api/v3/nats/hub', { leafPort: 7500 })).status, 400, 'host is required');
    await processFogTasks(t.ctx, 20);
    assert.ok(
      ((await call('GET', '/api/v3/configmaps/nats-server-conf-edge')).body.data['server.conf'] as string).includes(
        'urls: ["tls://hub.example:7500"]',
      ),
    );

    // Enabling access on an existing microservice: its creds exist when the PATCH answers.
    const otherUuid = (await list()).find((m) => m.name === 'other')!.uuid;
    assert.equal((await call('GET', '/api/v3/nats/accounts/plant/users/other/creds')).status, 404);
    assert.ok((await call('PATCH', `/api/v3/microservices/${otherUuid}`, { natsConfig: { natsAccess: true } })).status < 300);
    assert.equal((await call('GET', '/api/v3/nats/accounts/plant/users/other/creds')).status, 200);
    assert.deepEqual((await processFogTasks(t.ctx, 20)).failed, []);

    // Disabling access revokes the user and takes the creds away.
    const before = (await call('GET', '/api/v3/nats/accounts/plant/users')).body.users.find((u: { name: string }) => u.name === 'sensor');
    assert.ok((await call('PATCH', `/api/v3/microservices/${sensor.uuid}`, { natsConfig: { natsAccess: false } })).status < 300);
    await processFogTasks(t.ctx, 20);
    assert.equal(
      (await call('GET', '/api/v3/nats/accounts/plant/users')).body.users.some((u: { name: string }) => u.name === 'sensor'),
      false,
    );
    const revocations = JSON.parse(
      Buffer.from((await call('GET', '/api/v3/nats/accounts/plant')).body.jwt.split('.')[1], 'base64url').toString(),
    ).nats.revocations;
    assert.ok(revocations[before.publicKey], 'revoked on the account');
    const after = (await list()).find((m) => m.name === 'sensor')!;
    assert.ok(!after.env.some((e: { key: string }) => e.key.startsWith('NATS_')));
    assert.ok(!after.volumeMappings.some((v: { containerDestination: string }) => v.containerDestination === '/etc/nats/creds'));
  } finally {
    rmSync(work, { recursive: true, force: true });
    await t.close();
  }
});
