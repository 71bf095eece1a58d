import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makeTestApp } from '../harness/app';
import { swaggerProblems, type SwaggerSchema } from '../harness/swagger-subset';

/**
 * Real responses validated against upstream's own response schemas (Datasance/Controller docs/swagger.yaml,
 * checked into tests/fixtures/upstream-swagger/). Every mismatch must be an intentional difference listed,
 * with its reason, in tests/fixtures/upstream-swagger/differences.json — and every listed difference must
 * still occur, so the list stays the truth.
 */

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/upstream-swagger/${name}`, import.meta.url), 'utf8'));
const { schemas } = fixture('schemas.json') as { schemas: Record<string, SwaggerSchema> };
const differences = fixture('differences.json') as { differences: Array<{ path: string; field: string; reason: string }> };
const ref = (name: string): SwaggerSchema => ({ $ref: `#/components/schemas/${name}` });

test('representative responses match upstream swagger.yaml, except the differences listed in differences.json', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const image = [{ containerImage: 'ghcr.io/acme/reader:1', archId: 1 }];
    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'edge', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    await t.call('POST', '/api/v3/application', {
      token: admin,
      body: {
        name: 'line',
        microservices: [
          {
            name: 'reader',
            agentName: 'edge',
            images: image,
            ports: [{ internal: 80, external: 8080 }],
            volumeMappings: [{ hostDestination: '/d', containerDestination: '/d', accessMode: 'rw' }],
            env: [{ key: 'A', value: 'b' }],
          },
        ],
      },
    });
    const item = await t.call('POST', '/api/v3/catalog/microservices', {
      token: admin,
      body: { name: 'sensor', registryId: 1, images: image },
    });
    await t.call('POST', '/api/v3/applicationTemplate', {
      token: admin,
      body: { name: 'kit', application: { microservices: [{ name: 's', images: image }] } },
    });
    const get = async (path: string) => {
      const r = await t.call('GET', path, { token: admin });
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const app = await get('/api/v3/application/line');
    const msUuid = app.microservices[0].uuid;

    // [route of the object, upstream schema, body, list key when the body is a list of those objects]
    const cases: Array<{ route: string; schema: string; body: unknown; listKey?: string }> = [
      { route: '/api/v3/iofog/{uuid}', schema: 'IOFogNodeInfoResponse', body: await get(`/api/v3/iofog/${fog.body.uuid}`) },
      { route: '/api/v3/iofog/{uuid}', schema: 'IOFogNodesListResponse', body: await get('/api/v3/iofog-list'), listKey: 'fogs' },
      { route: '/api/v3/microservices/{uuid}', schema: 'MicroserviceInfoResponse', body: await get(`/api/v3/microservices/${msUuid}`) },
      {
        route: '/api/v3/microservices/{uuid}',
        schema: 'GetMicroservicesResponse',
        body: await get('/api/v3/microservices'),
        listKey: 'microservices',
      },
      { route: '/api/v3/application/{name}', schema: 'ApplicationGetResponse', body: app },
      {
        route: '/api/v3/application/{name}',
        schema: 'ApplicationListResponse',
        body: await get('/api/v3/application'),
        listKey: 'applications',
      },
      {
        route: '/api/v3/catalog/microservices/{id}',
        schema: 'CatalogItemInfoResponse',
        body: await get(`/api/v3/catalog/microservices/${item.body.id}`),
      },
      {
        route: '/api/v3/catalog/microservices/{id}',
        schema: 'MicroservicesCatalogResponse',
        body: await get('/api/v3/catalog/microservices'),
        listKey: 'catalogItems',
      },
      { route: '/api/v3/registries/{id}', schema: 'RegistriesListResponse', body: await get('/api/v3/registries'), listKey: 'registries' },
      {
        route: '/api/v3/applicationTemplate/{name}',
        schema: 'ApplicationTemplateGetResponse',
        body: await get('/api/v3/applicationTemplate/kit'),
      },
    ];

    const found = new Set<string>();
    const unexplained: string[] = [];
    for (const c of cases) {
      for (const p of swaggerProblems(schemas, ref(c.schema), c.body)) {
        // A list's items are the objects of the single-object route: one entry covers both.
        const prefix = c.listKey ? `${c.listKey}[].` : '';
        const field = prefix && p.field.startsWith(prefix) ? p.field.slice(prefix.length) : p.field;
        const key = `${c.route} ${field}`;
        if (differences.differences.some((d) => `${d.path} ${d.field}` === key)) found.add(key);
        else unexplained.push(`${c.route} (${c.schema}) ${field}: ${p.message}`);
      }
    }
    assert.deepEqual(unexplained, [], 'differences from upstream swagger.yaml that differences.json does not list');
    const stale = differences.differences.filter((d) => !found.has(`${d.path} ${d.field}`)).map((d) => `${d.path} ${d.field}`);
    assert.deepEqual(stale, [], 'differences.json lists differences that no longer occur');
  } finally {
    await t.close();
  }
});
