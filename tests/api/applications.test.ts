import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';

async function provisionedFog(t: TestApp, admin: string, name: string, archId: number) {
  const fog = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name, archId, routerMode: 'none', natsMode: 'none' } });
  const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
  const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: archId, engine: 'edgelet' } });
  const agent = await AgentSigner.fromProvision(prov.body);
  const call = async (method: string, path: string, body?: unknown) =>
    t.call(method, `/api/v3/agent${path}`, { token: await agent.token(), body });
  // Initial cycle: drain the provisioning flags.
  const ch = await call('GET', '/config/changes');
  await call('PATCH', '/config/changes', { lastUpdated: ch.body.lastUpdated });
  return { uuid: fog.body.uuid as string, call };
}

const YAML = `apiVersion: iofog.org/v3
kind: Application
metadata:
  name: line-monitor
spec:
  microservices:
    - name: vibration-reader
      agent: { name: edge-arm }
      images:
        amd64: ghcr.io/acme/vibration:1.4.0
        arm64: ghcr.io/acme/vibration:1.4.0-arm64
        registry: remote
      container:
        ports: [{ internal: 8080, external: 18080, protocol: tcp }]
        env:
          - { key: SAMPLE_HZ, value: "200" }
        commands: ["--verbose"]
      config: { threshold: 0.7 }
    - name: dashboard
      agent: { name: edge-arm }
      images: { arm64: ghcr.io/acme/dash:2.0.1 }
      config: {}
`;

test('deploy a 2-microservice application from YAML; the agent receives it; patch, rebuild, delete', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const { call } = await provisionedFog(t, admin, 'edge-arm', 2);
    const created = await t.call('POST', '/api/v3/application/yaml', {
      token: admin,
      raw: YAML,
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, 'line-monitor');
    const changes = await call('GET', '/config/changes');
    assert.equal(changes.body.microserviceList, true);
    const list = (await call('GET', '/microservices')).body.microservices;
    assert.deepEqual(list.map((m: { name: string }) => m.name).sort(), ['dashboard', 'vibration-reader']);
    const reader = list.find((m: { name: string }) => m.name === 'vibration-reader');
    assert.equal(reader.imageId, 'ghcr.io/acme/vibration:1.4.0-arm64', 'image for the fog arch');
    assert.equal(reader.application, 'line-monitor');
    assert.equal(reader.config, '{"threshold":0.7}');
    assert.deepEqual(reader.portMappings, [{ internal: 8080, external: 18080, protocol: 'tcp' }]);
    assert.deepEqual(reader.env, [{ key: 'SAMPLE_HZ', value: '200' }]);
    assert.deepEqual(reader.cmd, ['--verbose']);
    assert.equal(reader.registryId, 1);
    assert.equal(reader.rebuild, false);
    assert.equal(reader.delete, false);
    await call('PATCH', '/config/changes', { lastUpdated: changes.body.lastUpdated });

    // Config-only change: microserviceConfig, no rebuild.
    assert.equal(
      (await t.call('PATCH', `/api/v3/microservices/${reader.uuid}/config`, { token: admin, body: { threshold: 0.9 } })).status,
      204,
    );
    let ch = await call('GET', '/config/changes');
    assert.equal(ch.body.microserviceConfig, true);
    let again = (await call('GET', '/microservices')).body.microservices.find((m: { uuid: string }) => m.uuid === reader.uuid);
    assert.equal(again.config, '{"threshold":0.9}');
    assert.equal(again.rebuild, false);
    await call('PATCH', '/config/changes', { lastUpdated: ch.body.lastUpdated });

    // Image change: rebuild delivered once.
    assert.equal(
      (
        await t.call('PATCH', `/api/v3/microservices/${reader.uuid}`, {
          token: admin,
          body: { images: [{ containerImage: 'ghcr.io/acme/vibration:1.5.0-arm64', archId: 2 }] },
        })
      ).status,
      204,
    );
    ch = await call('GET', '/config/changes');
    assert.equal(ch.body.microserviceConfig, true);
    again = (await call('GET', '/microservices')).body.microservices.find((m: { uuid: string }) => m.uuid === reader.uuid);
    assert.equal(again.imageId, 'ghcr.io/acme/vibration:1.5.0-arm64');
    assert.equal(again.rebuild, true);
    again = (await call('GET', '/microservices')).body.microservices.find((m: { uuid: string }) => m.uuid === reader.uuid);
    assert.equal(again.rebuild, false, 'rebuild resets after the agent pulled it');

    // Status reports land on the microservice.
    const st = await call('PUT', '/status', {
      daemonStatus: 'RUNNING',
      microserviceStatus: JSON.stringify([
        { id: reader.uuid, status: 'RUNNING', percentage: 100, containerId: 'c0ffee', cpuUsage: '0.8', memoryUsage: '15728640' },
      ]),
    });
    assert.equal(st.status, 204);
    const ms = await t.call('GET', `/api/v3/microservices/${reader.uuid}`, { token: admin });
    assert.equal(ms.body.status.status, 'RUNNING');
    assert.equal(ms.body.status.containerId, 'c0ffee');
    assert.equal(ms.body.status.cpuUsage, 0.8);

    // Deleting the application empties the agent's list.
    assert.equal((await t.call('DELETE', '/api/v3/application/line-monitor', { token: admin })).status, 204);
    assert.equal((await call('GET', '/config/changes')).body.microserviceList, true);
    assert.deepEqual((await call('GET', '/microservices')).body.microservices, []);
    assert.equal((await t.call('GET', '/api/v3/application/line-monitor', { token: admin })).status, 404);
  } finally {
    await t.close();
  }
});

test('microservice rules: reserved ports, image per arch, duplicate names, activation, RBAC', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const developer = await t.userToken('developer');
    const viewer = await t.userToken('viewer');
    const { uuid: fogUuid, call } = await provisionedFog(t, admin, 'edge-amd', 1);
    assert.equal((await t.call('POST', '/api/v3/application', { token: developer, body: { name: 'plant-a' } })).status, 201);
    assert.equal((await t.call('POST', '/api/v3/application', { token: developer, body: { name: 'plant-a' } })).status, 409);
    assert.equal((await t.call('POST', '/api/v3/application', { token: viewer, body: { name: 'plant-b' } })).status, 403);
    const base = { application: 'plant-a', iofogUuid: fogUuid, images: [{ containerImage: 'nginx:1', archId: 1 }] };
    const reserved = await t.call('POST', '/api/v3/microservices', {
      token: developer,
      body: { ...base, name: 'web', ports: [{ internal: 80, external: 54321 }] },
    });
    assert.equal(reserved.status, 400);
    assert.match(reserved.body.message, /^ports\[0\]\.external: port 54321 is reserved/);
    const noArch = await t.call('POST', '/api/v3/microservices', {
      token: developer,
      body: { ...base, name: 'web', images: [{ containerImage: 'x', archId: 2 }] },
    });
    assert.equal(noArch.status, 400);
    assert.match(noArch.body.message, /no image for the architecture/);
    const badArch = await t.call('POST', '/api/v3/microservices', {
      token: developer,
      body: { ...base, name: 'web', images: [{ containerImage: 'x', archId: 9 }] },
    });
    assert.equal(badArch.status, 400);
    assert.match(badArch.body.message, /^images\.0\.archId: /);
    assert.equal(
      (await t.call('POST', '/api/v3/microservices', { token: developer, body: { ...base, name: 'web', application: 'nope' } })).status,
      404,
    );
    const web = await t.call('POST', '/api/v3/microservices', {
      token: developer,
      body: { ...base, name: 'web', ports: [{ internal: 80, external: 8080 }] },
    });
    assert.equal(web.status, 201, JSON.stringify(web.body));
    assert.equal((await t.call('POST', '/api/v3/microservices', { token: developer, body: { ...base, name: 'web' } })).status, 409);
    const clash = await t.call('POST', '/api/v3/microservices', {
      token: developer,
      body: { ...base, name: 'web2', ports: [{ internal: 81, external: 8080 }] },
    });
    assert.equal(clash.status, 400);
    assert.match(clash.body.message, /already used by microservice web/);
    // Not activated: not delivered yet.
    assert.deepEqual((await call('GET', '/microservices')).body.microservices, []);
    assert.equal((await t.call('PATCH', '/api/v3/application/plant-a', { token: developer, body: { isActivated: true } })).status, 204);
    assert.equal((await call('GET', '/config/changes')).body.microserviceList, true);
    assert.equal((await call('GET', '/microservices')).body.microservices.length, 1);
    assert.equal((await t.call('PATCH', `/api/v3/microservices/${web.body.uuid}/stop`, { token: developer })).status, 204);
    assert.equal((await call('GET', '/microservices')).body.microservices.length, 0, 'stopped: not delivered');
    assert.equal((await t.call('PATCH', `/api/v3/microservices/${web.body.uuid}/start`, { token: developer })).status, 204);
    assert.equal((await t.call('GET', `/api/v3/microservices?application=plant-a`, { token: viewer })).body.microservices.length, 1);
    assert.equal((await t.call('DELETE', `/api/v3/microservices/${web.body.uuid}`, { token: viewer })).status, 403);
    assert.equal((await t.call('DELETE', `/api/v3/microservices/${web.body.uuid}`, { token: developer })).status, 204);
    const marked = (await call('GET', '/microservices')).body.microservices;
    assert.equal(marked[0].delete, true, 'delivered with delete: true until the agent reports it gone');
    await call('PUT', '/status', { microserviceStatus: '[]' });
    assert.equal((await t.call('GET', `/api/v3/microservices/${web.body.uuid}`, { token: developer })).status, 404);
  } finally {
    await t.close();
  }
});

test('application YAML errors name the YAML path; wrong kind or apiVersion is 400', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const post = (raw: string) =>
      t.call('POST', '/api/v3/application/yaml', { token: admin, raw, headers: { 'content-type': 'application/yaml' } });
    const wrongKind = await post('apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: x }\n');
    assert.equal(wrongKind.status, 400);
    assert.match(wrongKind.body.message, /^kind: expected Application/);
    assert.match((await post('apiVersion: v1\nkind: Application\nmetadata: { name: x }\n')).body.message, /^apiVersion: /);
    assert.match((await post('kind: [unclosed')).body.message, /^YAML: /);
    const badArch = await post(
      'apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: x }\nspec:\n  microservices:\n    - name: a\n      images: { sparc: img }\n',
    );
    assert.match(badArch.body.message, /^spec\.microservices\[0\]\.images\.sparc: unknown architecture/);
    const badPort = await post(
      'apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: x }\nspec:\n  microservices:\n    - name: a\n      images: { amd64: img }\n      container:\n        ports: [{ internal: 0, external: 1 }]\n',
    );
    assert.equal(badPort.status, 400);
    assert.match(badPort.body.message, /^spec\.microservices\[0\]\.container\.ports\[0\]\.internal: /);
    const form = new FormData();
    form.set(
      'application',
      new Blob(['apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: from-form }\nspec: {}\n']),
      'app.yaml',
    );
    const res = await t.app.request(
      '/api/v3/application/yaml',
      { method: 'POST', body: form, headers: { authorization: `Bearer ${admin}` } },
      { clientIp: '10.0.0.1' },
    );
    assert.equal(res.status, 201, await res.clone().text());
    const app = await t.call('GET', '/api/v3/application/from-form', { token: admin });
    assert.equal(app.body.isActivated, true, 'YAML defaults to activated');
  } finally {
    await t.close();
  }
});

test('microservice YAML: create as app/ms, update by uuid; errors name the YAML path', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const { call } = await provisionedFog(t, admin, 'edge-y', 1);
    assert.equal((await t.call('POST', '/api/v3/application', { token: admin, body: { name: 'line', isActivated: true } })).status, 201);
    const yaml = (img: string, extra = '') => `apiVersion: iofog.org/v3
kind: Microservice
metadata:
  name: line/dashboard
spec:
  agent: { name: edge-y }
  images: { amd64: ${img}, registry: remote }
  container:
    runtime: runc
    healthCheck: { test: [CMD-SHELL, "true"], interval: 30, retries: 3 }${extra}
  schedule: 60
  config: { theme: dark }
`;
    const created = await t.call('POST', '/api/v3/microservices/yaml', {
      token: admin,
      raw: yaml('acme/dash:1'),
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const list = (await call('GET', '/microservices')).body.microservices;
    assert.equal(list[0].imageId, 'acme/dash:1');
    assert.equal(list[0].config, '{"theme":"dark"}');
    assert.deepEqual(list[0].healthCheck.test, ['CMD-SHELL', 'true']);
    const upd = await t.call('PATCH', `/api/v3/microservices/yaml/${created.body.uuid}`, {
      token: admin,
      raw: yaml('acme/dash:2'),
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(upd.status, 204, JSON.stringify(upd.body));
    assert.equal((await call('GET', '/microservices')).body.microservices[0].imageId, 'acme/dash:2');
    const bad = await t.call('POST', '/api/v3/microservices/yaml', {
      token: admin,
      raw: yaml('acme/dash:1', '\n    ports: [{ internal: 80, external: "eighty" }]'),
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^spec\.container\.ports\[0\]\.external: /);
  } finally {
    await t.close();
  }
});

test('status jobs: a silent fog takes its microservices to UNKNOWN; a stopped application shows STOPPED', async () => {
  const { ManualClock } = await import('../../src/lib/clock');
  const { runTick } = await import('../../src/jobs/runner');
  const { fogStatusJob } = await import('../../workers/fog-status');
  const { stoppedAppStatusJob } = await import('../../workers/stopped-app-status');
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const admin = (await t.login()).accessToken;
    const { call } = await provisionedFog(t, admin, 'edge-s', 1);
    assert.equal(
      (
        await t.call('POST', '/api/v3/application', {
          token: admin,
          body: {
            name: 'app-s',
            isActivated: true,
            microservices: [{ name: 'one', agentName: 'edge-s', images: [{ containerImage: 'x', archId: 1 }] }],
          },
        })
      ).status,
      201,
    );
    const [ms] = (await call('GET', '/microservices')).body.microservices;
    const report = (status: string) =>
      call('PUT', '/status', {
        daemonStatus: 'RUNNING',
        microserviceStatus: JSON.stringify([{ id: ms.uuid, status, percentage: 100, cpuUsage: '3.5' }]),
      });
    assert.equal((await report('RUNNING')).status, 204);
    assert.equal((await t.call('PATCH', '/api/v3/application/app-s', { token: admin, body: { isActivated: false } })).status, 204);
    const stopped = await runTick(t.ctx, stoppedAppStatusJob, clock.now());
    assert.deepEqual(stopped.ran && stopped.result, { markedStopped: 1 });
    assert.equal((await t.call('GET', `/api/v3/microservices/${ms.uuid}`, { token: admin })).body.status.status, 'STOPPED');
    assert.equal((await t.call('PATCH', '/api/v3/application/app-s', { token: admin, body: { isActivated: true } })).status, 204);
    assert.equal((await report('RUNNING')).status, 204);
    clock.advance(31_000);
    await runTick(t.ctx, fogStatusJob, clock.now());
    const after = (await t.call('GET', `/api/v3/microservices/${ms.uuid}`, { token: admin })).body.status;
    assert.equal(after.status, 'UNKNOWN');
    assert.equal(after.cpuUsage, 0);
  } finally {
    await t.close();
  }
});

test('provision refuses an architecture that a placed microservice has no image for', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge-p', archId: 0, routerMode: 'none', natsMode: 'none' },
    });
    assert.equal(
      (
        await t.call('POST', '/api/v3/application', {
          token: admin,
          body: {
            name: 'app-p',
            microservices: [{ name: 'amd-only', iofogUuid: fog.body.uuid, images: [{ containerImage: 'x', archId: 1 }] }],
          },
        })
      ).status,
      201,
    );
    const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    const arm = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 2 } });
    assert.equal(arm.status, 400);
    assert.match(arm.body.message, /amd-only on this fog has no image for architecture 2/);
    const amd = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } });
    assert.equal(amd.status, 200, 'the key was not consumed by the refused attempt');
  } finally {
    await t.close();
  }
});

test('GET /agent/microservices/:uuid returns one microservice of this fog and does not consume its rebuild', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const { call } = await provisionedFog(t, admin, 'edge-one', 1);
    await provisionedFog(t, admin, 'edge-other', 1);
    assert.equal(
      (
        await t.call('POST', '/api/v3/application', {
          token: admin,
          body: {
            name: 'app-one',
            isActivated: true,
            microservices: [
              { name: 'a', agentName: 'edge-one', images: [{ containerImage: 'x', archId: 1 }] },
              { name: 'b', agentName: 'edge-other', images: [{ containerImage: 'y', archId: 1 }] },
            ],
          },
        })
      ).status,
      201,
    );
    const all = (await t.call('GET', '/api/v3/microservices', { token: admin })).body.microservices;
    const mine = all.find((m: { name: string }) => m.name === 'a');
    const other = all.find((m: { name: string }) => m.name === 'b');
    assert.equal((await t.call('PATCH', `/api/v3/microservices/${mine.uuid}/rebuild`, { token: admin })).status, 204);
    const one = await call('GET', `/microservices/${mine.uuid}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.microservice.name, 'a');
    assert.equal(one.body.microservice.rebuild, true);
    assert.equal((await call('GET', '/microservices')).body.microservices[0].rebuild, true, 'still pending for the list pull');
    assert.equal((await call('GET', `/microservices/${other.uuid}`)).status, 404, 'not a microservice of this fog');
  } finally {
    await t.close();
  }
});

test('PUT /application/:name is all or nothing: an invalid microservice leaves the stored ones untouched', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    await provisionedFog(t, admin, 'edge-put', 1);
    const ms = (name: string, image: string, extra = {}) => ({
      name,
      agentName: 'edge-put',
      images: [{ containerImage: image, archId: 1 }],
      ...extra,
    });
    assert.equal(
      (
        await t.call('POST', '/api/v3/application', {
          token: admin,
          body: { name: 'app-put', microservices: [ms('a', 'img:1'), ms('b', 'img:1')] },
        })
      ).status,
      201,
    );
    const bad = await t.call('PUT', '/api/v3/application/app-put', {
      token: admin,
      body: { name: 'app-put', microservices: [ms('a', 'img:2'), ms('b', 'img:2', { ports: [{ internal: 1, external: 53 }] })] },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^microservices\[1\]\.ports\[0\]\.external: port 53 is reserved/);
    const stored = (await t.call('GET', '/api/v3/application/app-put', { token: admin })).body.microservices;
    assert.deepEqual(
      stored.map((m: { images: Array<{ containerImage: string }> }) => m.images[0]!.containerImage),
      ['img:1', 'img:1'],
      'a was not updated either',
    );
    assert.equal(
      (
        await t.call('PUT', '/api/v3/application/app-put', {
          token: admin,
          body: { name: 'app-put', microservices: [ms('a', 'img:2'), ms('c', 'img:3')] },
        })
      ).status,
      204,
    );
    const after = (await t.call('GET', '/api/v3/application/app-put', { token: admin })).body.microservices;
    assert.deepEqual(
      after.map(
        (m: { name: string; images: Array<{ containerImage: string }>; status: { status: string } }) =>
          `${m.name}=${m.images[0]!.containerImage}:${m.status.status}`,
      ),
      ['a=img:2:QUEUED', 'b=img:1:MARKED_FOR_DELETION', 'c=img:3:QUEUED'],
      'b is sent for deletion to the provisioned fog',
    );
  } finally {
    await t.close();
  }
});
