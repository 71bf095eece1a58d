import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../harness/app';
import { heartbeat } from '../../src/services/cluster/cluster';

/**
 * Every write route of the configuration resources: a successful call leaves exactly one audit
 * event (naming the call), a failing call leaves none.
 */
interface Step {
  method: string;
  path: string;
  body?: unknown;
  /** multipart upload: [field, YAML document] */
  yaml?: [string, string];
  status: number;
}

async function send(t: TestApp, token: string, s: Step) {
  if (s.yaml) {
    const form = new FormData();
    form.set(s.yaml[0], new Blob([s.yaml[1]]), 'doc.yaml');
    const r = await t.app.request(
      s.path,
      { method: s.method, body: form, headers: { authorization: `Bearer ${token}` } },
      { clientIp: '10.0.0.1' },
    );
    return { status: r.status, requestId: r.headers.get('x-request-id') };
  }
  const r = await t.call(s.method, s.path, { token, body: s.body });
  return { status: r.status, requestId: r.headers.get('x-request-id') };
}

const count = async (t: TestApp) => Number((await t.ctx.store.raw.execute('SELECT count(*) AS n FROM audit_event')).rows[0]!.n);
const newest = async (t: TestApp) => (await t.ctx.store.raw.execute('SELECT * FROM audit_event ORDER BY id DESC LIMIT 1')).rows[0]!;

const Y = (kind: string, name: string, body: string) => `apiVersion: iofog.org/v3\nkind: ${kind}\nmetadata: { name: ${name} }\n${body}`;
const TEMPLATE = {
  name: 'kit',
  variables: [{ key: 'tag', defaultValue: '1' }],
  application: { microservices: [{ name: 'm', agentName: 'audit-fog', images: [{ containerImage: 'img:{{tag}}', archId: 1 }] }] },
};

test('configuration resources: one audit event per successful write, none for a failing one', async () => {
  const t = await makeTestApp({ env: { CONTROLLER_UUID: '33333333-4444-4555-8666-777777777777' } });
  try {
    const admin = (await t.login()).accessToken;
    const fog = (
      await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'audit-fog', archId: 1, routerMode: 'none', natsMode: 'none' } })
    ).body.uuid;
    await heartbeat(t.ctx);
    const replica = t.ctx.controllerUuid;
    const steps: Step[] = [
      // failing first, then succeeding, per route
      { method: 'POST', path: '/api/v3/secrets', body: { name: 's1', type: 'tls', data: { k: '***' } }, status: 400 },
      { method: 'POST', path: '/api/v3/secrets', body: { name: 's1', type: 'Opaque', data: { k: 'v' } }, status: 201 },
      {
        method: 'POST',
        path: '/api/v3/secrets/yaml',
        yaml: ['secret', Y('Secret', 's1', 'spec: { type: Opaque }\ndata: { k: v }\n')],
        status: 409,
      },
      {
        method: 'POST',
        path: '/api/v3/secrets/yaml',
        yaml: ['secret', Y('Secret', 's2', 'spec: { type: Opaque }\ndata: { k: v }\n')],
        status: 201,
      },
      { method: 'PATCH', path: '/api/v3/secrets/nope', body: { data: {} }, status: 404 },
      { method: 'PATCH', path: '/api/v3/secrets/s1', body: { data: { k: 'v2' } }, status: 200 },
      {
        method: 'PATCH',
        path: '/api/v3/secrets/yaml/s2',
        yaml: ['secret', Y('Secret', 'other', 'spec: { type: Opaque }\ndata: { k: v }\n')],
        status: 400,
      },
      {
        method: 'PATCH',
        path: '/api/v3/secrets/yaml/s2',
        yaml: ['secret', Y('Secret', 's2', 'spec: { type: Opaque }\ndata: { k: v3 }\n')],
        status: 200,
      },
      { method: 'POST', path: '/api/v3/configmaps', body: { name: 'c1', data: { k: 1 } }, status: 400 },
      { method: 'POST', path: '/api/v3/configmaps', body: { name: 'c1', data: { k: 'v' } }, status: 201 },
      { method: 'POST', path: '/api/v3/configmaps/yaml', yaml: ['configMap', Y('ConfigMap', 'c2', 'data: { k: v }\n')], status: 400 },
      {
        method: 'POST',
        path: '/api/v3/configmaps/yaml',
        yaml: ['configMap', Y('ConfigMap', 'c2', 'spec: { immutable: true }\ndata: { k: v }\n')],
        status: 201,
      },
      { method: 'PATCH', path: '/api/v3/configmaps/c2', body: { data: { k: 'x' } }, status: 400 },
      { method: 'PATCH', path: '/api/v3/configmaps/c1', body: { data: { k: 'x' } }, status: 200 },
      {
        method: 'PATCH',
        path: '/api/v3/configmaps/yaml/c1',
        yaml: ['configMap', Y('ConfigMap', 'c1', 'spec: { immutable: false }\ndata: { k: y }\n')],
        status: 200,
      },
      { method: 'POST', path: '/api/v3/volumeMounts', body: { name: 'v1', secretName: 'missing' }, status: 404 },
      { method: 'POST', path: '/api/v3/volumeMounts', body: { name: 'v1', secretName: 's1' }, status: 200 },
      {
        method: 'POST',
        path: '/api/v3/volumeMounts/yaml',
        yaml: ['volumeMount', Y('VolumeMount', 'v2', 'spec: { configMapName: c1 }\n')],
        status: 200,
      },
      { method: 'PATCH', path: '/api/v3/volumeMounts/v1', body: { secretName: 's1', configMapName: 'c1' }, status: 400 },
      { method: 'PATCH', path: '/api/v3/volumeMounts/v1', body: { secretName: 's2' }, status: 200 },
      {
        method: 'PATCH',
        path: '/api/v3/volumeMounts/yaml/v2',
        yaml: ['volumeMount', Y('VolumeMount', 'v2', 'spec: { configMapName: c2 }\n')],
        status: 200,
      },
      { method: 'POST', path: '/api/v3/volumeMounts/v1/link', body: { fogUuids: ['no-such-fog'] }, status: 404 },
      { method: 'POST', path: '/api/v3/volumeMounts/v1/link', body: { fogUuids: [fog] }, status: 200 },
      { method: 'DELETE', path: '/api/v3/volumeMounts/v1/link', body: { fogUuids: [fog] }, status: 200 },
      { method: 'DELETE', path: '/api/v3/secrets/s2', status: 409 },
      { method: 'DELETE', path: '/api/v3/volumeMounts/v1', status: 202 },
      { method: 'DELETE', path: '/api/v3/secrets/s2', status: 200 },
      { method: 'DELETE', path: '/api/v3/volumeMounts/v2', status: 202 },
      { method: 'DELETE', path: '/api/v3/configmaps/c2', status: 200 },
      {
        method: 'POST',
        path: '/api/v3/applicationTemplate',
        body: { ...TEMPLATE, variables: [{ key: 'tag' }, { key: 'tag' }] },
        status: 400,
      },
      { method: 'POST', path: '/api/v3/applicationTemplate', body: TEMPLATE, status: 201 },
      {
        method: 'POST',
        path: '/api/v3/applicationTemplate/yaml',
        yaml: ['template', Y('ApplicationTemplate', 'kit2', 'spec:\n  application:\n    microservices: []\n')],
        status: 201,
      },
      { method: 'PATCH', path: '/api/v3/applicationTemplate/kit2', body: { name: 'kit' }, status: 409 },
      { method: 'PATCH', path: '/api/v3/applicationTemplate/kit2', body: { description: 'd' }, status: 204 },
      { method: 'PUT', path: '/api/v3/applicationTemplate/kit3', body: { ...TEMPLATE, name: 'kit3' }, status: 200 },
      {
        method: 'PUT',
        path: '/api/v3/applicationTemplate/yaml/kit3',
        yaml: ['template', Y('ApplicationTemplate', 'kit3', 'spec:\n  application:\n    microservices: []\n')],
        status: 200,
      },
      {
        method: 'POST',
        path: '/api/v3/application',
        body: { name: 'from-kit', template: { name: 'kit', variables: [{ key: 'nope', value: 1 }] } },
        status: 400,
      },
      { method: 'POST', path: '/api/v3/application', body: { name: 'from-kit', template: { name: 'kit' } }, status: 201 },
      { method: 'DELETE', path: '/api/v3/applicationTemplate/kit3', status: 204 },
      { method: 'PUT', path: '/api/v3/config', body: { key: '', value: 'x' }, status: 400 },
      { method: 'PUT', path: '/api/v3/config', body: { key: 'banner', value: 'x' }, status: 200 },
      { method: 'PATCH', path: `/api/v3/cluster/controllers/${replica}`, body: { host: 'not a host' }, status: 400 },
      { method: 'PATCH', path: `/api/v3/cluster/controllers/${replica}`, body: { host: 'ctl.plant.local' }, status: 200 },
      { method: 'DELETE', path: '/api/v3/cluster/controllers/nope', status: 404 },
      { method: 'DELETE', path: `/api/v3/cluster/controllers/${replica}`, status: 204 },
      { method: 'DELETE', path: '/api/v3/events', body: { days: 400 }, status: 400 },
    ];
    for (const s of steps) {
      const before = await count(t);
      const r = await send(t, admin, s);
      assert.equal(r.status, s.status, `${s.method} ${s.path}`);
      const after = await count(t);
      if (s.status < 300) {
        assert.equal(after, before + 1, `${s.method} ${s.path} leaves exactly one event`);
        const e = await newest(t);
        assert.equal(e.method, s.method);
        assert.equal(e.endpoint_path, s.path);
        assert.equal(e.request_id, r.requestId);
        assert.equal(e.actor_id, 'admin@example.com');
      } else {
        assert.equal(after, before, `${s.method} ${s.path} (${s.status}) leaves none`);
      }
    }
    // The purge of the log is itself the one event left.
    const purge = await t.call('DELETE', '/api/v3/events', { token: admin, body: { days: 0 } });
    assert.equal(purge.status, 200);
    assert.equal(await count(t), 1);
    assert.equal((await newest(t)).endpoint_path, '/api/v3/events');
  } finally {
    await t.close();
  }
});
