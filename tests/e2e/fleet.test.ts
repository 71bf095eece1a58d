// The fleet flow against the built bundle as a real process: an operator over the REST API and the
// Edgelet simulator (tests/harness/edgelet.ts) over the agent contract, on both storage dialects
// (PostgreSQL: a fresh, empty database the bundle migrates itself, see tests/harness/postgres.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Edgelet } from '../harness/edgelet';
import { ADMIN, startController } from '../harness/process';
import { waitFor } from '../harness/wait';
import { emptyPgDatabase, type PgDatabase } from '../harness/postgres';

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

for (const dialect of ['libSQL', 'PostgreSQL'] as const) {
  test(
    `operator → agent (${dialect}): provision, config, status, deploy from YAML, patch, commands, delete, UNKNOWN`,
    { timeout: 120_000 },
    () => operatorToAgent(dialect),
  );
}

async function operatorToAgent(dialect: 'libSQL' | 'PostgreSQL'): Promise<void> {
  let pg: PgDatabase | undefined;
  if (dialect === 'PostgreSQL') pg = await emptyPgDatabase();
  const ctl = await startController(pg ? { env: { DB_URL: pg.url } } : {});
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
    const fog = await api('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge-e2e', archId: 0, routerMode: 'none', natsMode: 'none' },
    });
    assert.equal(fog.status, 201);
    const uuid = fog.body.uuid;
    const key = await api('GET', `/api/v3/iofog/${uuid}/provisioning-key`, { token: admin });
    const edge = new Edgelet(`${ctl.url}/api/v3`, { archId: 2 });
    assert.equal((await edge.provision(key.body.key)).status, 200);
    // A reboot queued before the agent's first cycle is dropped by the initialization cycle.
    assert.equal((await api('POST', `/api/v3/iofog/${uuid}/reboot`, { token: admin })).status, 204);

    // Boot like Edgelet: registries → volume mounts → microservices → PATCH config → PUT status.
    await edge.boot();
    assert.equal(edge.registries[0]!.url, 'docker.io');
    assert.deepEqual(edge.volumeMounts, []);
    assert.equal(edge.running.size, 0);
    const init = await edge.changeCycle();
    assert.equal(init.initialization, true);
    assert.ok(init.flags.includes('reboot') && init.flags.includes('microserviceList'));
    assert.equal(edge.rebooted, 0, 'not acted on during initialization');
    assert.equal(init.acknowledged, true);
    assert.ok(init.calls.indexOf('GET /agent/registries') < init.calls.indexOf('GET /agent/microservices'), 'Edgelet order');
    const running = await api('GET', `/api/v3/iofog/${uuid}`, { token: admin });
    assert.equal(running.body.daemonStatus, 'RUNNING');
    assert.equal(running.body.ipAddress, '10.0.0.21');
    assert.equal(running.body.version, '1.0.3');
    assert.equal(running.body.arch.name, 'arm64');
    assert.equal(running.body.diskLimit, 50, 'the agent pushed its local config');

    // Deploy from YAML: the next changes poll asks for the list; the list has both, arm64 images.
    const deployed = await api('POST', '/api/v3/application/yaml', { token: admin, raw: APP_YAML, type: 'application/yaml' });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const ch = await edge.changeCycle();
    assert.ok(ch.flags.includes('microserviceList'));
    const byName = Object.fromEntries([...edge.running.values()].map((m) => [m.name, m]));
    assert.deepEqual(Object.keys(byName).sort(), ['sensor', 'uplink']);
    assert.equal(byName.sensor.imageId, 'acme/sensor:1.0-arm64');
    assert.equal(byName.uplink.imageId, 'acme/uplink:2.1');
    assert.equal(byName.sensor.config, '{"interval":5}');
    assert.deepEqual(byName.sensor.portMappings, [{ internal: 8080, external: 18080, protocol: 'tcp' }]);
    assert.deepEqual(byName.sensor.env, [{ key: 'MODE', value: 'edge' }]);
    assert.equal((await edge.reportStatus()).status, 204);
    assert.equal((await api('GET', `/api/v3/microservices/${byName.sensor.uuid}`, { token: admin })).body.status.status, 'RUNNING');

    // Patch: config-only → microserviceConfig without rebuild; image → rebuild once.
    assert.equal(
      (await api('PATCH', `/api/v3/microservices/${byName.sensor.uuid}`, { token: admin, body: { config: { interval: 1 } } })).status,
      204,
    );
    assert.ok((await edge.changeCycle()).flags.includes('microserviceConfig'));
    assert.equal(edge.running.get(byName.sensor.uuid)!.config, '{"interval":1}');
    assert.equal(edge.running.get(byName.sensor.uuid)!.rebuild, false);
    assert.equal(
      (
        await api('PATCH', `/api/v3/microservices/${byName.sensor.uuid}`, {
          token: admin,
          body: { images: [{ containerImage: 'acme/sensor:1.1-arm64', archId: 2 }] },
        })
      ).status,
      204,
    );
    await edge.changeCycle();
    assert.equal(edge.running.get(byName.sensor.uuid)!.rebuild, true);
    assert.equal(edge.running.get(byName.sensor.uuid)!.imageId, 'acme/sensor:1.1-arm64');
    const again = (await edge.http('GET', '/agent/microservices')).body.microservices;
    assert.equal(again.find((m: { uuid: string }) => m.uuid === byName.sensor.uuid).rebuild, false, 'delivered once');
    await api('POST', `/api/v3/iofog/${uuid}/prune`, { token: admin });
    const pruneCycle = await edge.changeCycle();
    assert.deepEqual(pruneCycle.flags, ['prune']);
    assert.deepEqual(pruneCycle.calls, ['PATCH /agent/config/changes'], 'nothing to fetch for a prune');

    // Commands set their flags and the agent acts on them.
    assert.equal((await api('POST', `/api/v3/iofog/${uuid}/reboot`, { token: admin })).status, 204);
    assert.equal((await api('POST', `/api/v3/iofog/${uuid}/version/upgrade`, { token: admin })).status, 204);
    const cmds = await edge.changeCycle();
    assert.ok(cmds.flags.includes('reboot') && cmds.flags.includes('version'));
    assert.ok(cmds.calls.includes('GET /agent/version'));
    assert.equal(edge.rebooted, 1);
    assert.equal(edge.pruned, 1);

    // Delete the application: gone from the agent's list.
    assert.equal((await api('DELETE', '/api/v3/application/plant-a', { token: admin })).status, 204);
    assert.ok((await edge.changeCycle()).flags.includes('microserviceList'));
    assert.equal(edge.running.size, 0);

    // The agent goes silent: three missed reports (10 s floor → 30 s) and the fog-status job (every 30 s) marks it UNKNOWN.
    assert.equal((await api('PATCH', `/api/v3/iofog/${uuid}`, { token: admin, body: { statusFrequency: 1 } })).status, 204);
    assert.equal((await edge.reportStatus()).status, 204);
    await waitFor(
      'the fog to be marked UNKNOWN',
      async () => (await api('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.daemonStatus === 'UNKNOWN',
      {
        timeoutMs: 75_000,
        intervalMs: 1000,
      },
    );

    // Deleting the fog: the agent sees deleteNode, confirms with delete-node, and is locked out.
    assert.equal((await api('DELETE', `/api/v3/iofog/${uuid}`, { token: admin })).status, 202);
    const last = await edge.changeCycle();
    assert.ok(last.flags.includes('deleteNode'));
    assert.deepEqual(last.calls, ['DELETE /agent/delete-node'], 'handled exclusively');
    assert.equal(edge.deleted, true);
    const gone = await edge.http('GET', '/agent/config');
    assert.equal(gone.status, 401);
    assert.equal(gone.body.code, 'AGENT_FOG_NOT_FOUND');
    assert.equal((await api('GET', `/api/v3/iofog/${uuid}`, { token: admin })).status, 404);
  } finally {
    await ctl.stop('SIGKILL');
    await pg?.drop();
  }
}
