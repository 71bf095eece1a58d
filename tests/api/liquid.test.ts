import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHANGED_PASSWORD, makeTestApp, type TestApp } from '../harness/app';
import { RENDER_LIMITS, renderBodyTemplates } from '../../src/services/templating/liquid';

/** Two agents and an application with one microservice on edge-b. */
async function fleet(t: TestApp, admin: string) {
  const fogs: Record<string, string> = {};
  for (const name of ['edge-a', 'edge-b']) {
    const r = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name, archId: 1, routerMode: 'none', natsMode: 'none', location: `site of ${name}` },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    fogs[name] = r.body.uuid;
  }
  const app = await t.call('POST', '/api/v3/application', {
    token: admin,
    body: {
      name: 'base-app',
      microservices: [{ name: 'reader', iofogUuid: fogs['edge-b'], images: [{ containerImage: 'nginx:1', archId: 1 }] }],
    },
  });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  return fogs;
}

const description = async (t: TestApp, token: string, name: string) =>
  (await t.call('GET', `/api/v3/application/${name}`, { token })).body.description;

test('filters: findAgent, findApplication, findMicroserviceAgent, toNumber, toBoolean, toString', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const developer = await t.userToken('developer');
    const fogs = await fleet(t, admin);

    const cases: Array<[string, string]> = [
      // potctl's idiom: every agent, then the first (agents list by name).
      ['{% assign agent = "" | findAgent | first %}{{ agent.name }}', 'edge-a'],
      ['{{ "" | findAgent | size }} agents', '2 agents'],
      // One agent by name, with the fields of GET /iofog/{uuid}.
      ['{% assign a = "edge-b" | findAgent %}{{ a.uuid }}|{{ a.location }}|{{ a.arch.name }}', `${fogs['edge-b']}|site of edge-b|amd64`],
      // The application as GET /application/{name} shows it, microservices included.
      [
        '{% assign app = "base-app" | findApplication %}{{ app.name }}:{{ app.microservices | size }}:{{ app.microservices[0].name }}',
        'base-app:1:reader',
      ],
      ['{% assign app = "no-such-app" | findApplication %}{% if app %}found{% else %}none{% endif %}', 'none'],
      [
        '{% assign app = "base-app" | findApplication %}{% assign a = app.microservices[0] | findMicroserviceAgent %}{{ a.name }}',
        'edge-b',
      ],
      ['{{ self.name }} on {{ "edge-a" | findAgent | map: "name" }}', 'uses-filters on edge-a'],
    ];
    for (const [template, expected] of cases) {
      await t.call('DELETE', '/api/v3/application/uses-filters', { token: developer });
      const r = await t.call('POST', '/api/v3/application', { token: developer, body: { name: 'uses-filters', description: template } });
      assert.equal(r.status, 201, `${template}: ${JSON.stringify(r.body)}`);
      assert.equal(await description(t, developer, 'uses-filters'), expected, template);
    }

    // toNumber / toBoolean turn text into the typed value the schema wants; toString the reverse. Without
    // them the same templates give the wrong type, which validation refuses.
    const ok = await t.call('PATCH', `/api/v3/iofog/${fogs['edge-a']}`, {
      token: admin,
      body: { statusFrequency: '{{ "30" | toNumber }}', watchdogEnabled: '{{ "true" | toBoolean }}', description: '{{ 42 | toString }}' },
    });
    assert.equal(ok.status, 204, JSON.stringify(ok.body));
    const fog = (await t.call('GET', `/api/v3/iofog/${fogs['edge-a']}`, { token: admin })).body;
    assert.deepEqual([fog.statusFrequency, fog.watchdogEnabled, fog.description], [30, true, '42']);
    for (const body of [{ statusFrequency: '{{ "30" }}' }, { description: '{{ 42 }}' }]) {
      const r = await t.call('PATCH', `/api/v3/iofog/${fogs['edge-a']}`, { token: admin, body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    // Not JSON: unchanged, as upstream.
    assert.equal(
      (await t.call('PATCH', `/api/v3/iofog/${fogs['edge-a']}`, { token: admin, body: { description: '{{ "abc" | toNumber }}' } })).status,
      204,
    );
    assert.equal((await t.call('GET', `/api/v3/iofog/${fogs['edge-a']}`, { token: admin })).body.description, 'abc');

    // An unknown agent is an error naming the field; so is a misspelt filter.
    const missing = await t.call('POST', '/api/v3/application', {
      token: developer,
      body: { name: 'bad-ref', description: '{{ "edge-z" | findAgent }}' },
    });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /^description: findAgent: no agent named edge-z/);
    const typo = await t.call('POST', '/api/v3/application', {
      token: developer,
      body: { name: 'bad-ref', description: '{{ "" | findAgnet }}' },
    });
    assert.equal(typo.status, 400);
    assert.match(typo.body.message, /^description: Liquid template error: undefined filter: findAgnet/);
  } finally {
    await t.close();
  }
});

test('filters read only what the caller may read (RBAC of the matching GET route)', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    await fleet(t, admin);
    // A role that may create applications but not see agents.
    const role = { name: 'app-maker', rules: [{ apiGroups: [''], resources: ['applications'], verbs: ['create', 'get', 'delete'] }] };
    const roleMade = await t.call('POST', '/api/v3/roles', { token: admin, body: role });
    assert.equal(roleMade.status, 201, JSON.stringify(roleMade.body));
    await t.userToken('viewer', 'maker@example.com');
    const binding = {
      name: 'makers',
      roleRef: { kind: 'Role', name: 'app-maker' },
      subjects: [{ kind: 'User', name: 'maker@example.com' }],
    };
    const bound = await t.call('POST', '/api/v3/rolebindings', { token: admin, body: binding });
    assert.equal(bound.status, 201, JSON.stringify(bound.body));
    // The viewer group reads fogs: leave the user with the custom role only.
    const user = (await t.call('GET', '/api/v3/users', { token: admin })).body.find(
      (u: { email: string }) => u.email === 'maker@example.com',
    );
    assert.equal((await t.call('PATCH', `/api/v3/users/${user.id}`, { token: admin, body: { groups: [] } })).status, 200);
    const token = (await t.login('maker@example.com', CHANGED_PASSWORD)).accessToken;

    assert.equal(
      (
        await t.call('POST', '/api/v3/application', {
          token,
          body: { name: 'plain', description: '{% assign app = "base-app" | findApplication %}{{ app.name }}' },
        })
      ).status,
      201,
    );
    const denied = await t.call('POST', '/api/v3/application', {
      token,
      body: { name: 'peek', description: '{{ "" | findAgent | size }}' },
    });
    assert.equal(denied.status, 403, JSON.stringify(denied.body));
    assert.match(denied.body.message, /^description: findAgent: your roles .* do not grant fogs:list/);
  } finally {
    await t.close();
  }
});

const APP_YAML = `apiVersion: iofog.org/v3
kind: Application
metadata:
  name: yaml-app
spec:
  description: "{{ self.name }} on {% assign agent = '' | findAgent | last %}{{ agent.name }}"
  microservices:
    - name: reader
      agent: { name: "{% assign agent = '' | findAgent | first %}{{ agent.name }}" }
      images: { amd64: "nginx:{{ '1.27' }}" }
      container:
        env:
          - { key: APP, value: "{{ self.name }}" }
          - { key: PLAIN, value: "{ not: liquid } 100% }}" }
`;

test('YAML bodies: Application YAML, microservice YAML and template deploys render after parsing', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const fogs = await fleet(t, admin);

    const created = await t.upload('POST', '/api/v3/application/yaml', 'application', APP_YAML, admin);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const app = (await t.call('GET', '/api/v3/application/yaml-app', { token: admin })).body;
    assert.equal(app.description, 'yaml-app on edge-b');
    const reader = app.microservices[0];
    assert.equal(reader.iofogUuid, fogs['edge-a']);
    assert.equal(reader.images[0].containerImage, 'nginx:1.27');
    assert.deepEqual(reader.env, [
      { key: 'APP', value: 'yaml-app' },
      { key: 'PLAIN', value: '{ not: liquid } 100% }}' },
    ]);

    // A render error names the field by its place in the document.
    const bad = await t.upload(
      'PUT',
      '/api/v3/application/yaml/yaml-app',
      'application',
      APP_YAML.replace('value: "{{ self.name }}"', 'value: "{{ \'edge-q\' | findAgent }}"'),
      admin,
    );
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^spec\.microservices\[0\]\.container\.env\[0\]\.value: findAgent: no agent named edge-q/);

    // Microservice YAML (the upload routes of microservices render too).
    const msYaml = `apiVersion: iofog.org/v3
kind: Microservice
metadata: { name: base-app/writer }
spec:
  agent: { name: "{% assign a = 'edge-a' | findAgent %}{{ a.name }}" }
  images: { amd64: "busybox:1" }
  container:
    env: [{ key: WHO, value: "{{ self.name }}@{{ self.application }}" }]
`;
    const ms = await t.upload('POST', '/api/v3/microservices/yaml', 'microservice', msYaml, admin);
    assert.equal(ms.status, 201, JSON.stringify(ms.body));
    const writer = (await t.call('GET', `/api/v3/microservices/${ms.body.uuid}`, { token: admin })).body;
    assert.equal(writer.iofogUuid, fogs['edge-a']);
    assert.deepEqual(writer.env, [{ key: 'WHO', value: 'writer@base-app' }]);

    // Template deploy: variables and `self` in scope, filters available, typed results.
    const template = {
      name: 'kit',
      variables: [
        { key: 'memory', type: 'number', defaultValue: 128 },
        { key: 'tag', defaultValue: '1' },
      ],
      application: {
        microservices: [
          {
            name: 'sensor',
            agentName: '{% assign agent = "" | findAgent | last %}{{ agent.name }}',
            images: [{ containerImage: 'acme/sensor:{{ tag }}', archId: 1 }],
            memoryLimit: '{{ memory }}',
            env: [{ key: 'OWNER', value: '{{ self.name }}' }],
          },
        ],
      },
    };
    assert.equal((await t.call('POST', '/api/v3/applicationTemplate', { token: admin, body: template })).status, 201);
    // ApplicationTemplate YAML: as upstream, the variables block renders at upload; the spec keeps its
    // Liquid for the deploy.
    const kitYaml = `apiVersion: iofog.org/v3
kind: ApplicationTemplate
metadata: { name: yaml-kit }
spec:
  variables:
    - { key: where, defaultValue: "{% assign a = '' | findAgent | first %}{{ a.name }}" }
  application:
    microservices:
      - name: probe
        agent: { name: "{{ where }}" }
        images: { amd64: "busybox:1" }
        container: { env: [{ key: APP, value: "{{ self.name }}" }] }
`;
    const kit = await t.upload('POST', '/api/v3/applicationTemplate/yaml', 'template', kitYaml, admin);
    assert.equal(kit.status, 201, JSON.stringify(kit.body));
    const stored = (await t.call('GET', '/api/v3/applicationTemplate/yaml-kit', { token: admin })).body;
    assert.equal(stored.variables[0].defaultValue, 'edge-a');
    assert.equal(stored.application.microservices[0].agentName, '{{ where }}');
    const badKit = await t.upload(
      'POST',
      '/api/v3/applicationTemplate/yaml',
      'template',
      kitYaml.replace('first %}', 'frist %}').replace('yaml-kit', 'bad-kit'),
      admin,
    );
    assert.equal(badKit.status, 400);
    assert.match(badKit.body.message, /^spec\.variables\[0\]\.defaultValue: Liquid template error: undefined filter: frist/);
    assert.equal(
      (await t.call('POST', '/api/v3/application', { token: admin, body: { name: 'from-yaml-kit', template: { name: 'yaml-kit' } } }))
        .status,
      201,
    );
    const probe = (await t.call('GET', '/api/v3/application/from-yaml-kit', { token: admin })).body.microservices[0];
    assert.equal(probe.iofogUuid, fogs['edge-a']);
    assert.deepEqual(probe.env, [{ key: 'APP', value: 'from-yaml-kit' }]);

    const deployed = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'from-kit',
        description: '{% raw %}{% if %}{{ literal }}{% endraw %}',
        template: { name: 'kit', variables: [{ key: 'memory', value: 256 }] },
      },
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    // The request's own fields render once, on the way in; the deploy renders the template's spec only.
    assert.equal((await t.call('GET', '/api/v3/application/from-kit', { token: admin })).body.description, '{% if %}{{ literal }}');
    const sensor = (await t.call('GET', '/api/v3/application/from-kit', { token: admin })).body.microservices[0];
    assert.equal(sensor.iofogUuid, fogs['edge-b']);
    assert.equal(sensor.images[0].containerImage, 'acme/sensor:1');
    assert.equal(sensor.memoryLimit, 256);
    assert.deepEqual(sensor.env, [{ key: 'OWNER', value: 'from-kit' }]);
  } finally {
    await t.close();
  }
});

test('a render error is a 400 naming the field path and the Liquid error', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const fogs = await fleet(t, admin);
    const r = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'broken',
        microservices: [
          { name: 'm', iofogUuid: fogs['edge-a'], images: [{ containerImage: 'x', archId: 1 }], env: [{ key: 'K', value: '{% if %}' }] },
        ],
      },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.name, 'ValidationError');
    assert.match(r.body.message, /^microservices\[0\]\.env\[0\]\.value: Liquid template error: invalid value expression/);
    assert.ok(r.body.requestId);
    assert.equal((await t.call('GET', '/api/v3/application/broken', { token: admin })).status, 404, 'nothing was created');
  } finally {
    await t.close();
  }
});

test('rendering is bounded: time per request, output size, and no file access', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    // 10^9 loop iterations that allocate nothing: only the time limits end this. The step count ends it
    // in a few ms of work (unless a starved machine lets the 1 s backstop go first) …
    const endless = '{% for a in self.xs %}{% for b in self.xs %}{% for c in self.xs %}{% endfor %}{% endfor %}{% endfor %}';
    const slow = await t.call('POST', '/api/v3/application', { token: admin, body: { name: 'slow', xs, description: endless } });
    assert.equal(slow.status, 400);
    assert.match(slow.body.message, /^description: Liquid template error: render (step|time) limit exceeded/);
    // … and the event-loop clock is the backstop (here with the step limit lifted).
    await assert.rejects(renderBodyTemplates(t.ctx, { xs, endless }, { limits: { ...RENDER_LIMITS, steps: Infinity, busyMs: 30 } }), {
      code: 'VALIDATION_FAILED',
      message: /^endless: Liquid template error: render time limit exceeded \(30 ms/,
    });

    // 100 copies of a 100 000-character string: 10 M characters, over the output limit, quickly.
    const big = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'big',
        big: 'y'.repeat(100_000),
        xs: xs.slice(0, 100),
        description: '{% for a in self.xs %}{{ self.big }}{% endfor %}',
      },
    });
    assert.equal(big.status, 400);
    assert.match(big.body.message, /^description: Liquid template error: output size limit exceeded/);

    // The budget is per request: many strings each under the limit add up.
    const many = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'many',
        big: 'y'.repeat(300_000),
        microservices: [],
        description: '{{ self.big }}',
        a: '{{ self.big }}',
        b: '{{ self.big }}',
        c: '{{ self.big }}',
      },
    });
    assert.equal(many.status, 400);
    assert.match(many.body.message, /^c: Liquid template error: output size limit exceeded/);

    const file = await t.call('POST', '/api/v3/application', {
      token: admin,
      body: { name: 'file', description: "{% render 'package.json' %}" },
    });
    assert.equal(file.status, 400);
    assert.match(file.body.message, /^description: Liquid template error: .*Failed to lookup/);
  } finally {
    await t.close();
  }
});

test('strings without markup are left byte-identical and never reach the engine', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const plain = ['{ not liquid }', '100% {x} }} %}', '  spaced\ttab  ', 'é \u2028 \ud83d\ude00', '{', '{ {', '{ %'];
    // Alone, and beside a field that does render.
    for (const [i, body] of [
      { name: 'plain-0' },
      { name: 'plain-1', natsConfig: { natsAccess: false, natsRule: '{{ "default-account" }}' } },
    ].entries()) {
      for (const s of plain) {
        await t.call('DELETE', `/api/v3/application/plain-${i}`, { token: admin });
        const r = await t.call('POST', '/api/v3/application', { token: admin, body: { ...body, description: s } });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(await description(t, admin, `plain-${i}`), s);
      }
    }
    // The module returns the very same object when nothing has markup (no copy, no render) …
    const body = { a: plain, b: { c: 'x', d: [1, true, null] } };
    assert.equal(await renderBodyTemplates(t.ctx, body), body);
    // … and, when something does, leaves the other strings as they were.
    const mixed = await renderBodyTemplates(t.ctx, { ...body, e: '{{ 1 | plus: 1 }}' });
    assert.deepEqual(mixed, { ...body, e: 2 });
    assert.notEqual(mixed, body);
  } finally {
    await t.close();
  }
});

test('the routes that render are the ones upstream renders; agent routes never do', async () => {
  const t = await makeTestApp();
  try {
    const doc = (await t.call('GET', '/api/v3/openapi.json')).body;
    const rendering: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) if (op?.['x-liquid-body']) rendering.push(`${method.toUpperCase()} ${path}`);
    }
    assert.deepEqual(
      rendering.sort(),
      [
        'PATCH /api/v3/application/{name}',
        'PATCH /api/v3/catalog/microservices/{id}',
        'PATCH /api/v3/iofog/{uuid}',
        'PATCH /api/v3/microservices/system/yaml/{uuid}',
        'PATCH /api/v3/microservices/system/{uuid}',
        'PATCH /api/v3/microservices/yaml/{uuid}',
        'PATCH /api/v3/microservices/{uuid}',
        'PATCH /api/v3/registries/{id}',
        'PATCH /api/v3/volumeMounts/{name}',
        'POST /api/v3/application',
        'POST /api/v3/application/yaml',
        'POST /api/v3/catalog/microservices',
        'POST /api/v3/iofog',
        'POST /api/v3/microservices',
        'POST /api/v3/microservices/yaml',
        'POST /api/v3/registries',
        'POST /api/v3/volumeMounts',
        'PUT /api/v3/application/yaml/{name}',
        'POST /api/v3/applicationTemplate/yaml',
        'PUT /api/v3/applicationTemplate/yaml/{name}',
        'PUT /api/v3/application/{name}',
        'PUT /api/v3/config',
        'PUT /api/v3/nats/hub',
        'PUT /api/v3/router',
      ].sort(),
    );
    // A route without the declaration takes templates literally (here: a secret value).
    const admin = (await t.login()).accessToken;
    const secret = await t.call('POST', '/api/v3/secrets', {
      token: admin,
      body: { name: 's1', type: 'Opaque', data: { k: '{{ 1 | plus: 1 }}' } },
    });
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
    assert.equal((await t.call('GET', '/api/v3/secrets/s1', { token: admin })).body.data.k, '{{ 1 | plus: 1 }}');
  } finally {
    await t.close();
  }
});
