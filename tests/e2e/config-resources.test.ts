// Configuration resources against the built bundle as a real process: secrets, config maps and
// volume mounts reaching an Edgelet simulator; an application deployed from a template; the audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Edgelet } from '../harness/edgelet';
import { ADMIN, startController } from '../harness/process';

type Api = (
  method: string,
  path: string,
  opts?: { token?: string; body?: unknown; raw?: string; type?: string },
) => Promise<{ status: number; body: any }>;

function client(url: string): Api {
  return async (method, path, opts = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { 'content-type': opts.type ?? 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('volume mounts reach the agent: secret + config map mounts linked → flag and content; unlink → flag and gone', {
  timeout: 120_000,
}, async () => {
  const ctl = await startController();
  try {
    const api = client(ctl.url);
    const admin = (await api('POST', '/api/v3/user/login', { body: ADMIN })).body.accessToken;
    const fog = await api('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge-vm', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const key = await api('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    const edge = new Edgelet(`${ctl.url}/api/v3`, { archId: 1 });
    assert.equal((await edge.provision(key.body.key)).status, 200);
    await edge.boot();
    await edge.changeCycle();
    // (read through a function: deepEqual's type assertion would narrow the field to never[])
    const mounts = () => edge.volumeMounts as Array<Record<string, any>>;
    assert.deepEqual(mounts(), []);

    // Secret and config map from YAML (multipart, the upstream form), mounts over JSON.
    const upload = async (path: string, field: string, doc: string) => {
      const form = new FormData();
      form.set(field, new Blob([doc]), 'doc.yaml');
      const res = await fetch(ctl.url + path, { method: 'POST', body: form, headers: { authorization: `Bearer ${admin}` } });
      return { status: res.status, body: await res.json() };
    };
    const s = await upload(
      '/api/v3/secrets/yaml',
      'secret',
      'apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: acme-creds }\ntype: Opaque\nspec: { type: Opaque }\ndata: { token: s3cr3t-value }\n',
    );
    assert.equal(s.status, 201, JSON.stringify(s.body));
    const m = await upload(
      '/api/v3/configmaps/yaml',
      'configMap',
      'apiVersion: iofog.org/v3\nkind: ConfigMap\nmetadata: { name: line-config }\nspec: { immutable: false }\ndata: { app.yaml: "mode: fast\\n" }\n',
    );
    assert.equal(m.status, 201, JSON.stringify(m.body));
    assert.equal(
      (await api('POST', '/api/v3/volumeMounts', { token: admin, body: { name: 'line-config', configMapName: 'line-config' } })).status,
      200,
    );
    assert.equal(
      (await api('POST', '/api/v3/volumeMounts', { token: admin, body: { name: 'acme-creds', secretName: 'acme-creds' } })).status,
      200,
    );
    for (const name of ['line-config', 'acme-creds']) {
      assert.equal(
        (await api('POST', `/api/v3/volumeMounts/${name}/link`, { token: admin, body: { fogUuids: [fog.body.uuid] } })).status,
        200,
      );
    }

    const linked = await edge.changeCycle();
    assert.ok(linked.flags.includes('volumeMounts'), `flags: ${linked.flags.join(',')}`);
    assert.ok(linked.calls.includes('GET /agent/volumeMounts'));
    assert.equal(linked.acknowledged, true);
    const byName = Object.fromEntries(mounts().map((v) => [v.name, v]));
    assert.deepEqual(Object.keys(byName).sort(), ['acme-creds', 'line-config']);
    assert.deepEqual(byName['line-config']!.data, { 'app.yaml': b64('mode: fast\n') });
    assert.equal(byName['line-config']!.type, 'configMap');
    assert.deepEqual(byName['acme-creds']!.data, { token: b64('s3cr3t-value') });
    assert.equal(byName['acme-creds']!.type, 'secret');
    // The agent reports what it applied.
    assert.equal((await edge.reportStatus()).status, 204);
    assert.equal((await api('GET', `/api/v3/iofog/${fog.body.uuid}`, { token: admin })).body.activeVolumeMounts, 2);

    // The config map changes: version 2 reaches the agent.
    await api('PATCH', '/api/v3/configmaps/line-config', { token: admin, body: { data: { 'app.yaml': 'mode: slow\n' } } });
    const changed = await edge.changeCycle();
    assert.ok(changed.flags.includes('volumeMounts'));
    const lc = mounts().find((v) => v.name === 'line-config')!;
    assert.equal(lc.version, 2);
    assert.deepEqual(lc.data, { 'app.yaml': b64('mode: slow\n') });

    // Unlink one: flag again, and it is gone from the agent's set.
    assert.equal(
      (await api('DELETE', '/api/v3/volumeMounts/acme-creds/link', { token: admin, body: { fogUuids: [fog.body.uuid] } })).status,
      200,
    );
    const unlinked = await edge.changeCycle();
    assert.ok(unlinked.flags.includes('volumeMounts'));
    assert.deepEqual(
      mounts().map((v) => v.name),
      ['line-config'],
    );
    // Nothing changed → no flag on the next poll.
    const quiet = await edge.changeCycle();
    assert.ok(!quiet.flags.includes('volumeMounts'));

    // Every write above is on the audit log, with the user and the fog as actors.
    const events = (await api('GET', '/api/v3/events?limit=1000', { token: admin })).body.events as Array<Record<string, any>>;
    const paths = events.map((e) => `${e.method} ${e.endpointPath}`);
    for (const p of [
      'POST /api/v3/secrets/yaml',
      'POST /api/v3/configmaps/yaml',
      'POST /api/v3/volumeMounts',
      'PATCH /api/v3/configmaps/line-config',
      'DELETE /api/v3/volumeMounts/acme-creds/link',
      'POST /api/v3/agent/provision',
    ]) {
      assert.ok(paths.includes(p), `audit has ${p}`);
    }
    assert.equal(events.filter((e) => e.endpointPath === '/api/v3/volumeMounts/line-config/link').length, 1);
    edge.close();
  } finally {
    await ctl.stop();
  }
});

test('template deploy: a template with two variables → an application with the substituted values', { timeout: 60_000 }, async () => {
  const ctl = await startController();
  try {
    const api = client(ctl.url);
    const admin = (await api('POST', '/api/v3/user/login', { body: ADMIN })).body.accessToken;
    for (const name of ['edge-lisbon-01', 'edge-porto-02'])
      assert.equal(
        (await api('POST', '/api/v3/iofog', { token: admin, body: { name, archId: 1, routerMode: 'none', natsMode: 'none' } })).status,
        201,
      );
    const template = `apiVersion: iofog.org/v3
kind: ApplicationTemplate
metadata: { name: sensor-kit }
spec:
  description: Single-sensor kit
  variables:
    - { key: target-agent, description: Agent to run on, defaultValue: edge-lisbon-01 }
    - { key: image-tag, description: Sensor image tag }
  application:
    microservices:
      - name: sensor
        agent: { name: "{{target-agent}}" }
        images: { amd64: "ghcr.io/acme/sensor:{{image-tag}}" }
        container:
          env: [{ key: SITE, value: "{{target-agent}}" }]
`;
    const created = await api('POST', '/api/v3/applicationTemplate/yaml', { token: admin, raw: template, type: 'application/yaml' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const missing = await api('POST', '/api/v3/application', {
      token: admin,
      body: { name: 'porto-line', template: { name: 'sensor-kit', variables: [] } },
    });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /template\.variables\.image-tag: required/);

    const deployed = await api('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'porto-line',
        isActivated: true,
        template: {
          name: 'sensor-kit',
          variables: [
            { key: 'target-agent', value: 'edge-porto-02' },
            { key: 'image-tag', value: '0.9.1' },
          ],
        },
      },
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const app = (await api('GET', '/api/v3/application/porto-line', { token: admin })).body;
    const ms = app.microservices[0];
    assert.equal(ms.name, 'sensor');
    assert.equal(ms.agentName, 'edge-porto-02');
    assert.deepEqual(ms.images, [{ containerImage: 'ghcr.io/acme/sensor:0.9.1', archId: 1 }]);
    assert.deepEqual(ms.env, [{ key: 'SITE', value: 'edge-porto-02' }]);
  } finally {
    await ctl.stop();
  }
});
