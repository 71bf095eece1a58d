import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../harness/app';

/**
 * YAML documents across the kinds, each sent both ways the Controller accepts them (multipart with the
 * route's field name, and a raw application/yaml body). Valid ones must succeed; invalid ones must be a
 * 400 whose message names the YAML path of the problem.
 */
interface Case {
  name: string;
  method: 'POST' | 'PUT' | 'PATCH';
  path: string;
  field: string;
  yaml: string;
  /** Expected status, and for 4xx a pattern the message must match. */
  status: number;
  error?: RegExp;
}

const MS = (extra = '') => `
    - name: reader
      agent: { name: yaml-fog }
      images: { amd64: ghcr.io/acme/reader:1.0, arm64: ghcr.io/acme/reader:1.0-arm64, registry: remote }
      container:
        ports: [{ internal: 8080, external: EXT, protocol: tcp }]
        env: [{ key: MODE, value: edge }]
${extra}`;

export const APPLICATION_CASES: Case[] = [
  {
    name: 'Application: valid, two architectures',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 201,
    yaml: `apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: APP }\nspec:\n  microservices:${MS()}`,
  },
  {
    name: 'Application: datasance.com/v3 apiVersion is accepted',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 201,
    yaml: `apiVersion: datasance.com/v3\nkind: Application\nmetadata: { name: APP }\nspec: { microservices: [] }`,
  },
  {
    name: 'Application: wrong apiVersion',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 400,
    error: /^apiVersion: /,
    yaml: `apiVersion: v1\nkind: Application\nmetadata: { name: APP }\nspec: {}`,
  },
  {
    name: 'Application: wrong kind for the endpoint',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 400,
    error: /^kind: expected Application, got Deployment/,
    yaml: `apiVersion: iofog.org/v3\nkind: Deployment\nmetadata: { name: APP }\nspec: {}`,
  },
  {
    name: 'Application: not YAML',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 400,
    error: /^YAML: /,
    yaml: `apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: [unclosed\n`,
  },
  {
    name: 'Application: metadata.name missing',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 400,
    error: /metadata/,
    yaml: `apiVersion: iofog.org/v3\nkind: Application\nmetadata: {}\nspec: {}`,
  },
  {
    name: 'Application: unknown architecture key',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 400,
    error: /spec\.microservices\[0\]\.images\.sparc: unknown architecture/,
    yaml: `apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: APP }\nspec:\n  microservices:\n    - { name: m, agent: { name: yaml-fog }, images: { sparc: img } }`,
  },
  {
    name: 'Application: reserved host port',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 400,
    error: /spec\.microservices\[0\]\.container\.ports\[0\]\.external/,
    yaml: `apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: APP }\nspec:\n  microservices:\n    - { name: m, agent: { name: yaml-fog }, images: { amd64: img }, container: { ports: [{ internal: 80, external: 54321 }] } }`,
  },
  {
    name: 'Application: microservices is not a list',
    method: 'POST',
    path: '/api/v3/application/yaml',
    field: 'application',
    status: 400,
    error: /^spec\.microservices: must be a list/,
    yaml: `apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: APP }\nspec: { microservices: { name: m } }`,
  },
  {
    name: 'Application: PUT with a different metadata.name',
    method: 'PUT',
    path: '/api/v3/application/yaml/other-name',
    field: 'application',
    status: 400,
    error: /^metadata\.name: must equal/,
    yaml: `apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: APP }\nspec: {}`,
  },
  {
    name: 'Microservice: valid app/ms name',
    method: 'POST',
    path: '/api/v3/microservices/yaml',
    field: 'microservice',
    status: 201,
    yaml: `apiVersion: iofog.org/v3\nkind: Microservice\nmetadata: { name: yaml-host/MS }\nspec:\n  agent: { name: yaml-fog }\n  images: { amd64: ghcr.io/acme/dash:2.0.1 }\n  container: { runtime: runc, env: [{ key: A, value: b }] }\n  config: { threshold: 0.7 }`,
  },
  {
    name: 'Microservice: env entry without key',
    method: 'POST',
    path: '/api/v3/microservices/yaml',
    field: 'microservice',
    status: 400,
    error: /spec\.container\.env\[0\]\.key/,
    yaml: `apiVersion: iofog.org/v3\nkind: Microservice\nmetadata: { name: yaml-host/MS }\nspec:\n  agent: { name: yaml-fog }\n  images: { amd64: img }\n  container: { env: [{ value: b }] }`,
  },
  {
    name: 'Microservice: images.registry is neither remote, local nor an id',
    method: 'POST',
    path: '/api/v3/microservices/yaml',
    field: 'microservice',
    status: 400,
    error: /spec\.images\.registry/,
    yaml: `apiVersion: iofog.org/v3\nkind: Microservice\nmetadata: { name: yaml-host/MS }\nspec:\n  agent: { name: yaml-fog }\n  images: { amd64: img, registry: somewhere }`,
  },
];

let seq = 0;
/** Sends one case as multipart (field name from the spec) or as a raw YAML body. */
export async function sendYaml(t: TestApp, token: string, c: Case, mode: 'multipart' | 'raw') {
  const unique = `y${++seq}`;
  const yaml = c.yaml
    .replaceAll('APP', unique)
    .replaceAll('MS', `ms-${unique}`)
    .replaceAll('EXT', String(18000 + seq));
  const path = c.path.replaceAll('APP', unique);
  let init: RequestInit;
  if (mode === 'multipart') {
    const form = new FormData();
    form.set(c.field, new Blob([yaml], { type: 'application/yaml' }), 'doc.yaml');
    init = { method: c.method, body: form, headers: { authorization: `Bearer ${token}` } };
  } else {
    init = { method: c.method, body: yaml, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' } };
  }
  const res = await t.app.request(path, init, { clientIp: '10.0.0.1' });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function runCases(t: TestApp, token: string, cases: Case[]) {
  for (const c of cases) {
    for (const mode of ['multipart', 'raw'] as const) {
      const r = await sendYaml(t, token, c, mode);
      assert.equal(r.status, c.status, `${c.name} (${mode}): ${JSON.stringify(r.body)}`);
      if (c.error) {
        assert.equal(r.body.code, 'VALIDATION_FAILED', `${c.name} (${mode})`);
        assert.match(r.body.message, c.error, `${c.name} (${mode}): ${r.body.message}`);
      }
    }
  }
}

test('YAML kinds: applications and microservices, multipart and raw', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'yaml-fog', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      201,
    );
    assert.equal((await t.call('POST', '/api/v3/application', { token: admin, body: { name: 'yaml-host' } })).status, 201);
    await runCases(t, admin, APPLICATION_CASES);
  } finally {
    await t.close();
  }
});

test('YAML uploads: missing file part, wrong field, two files, empty body, unsupported content type', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const auth = { authorization: `Bearer ${admin}` };
    const doc = 'apiVersion: iofog.org/v3\nkind: Application\nmetadata: { name: x }\nspec: {}\n';
    const post = async (init: RequestInit) => {
      const res = await t.app.request('/api/v3/application/yaml', { method: 'POST', ...init }, { clientIp: '10.0.0.1' });
      return { status: res.status, body: (await res.json()) as { message: string; code: string } };
    };
    const wrong = new FormData();
    wrong.set('file', new Blob([doc]), 'a.yaml');
    let r = await post({ body: wrong, headers: auth });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /^application: a YAML file in multipart field "application" is required \(got file\)/);
    const two = new FormData();
    two.append('application', new Blob([doc]), 'a.yaml');
    two.append('application', new Blob([doc]), 'b.yaml');
    r = await post({ body: two, headers: auth });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /exactly one file/);
    r = await post({ body: '   ', headers: { ...auth, 'content-type': 'application/yaml' } });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /empty/);
    r = await post({ body: doc, headers: { ...auth, 'content-type': 'application/xml' } });
    assert.equal(r.status, 415);
    assert.equal(r.body.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal(r.body.message, 'Content-Type application/xml is not accepted here: send multipart/form-data or application/yaml');
    r = await t.call('POST', '/api/v3/iofog', { raw: 'name: x', headers: { ...auth, 'content-type': 'text/yaml' } });
    assert.equal(r.status, 415);
    assert.equal(r.body.message, 'Content-Type text/yaml is not accepted here: send application/json');
    r = await post({ body: `${doc}---\n${doc}`, headers: { ...auth, 'content-type': 'application/yaml' } });
    assert.equal(r.status, 400, 'one document per upload');
    assert.match(r.body.message, /^YAML: /);
  } finally {
    await t.close();
  }
});

export const RESOURCE_CASES: Case[] = [
  {
    name: 'Secret: type in spec and at the top level, data at the top level',
    method: 'POST',
    path: '/api/v3/secrets/yaml',
    field: 'secret',
    status: 201,
    yaml: `apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: APP }\ntype: Opaque\nspec: { type: Opaque }\ndata: { token: s3cr3t-value }\n`,
  },
  {
    name: 'Secret: tls values must be base64',
    method: 'POST',
    path: '/api/v3/secrets/yaml',
    field: 'secret',
    status: 400,
    error: /^data: values of a tls secret must be base64; not base64: tls\.key$/,
    yaml: `apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: APP }\nspec: { type: tls }\ndata: { tls.crt: "TUlJQg==", tls.key: "not base64" }\n`,
  },
  {
    name: 'Secret: unknown type',
    method: 'POST',
    path: '/api/v3/secrets/yaml',
    field: 'secret',
    status: 400,
    error: /^spec\.type: /,
    yaml: `apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: APP }\nspec: { type: docker-registry }\ndata: {}\n`,
  },
  {
    name: 'ConfigMap: valid',
    method: 'POST',
    path: '/api/v3/configmaps/yaml',
    field: 'configMap',
    status: 201,
    yaml: `apiVersion: iofog.org/v3\nkind: ConfigMap\nmetadata: { name: APP }\nspec: { immutable: false }\ndata: { app.yaml: "mode: fast" }\n`,
  },
  {
    name: 'ConfigMap: spec is required',
    method: 'POST',
    path: '/api/v3/configmaps/yaml',
    field: 'configMap',
    status: 400,
    error: /^spec: required/,
    yaml: `apiVersion: iofog.org/v3\nkind: ConfigMap\nmetadata: { name: APP }\ndata: { a: b }\n`,
  },
  {
    name: 'ConfigMap: a data key that is not a file name',
    method: 'POST',
    path: '/api/v3/configmaps/yaml',
    field: 'configMap',
    status: 400,
    error: /^data\.bad key: keys must be/,
    yaml: `apiVersion: iofog.org/v3\nkind: ConfigMap\nmetadata: { name: APP }\nspec: { immutable: false }\ndata: { "bad key": b }\n`,
  },
  {
    name: 'VolumeMount: both sources',
    method: 'POST',
    path: '/api/v3/volumeMounts/yaml',
    field: 'volumeMount',
    status: 400,
    error: /^secretName, configMapName: give exactly one/,
    yaml: `apiVersion: iofog.org/v3\nkind: VolumeMount\nmetadata: { name: APP }\nspec: { secretName: yaml-secret, configMapName: yaml-config }\n`,
  },
  {
    name: 'VolumeMount: valid, backed by a config map',
    method: 'POST',
    path: '/api/v3/volumeMounts/yaml',
    field: 'volumeMount',
    status: 200,
    yaml: `apiVersion: iofog.org/v3\nkind: VolumeMount\nmetadata: { name: APP }\nspec: { configMapName: yaml-config }\n`,
  },
  {
    name: 'ApplicationTemplate: valid',
    method: 'POST',
    path: '/api/v3/applicationTemplate/yaml',
    field: 'template',
    status: 201,
    yaml: `apiVersion: iofog.org/v3\nkind: ApplicationTemplate\nmetadata: { name: APP }\nspec:\n  variables: [{ key: tag, defaultValue: "1.0" }]\n  application:\n    microservices:\n      - { name: m, agent: { name: yaml-fog }, images: { amd64: "img:{{tag}}" } }\n`,
  },
  {
    // Accepted, as v3.8: an undeclared placeholder is checked when the template is deployed.
    name: 'ApplicationTemplate: placeholder without a variable',
    method: 'POST',
    path: '/api/v3/applicationTemplate/yaml',
    field: 'template',
    status: 201,
    yaml: `apiVersion: iofog.org/v3\nkind: ApplicationTemplate\nmetadata: { name: APP }\nspec:\n  application:\n    microservices:\n      - { name: m, agent: { name: yaml-fog }, images: { amd64: "img:{{tag}}" } }\n`,
  },
  {
    name: 'ApplicationTemplate: variable type',
    method: 'POST',
    path: '/api/v3/applicationTemplate/yaml',
    field: 'template',
    status: 400,
    error: /^spec\.variables\[0\]\.type: /,
    yaml: `apiVersion: iofog.org/v3\nkind: ApplicationTemplate\nmetadata: { name: APP }\nspec:\n  variables: [{ key: n, type: integer }]\n  application: { microservices: [] }\n`,
  },
  {
    name: 'Role: valid (rules at the top level)',
    method: 'POST',
    path: '/api/v3/roles/yaml',
    field: 'role',
    status: 201,
    yaml: `apiVersion: iofog.org/v3\nkind: Role\nmetadata: { name: APP }\nrules:\n  - { apiGroups: [""], resources: [microservices, applications], verbs: [get, list, patch] }\n`,
  },
  {
    name: 'Role: unknown verb',
    method: 'POST',
    path: '/api/v3/roles/yaml',
    field: 'role',
    status: 400,
    error: /^rules\[0\]\.verbs\[1\]: /,
    yaml: `apiVersion: iofog.org/v3\nkind: Role\nmetadata: { name: APP }\nrules:\n  - { apiGroups: [""], resources: [logs], verbs: [get, tail] }\n`,
  },
  {
    name: 'RoleBinding: subject kind',
    method: 'POST',
    path: '/api/v3/rolebindings/yaml',
    field: 'rolebinding',
    status: 400,
    error: /^subjects\[1\]\.kind: /,
    yaml: `apiVersion: iofog.org/v3\nkind: RoleBinding\nmetadata: { name: APP }\nroleRef: { kind: Role, name: viewer }\nsubjects: [{ kind: Group, name: ops }, { kind: Team, name: x }]\n`,
  },
  {
    name: 'ServiceAccount: applicationName is required',
    method: 'POST',
    path: '/api/v3/serviceaccounts/yaml',
    field: 'serviceaccount',
    status: 400,
    error: /^metadata\.applicationName: /,
    yaml: `apiVersion: iofog.org/v3\nkind: ServiceAccount\nmetadata: { name: APP }\nroleRef: { kind: Role, name: microservice }\n`,
  },
  {
    name: 'Wrong kind on the secret endpoint',
    method: 'POST',
    path: '/api/v3/secrets/yaml',
    field: 'secret',
    status: 400,
    error: /^kind: expected Secret, got ConfigMap/,
    yaml: `apiVersion: iofog.org/v3\nkind: ConfigMap\nmetadata: { name: APP }\nspec: {}\ndata: {}\n`,
  },
];

test('YAML kinds: secrets, config maps, volume mounts, templates and RBAC objects, multipart and raw', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'yaml-fog', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      201,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/secrets', { token: admin, body: { name: 'yaml-secret', type: 'Opaque', data: { a: 'b' } } })).status,
      201,
    );
    assert.equal(
      (await t.call('POST', '/api/v3/configmaps', { token: admin, body: { name: 'yaml-config', data: { a: 'b' } } })).status,
      201,
    );
    await runCases(t, admin, RESOURCE_CASES);
  } finally {
    await t.close();
  }
});
