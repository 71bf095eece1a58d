// The fleet flow against the built bundle as a real process: an operator and an agent (signing its
// own EdDSA tokens like Edgelet) over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSigner } from '../harness/agent-token';
import { ADMIN, startController } from '../harness/process';

const APP_YAML = `apiVersion: iofog.org/v3
kind: Application
metadata:
  name: plant-a
spec:
  microservices:
    - name: sensor
      agent: { name: edge-e2e }
      images: { amd64: acme/sensor:1.0, arm64: acme/sensor:1.0-arm64 }
      container:
        ports: [{ internal: 8080, external: 18080 }]
        env: [{ key: MODE, value: edge }]
      config: { interval: 5 }
    - name: uplink
      agent: { name: edge-e2e }
      images: { arm64: acme/uplink:2.1 }
      config: {}
`;

test('operator → agent: provision, config, status, deploy from YAML, patch, commands, delete, UNKNOWN', { timeout: 120_000 }, async () => {
  const ctl = await startController();
  try {
    const api = async (method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; type?: string } = {}) => {
      const res = await fetch(ctl.url + path, {
        method,
        headers: { 'content-type': opts.type ?? 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const admin = (await api('POST', '/api/v3/user/login', { body: ADMIN })).body.accessToken;
    const fog = await api('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge-e2e', archId: 0 } });
    assert.equal(fog.status, 201);
    const uuid = fog.body.uuid;
    const key = await api('GET', `/api/v3/iofog/${uuid}/provisioning-key`, { token: admin });
    const prov = await api('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 2, engine: 'edgelet' } });
    assert.equal(prov.status, 200);
    const agent = await AgentSigner.fromProvision(prov.body);
    const ag = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${ctl.url}/api/v3/agent${path}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await agent.token()}`, 'request-id': String(process.hrtime.bigint()) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const cycle = async () => {
      const ch = await ag('GET', '/config/changes');
      assert.equal(ch.status, 200);
      assert.equal((await ag('PATCH', '/config/changes', { lastUpdated: ch.body.lastUpdated })).status, 200);
      return ch.body;
    };

    // Boot like Edgelet: registries → volume mounts → microservices → PATCH config → PUT status.
    assert.equal((await ag('GET', '/registries')).body.registries[0].url, 'docker.io');
    assert.deepEqual((await ag('GET', '/volumeMounts')).body, { volumeMounts: [] });
    assert.deepEqual((await ag('GET', '/microservices')).body, { microservices: [] });
    assert.equal((await ag('GET', '/config')).body.statusFrequency, 10);
    assert.equal((await ag('PATCH', '/config', { statusFrequency: 10, changeFrequency: 20, diskLimit: 50.5 })).status, 204);
    const status = { daemonStatus: 'RUNNING', ipAddress: '10.0.0.21', version: '1.0.3', availableRuntimes: ['runc'], microserviceStatus: '[]' };
    assert.equal((await ag('PUT', '/status', status)).status, 204);
    const first = await cycle();
    assert.equal(first.microserviceList, true);
    const running = await api('GET', `/api/v3/iofog/${uuid}`, { token: admin });
    assert.equal(running.body.daemonStatus, 'RUNNING');
    assert.equal(running.body.ipAddress, '10.0.0.21');
    assert.equal(running.body.version, '1.0.3');
    assert.equal(running.body.arch.name, 'arm64');

    // Deploy from YAML: the next changes poll asks for the list; the list has both, arm64 images.
    const deployed = await api('POST', '/api/v3/application/yaml', { token: admin, raw: APP_YAML, type: 'application/yaml' });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const ch = await cycle();
    assert.equal(ch.microserviceList, true);
    const list = (await ag('GET', '/microservices')).body.microservices;
    const byName = Object.fromEntries(list.map((m: { name: string }) => [m.name, m]));
    assert.deepEqual(Object.keys(byName).sort(), ['sensor', 'uplink']);
    assert.equal(byName.sensor.imageId, 'acme/sensor:1.0-arm64');
    assert.equal(byName.uplink.imageId, 'acme/uplink:2.1');
    assert.equal(byName.sensor.config, '{"interval":5}');
    assert.deepEqual(byName.sensor.portMappings, [{ internal: 8080, external: 18080, protocol: 'tcp' }]);
    assert.deepEqual(byName.sensor.env, [{ key: 'MODE', value: 'edge' }]);
    const report = JSON.stringify(list.map((m: { uuid: string }) => ({ id: m.uuid, status: 'RUNNING', percentage: 100, cpuUsage: '0.5', memoryUsage: '1024' })));
    assert.equal((await ag('PUT', '/status', { ...status, microserviceStatus: report })).status, 204);
    assert.equal((await api('GET', `/api/v3/microservices/${byName.sensor.uuid}`, { token: admin })).body.status.status, 'RUNNING');

    // Patch: config-only → microserviceConfig without rebuild; image → rebuild once.
    assert.equal((await api('PATCH', `/api/v3/microservices/${byName.sensor.uuid}`, { token: admin, body: { config: { interval: 1 } } })).status, 204);
    assert.equal((await cycle()).microserviceConfig, true);
    let sensor = (await ag('GET', '/microservices')).body.microservices.find((m: { name: string }) => m.name === 'sensor');
    assert.equal(sensor.config, '{"interval":1}');
    assert.equal(sensor.rebuild, false);
    assert.equal((await api('PATCH', `/api/v3/microservices/${byName.sensor.uuid}`, { token: admin, body: { images: [{ containerImage: 'acme/sensor:1.1-arm64', archId: 2 }] } })).status, 204);
    await cycle();
    sensor = (await ag('GET', '/microservices')).body.microservices.find((m: { name: string }) => m.name === 'sensor');
    assert.equal(sensor.rebuild, true);
    assert.equal((await ag('GET', '/microservices')).body.microservices.find((m: { name: string }) => m.name === 'sensor').rebuild, false);

    // Commands set their flags.
    assert.equal((await api('POST', `/api/v3/iofog/${uuid}/reboot`, { token: admin })).status, 204);
    assert.equal((await api('POST', `/api/v3/iofog/${uuid}/prune`, { token: admin })).status, 204);
    assert.equal((await ag('PUT', '/status', { ...status, isReadyToUpgrade: true })).status, 204);
    assert.equal((await api('POST', `/api/v3/iofog/${uuid}/version/upgrade`, { token: admin })).status, 204);
    const cmds = await cycle();
    assert.equal(cmds.reboot, true);
    assert.equal(cmds.prune, true);
    assert.equal(cmds.version, true);
    assert.equal((await ag('GET', '/version')).body.versionCommand, 'upgrade');

    // Delete the application: gone from the agent's list.
    assert.equal((await api('DELETE', '/api/v3/application/plant-a', { token: admin })).status, 204);
    assert.equal((await cycle()).microserviceList, true);
    assert.deepEqual((await ag('GET', '/microservices')).body.microservices, []);

    // The agent goes silent: three missed reports (10 s floor → 30 s) and the fog-status job (every 30 s) marks it UNKNOWN.
    assert.equal((await api('PATCH', `/api/v3/iofog/${uuid}`, { token: admin, body: { statusFrequency: 1 } })).status, 204);
    assert.equal((await ag('PUT', '/status', status)).status, 204);
    const deadline = Date.now() + 75_000;
    let seen = 'RUNNING';
    while (Date.now() < deadline && seen !== 'UNKNOWN') {
      await new Promise((r) => setTimeout(r, 1000));
      seen = (await api('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.daemonStatus;
    }
    assert.equal(seen, 'UNKNOWN');

    // Deleting the fog: deleteNode, the agent confirms, its next call is AGENT_FOG_NOT_FOUND.
    assert.equal((await api('DELETE', `/api/v3/iofog/${uuid}`, { token: admin })).status, 202);
    assert.equal((await ag('GET', '/config/changes')).body.deleteNode, true);
    assert.equal((await ag('DELETE', '/delete-node')).status, 204);
    const gone = await ag('GET', '/config');
    assert.equal(gone.status, 401);
    assert.equal(gone.body.code, 'AGENT_FOG_NOT_FOUND');
  } finally {
    await ctl.stop('SIGKILL');
  }
});
