import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';

const KIT = {
  name: 'sensor-kit',
  description: 'Single-sensor kit',
  variables: [
    { key: 'target-agent', description: 'Agent to run on', defaultValue: 'edge-1' },
    { key: 'tag' },
    { key: 'memory', type: 'number', defaultValue: 256 },
    { key: 'privileged', type: 'boolean', defaultValue: false },
  ],
  application: {
    microservices: [
      {
        name: 'sensor',
        agentName: '{{target-agent}}',
        images: [{ containerImage: 'ghcr.io/acme/sensor:{{tag}}', archId: 1 }],
        memoryLimit: '{{memory}}',
        isPrivileged: '{{ privileged }}',
        env: [{ key: 'LABEL', value: 'sensor on {{target-agent}} ({{tag}})' }],
      },
    ],
  },
};

test('application templates: CRUD, validation with paths, YAML, RBAC', async () => {
  const t = await makeTestApp();
  try {
    const developer = await t.userToken('developer');
    const viewer = await t.userToken('viewer');
    assert.equal((await t.call('POST', '/api/v3/applicationTemplate', { token: viewer, body: KIT })).status, 403);
    const created = await t.call('POST', '/api/v3/applicationTemplate', { token: developer, body: KIT });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, 'sensor-kit');
    assert.equal((await t.call('POST', '/api/v3/applicationTemplate', { token: developer, body: KIT })).status, 409);
    const got = await t.call('GET', '/api/v3/applicationTemplate/sensor-kit', { token: viewer });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.variables, KIT.variables);
    assert.equal(got.body.application.microservices[0].agentName, '{{target-agent}}');
    assert.deepEqual(
      (await t.call('GET', '/api/v3/applicationTemplates', { token: viewer })).body.applicationTemplates.map((x: any) => x.name),
      ['sensor-kit'],
    );
    assert.equal((await t.call('GET', '/api/v3/applicationTemplate/nope', { token: viewer })).status, 404);

    for (const [body, pattern] of [
      [{ ...KIT, name: 'Bad Name' }, /^name: /],
      [{ ...KIT, name: 'k2', variables: [{ key: 'x' }, { key: 'x' }] }, /^variables\[1\]\.key: x is declared twice/],
      [
        { ...KIT, name: 'k2', variables: [{ key: 'n', type: 'number', defaultValue: 'ten' }] },
        /^variables\[0\]\.defaultValue: must be a number/,
      ],
      [{ ...KIT, name: 'k2', variables: [{ key: 'x', type: 'date' }] }, /^variables\.0\.type: /],
      [{ name: 'k2', application: { microservices: 'x' } }, /^application\.microservices: /],
      [{ name: 'k2' }, /^application is required$/],
    ] as const) {
      const r = await t.call('POST', '/api/v3/applicationTemplate', { token: developer, body });
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 120));
      assert.match(r.body.message, pattern, r.body.message);
    }

    // Placeholders need not be declared (v3.8 accepts the template and checks at deploy).
    const undeclared = await t.call('POST', '/api/v3/applicationTemplate', {
      token: developer,
      body: { ...KIT, name: 'k2', variables: [] },
    });
    assert.equal(undeclared.status, 201, JSON.stringify(undeclared.body));
    assert.equal((await t.call('DELETE', '/api/v3/applicationTemplate/k2', { token: developer })).status, 204);

    // PATCH renames / re-describes; PUT replaces or creates; DELETE.
    assert.equal(
      (await t.call('PATCH', '/api/v3/applicationTemplate/sensor-kit', { token: developer, body: { description: 'v2' } })).status,
      204,
    );
    assert.equal((await t.call('GET', '/api/v3/applicationTemplate/sensor-kit', { token: viewer })).body.description, 'v2');
    assert.equal((await t.call('PATCH', '/api/v3/applicationTemplate/sensor-kit', { token: developer, body: {} })).status, 400);
    assert.equal((await t.call('PATCH', '/api/v3/applicationTemplate/nope', { token: developer, body: { description: 'x' } })).status, 404);
    const put = await t.call('PUT', '/api/v3/applicationTemplate/other-kit', { token: developer, body: { ...KIT, name: 'other-kit' } });
    assert.equal(put.status, 200);
    assert.equal(
      (await t.call('PATCH', '/api/v3/applicationTemplate/other-kit', { token: developer, body: { name: 'sensor-kit' } })).status,
      409,
    );
    assert.equal(
      (
        await t.call('PUT', '/api/v3/applicationTemplate/other-kit', {
          token: developer,
          body: { ...KIT, description: 'replaced', name: 'other-kit' },
        })
      ).body.id,
      put.body.id,
      'PUT replaces in place',
    );
    assert.equal(
      (await t.call('PUT', '/api/v3/applicationTemplate/other-kit', { token: developer, body: KIT })).status,
      400,
      'body name must match the path',
    );

    // YAML (kind ApplicationTemplate, microservices in the YAML layout), field `template` or `application`.
    const doc = (
      name: string,
      variables = '    - { key: target-agent, description: Agent to run on, defaultValue: edge-1 }',
    ) => `apiVersion: iofog.org/v3
kind: ApplicationTemplate
metadata: { name: ${name} }
spec:
  description: Single-sensor kit
  variables:
${variables}
  application:
    microservices:
      - name: sensor
        agent: { name: "{{target-agent}}" }
        images: { amd64: ghcr.io/acme/sensor:0.9 }
`;
    assert.equal((await t.upload('POST', '/api/v3/applicationTemplate/yaml', 'template', doc('yaml-kit'), developer)).status, 201);
    assert.equal((await t.upload('POST', '/api/v3/applicationTemplate/yaml', 'application', doc('yaml-kit-2'), developer)).status, 201);
    const stored = (await t.call('GET', '/api/v3/applicationTemplate/yaml-kit', { token: viewer })).body;
    assert.deepEqual(stored.application.microservices[0].images, [{ containerImage: 'ghcr.io/acme/sensor:0.9', archId: 1 }]);
    const badVar = await t.upload(
      'POST',
      '/api/v3/applicationTemplate/yaml',
      'template',
      doc('yaml-bad', '    - { description: no key }'),
      developer,
    );
    assert.equal(badVar.status, 400);
    assert.match(badVar.body.message, /^spec\.variables\[0\]\.key: /);
    assert.equal((await t.upload('PUT', '/api/v3/applicationTemplate/yaml/yaml-kit', 'template', doc('yaml-kit'), developer)).status, 200);
    assert.equal((await t.upload('PUT', '/api/v3/applicationTemplate/yaml/yaml-kit', 'template', doc('other'), developer)).status, 400);

    assert.equal((await t.call('DELETE', '/api/v3/applicationTemplate/yaml-kit', { token: viewer })).status, 403);
    assert.equal((await t.call('DELETE', '/api/v3/applicationTemplate/yaml-kit', { token: developer })).status, 204);
    assert.equal((await t.call('DELETE', '/api/v3/applicationTemplate/yaml-kit', { token: developer })).status, 404);
  } finally {
    await t.close();
  }
});

test('template deploy: defaults, required, types, unknown variables; JSON, PUT and YAML', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge-1', archId: 1, routerMode: 'none', natsMode: 'none' } });
    await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'edge-2', archId: 1, routerMode: 'none', natsMode: 'none' } });
    assert.equal((await t.call('POST', '/api/v3/applicationTemplate', { token: admin, body: KIT })).status, 201);
    const deploy = (name: string, variables: unknown, extra: Record<string, unknown> = {}) =>
      t.call('POST', '/api/v3/application', { token: admin, body: { name, template: { name: 'sensor-kit', variables }, ...extra } });

    for (const [variables, pattern] of [
      [[], /^template\.variables\.tag: required/],
      [
        [
          { key: 'tag', value: '1.0' },
          { key: 'colour', value: 'red' },
        ],
        /^template\.variables\[1\]\.key: colour is not a variable of template sensor-kit/,
      ],
      [
        [
          { key: 'tag', value: '1.0' },
          { key: 'memory', value: 'lots' },
        ],
        /^template\.variables\.memory: must be a number/,
      ],
      [
        [
          { key: 'tag', value: '1.0' },
          { key: 'privileged', value: 'maybe' },
        ],
        /^template\.variables\.privileged: must be a boolean/,
      ],
      [
        [
          { key: 'tag', value: '1.0' },
          { key: 'target-agent', value: 'nowhere' },
        ],
        /agentName|nowhere/,
      ],
    ] as const) {
      const r = await deploy('bad', variables);
      assert.equal(r.status, 400, JSON.stringify(variables));
      assert.match(r.body.message, pattern, r.body.message);
    }
    assert.equal(
      (await t.call('POST', '/api/v3/application', { token: admin, body: { name: 'x', template: { name: 'no-such-kit' } } })).status,
      400,
    );
    assert.equal((await deploy('x', [{ key: 'tag', value: '1' }], { microservices: [] })).status, 400, 'either microservices or template');

    const ok = await deploy('line-a', [
      { key: 'tag', value: '1.4.0' },
      { key: 'memory', value: '512' },
    ]);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const app = (await t.call('GET', '/api/v3/application/line-a', { token: admin })).body;
    const ms = app.microservices[0];
    assert.equal(ms.agentName, 'edge-1', 'default value');
    assert.deepEqual(ms.images, [{ containerImage: 'ghcr.io/acme/sensor:1.4.0', archId: 1 }]);
    assert.equal(ms.memoryLimit, 512, 'a whole-string placeholder takes the typed value');
    assert.equal(ms.isPrivileged, false);
    assert.deepEqual(ms.env, [{ key: 'LABEL', value: 'sensor on edge-1 (1.4.0)' }]);

    // PUT /application/:name with a template re-deploys with new values.
    const put = await t.call('PUT', '/api/v3/application/line-a', {
      token: admin,
      body: {
        name: 'line-a',
        template: {
          name: 'sensor-kit',
          variables: [
            { key: 'tag', value: '1.5.0' },
            { key: 'target-agent', value: 'edge-2' },
          ],
        },
      },
    });
    assert.equal(put.status, 204, JSON.stringify(put.body));
    const after = (await t.call('GET', '/api/v3/application/line-a', { token: admin })).body.microservices[0];
    assert.equal(after.agentName, 'edge-2');
    assert.equal(after.images[0].containerImage, 'ghcr.io/acme/sensor:1.5.0');

    // A template using placeholders it does not declare: deploying without a value is a 400 naming the
    // placeholder and where it is; with one, it is substituted as given; declared variables keep their types.
    const loose = { ...KIT, name: 'loose-kit', variables: [{ key: 'memory', type: 'number', defaultValue: 256 }] };
    assert.equal((await t.call('POST', '/api/v3/applicationTemplate', { token: admin, body: loose })).status, 201);
    const deployLoose = (name: string, variables: unknown) =>
      t.call('POST', '/api/v3/application', { token: admin, body: { name, template: { name: 'loose-kit', variables } } });
    const missing = await deployLoose('loose-a', [{ key: 'tag', value: '3.0' }]);
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /^application\.microservices\[0\]\.agentName: \{\{target-agent\}\} is not resolved/);
    const badType = await deployLoose('loose-a', [
      { key: 'tag', value: '3.0' },
      { key: 'target-agent', value: 'edge-1' },
      { key: 'memory', value: 'lots' },
    ]);
    assert.equal(badType.status, 400);
    assert.match(badType.body.message, /^template\.variables\.memory: must be a number/);
    const loosed = await deployLoose('loose-a', [
      { key: 'tag', value: '3.0' },
      { key: 'target-agent', value: 'edge-2' },
      { key: 'privileged', value: true },
    ]);
    assert.equal(loosed.status, 201, JSON.stringify(loosed.body));
    const looseMs = (await t.call('GET', '/api/v3/application/loose-a', { token: admin })).body.microservices[0];
    assert.equal(looseMs.agentName, 'edge-2');
    assert.equal(looseMs.images[0].containerImage, 'ghcr.io/acme/sensor:3.0');
    assert.equal(looseMs.isPrivileged, true);

    // Application YAML with spec.template.
    const y = await t.upload(
      'POST',
      '/api/v3/application/yaml',
      'application',
      `apiVersion: iofog.org/v3
kind: Application
metadata: { name: line-b }
spec:
  template:
    name: sensor-kit
    variables:
      - { key: tag, value: "2.0" }
      - { key: memory, value: 128 }
`,
      admin,
    );
    assert.equal(y.status, 201, JSON.stringify(y.body));
    const b = (await t.call('GET', '/api/v3/application/line-b', { token: admin })).body;
    assert.equal(b.isActivated, true, 'YAML applications start activated');
    assert.equal(b.microservices[0].memoryLimit, 128);
    assert.equal(b.microservices[0].images[0].containerImage, 'ghcr.io/acme/sensor:2.0');
  } finally {
    await t.close();
  }
});
