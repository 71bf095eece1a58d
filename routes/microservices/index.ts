import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { HonoEnv } from '../../src/http/types';
import { mapMicroservice, microserviceYamlPath, parseKind, withYamlPaths } from '../../src/services/yaml/kinds';
import { readYamlUpload, yamlUploadBody } from '../../src/http/yaml';
import { renderBodyTemplates } from '../../src/services/templating/liquid';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk, optionalJson } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import { PAGING_NOTE, pagingQuery, streamJsonList } from '../../src/http/stream';
import { microservicePages } from '../../src/services/microservices/list';
import {
  MicroserviceCreate,
  MicroserviceCreated,
  MicroserviceList,
  MicroserviceResponse,
  MicroserviceUpdate,
  PortList,
  VolumeList,
} from '../../src/services/microservices/schemas';
import { microserviceCommonRoutes, presentOne, registerMicroserviceCommon, UuidParam } from './shared';
import { createMicroservice, deleteMicroservice, setStopped, updateMicroservice } from '../../src/services/microservices/crud';

const tag = ['Microservices'];
const Uuid = UuidParam;
const nf = { 404: errorResponse('No such microservice', 404) };
const done = (d: string) => ({ 204: { description: d }, ...nf });
const user = { system: false };

export const listMsRoute = defineRoute(rbac('microservices', 'list'), {
  method: 'get',
  path: '/api/v3/microservices',
  tags: tag,
  summary: 'List microservices',
  description: `In application name, then microservice name order. ${PAGING_NOTE}`,
  request: {
    query: z.object({
      application: z.string().min(1).max(63).optional(),
      ...pagingQuery('Microservices', 'application name, then microservice name order'),
    }),
  },
  responses: { 200: jsonOk('Microservices', MicroserviceList) },
});
export const createMsRoute = defineRoute(liquidBody(rbac('microservices', 'create')), {
  method: 'post',
  path: '/api/v3/microservices',
  tags: tag,
  summary: 'Create a microservice',
  description:
    "Place it with `iofogUuid` or `agentName`; `images` needs one for the fog's architecture. External ports 54321, 54322 and 53 are reserved.",
  request: { body: jsonBody(MicroserviceCreate.extend({ application: z.string().min(1).max(63) })) },
  responses: {
    201: jsonOk('Created', MicroserviceCreated),
    404: errorResponse('No such application', 404),
    409: errorResponse('Name in use in the application', 409),
  },
});
export const getMsRoute = defineRoute(rbac('microservices', 'get', 'uuid'), {
  method: 'get',
  path: '/api/v3/microservices/{uuid}',
  tags: tag,
  summary: 'Get a microservice with its status',
  request: { params: Uuid },
  responses: { 200: jsonOk('Microservice', MicroserviceResponse), ...nf },
});
export const patchMsRoute = defineRoute(liquidBody(rbac('microservices', 'patch', 'uuid')), {
  method: 'patch',
  path: '/api/v3/microservices/{uuid}',
  tags: tag,
  summary: 'Update a microservice',
  description:
    'Changing the image, ports, env, volumes, … makes the agent re-create the container (`rebuild`); a config-only change is signalled in place. `iofogUuid`/`agentName` moves it.',
  request: { params: Uuid, body: jsonBody(MicroserviceUpdate) },
  responses: done('Updated'),
});
export const deleteMsRoute = defineRoute(rbac('microservices', 'delete', 'uuid'), {
  method: 'delete',
  path: '/api/v3/microservices/{uuid}',
  tags: tag,
  summary: 'Delete a microservice',
  description: 'Optional JSON body `{ "withCleanup": true }` also removes the image and volumes on the agent.',
  request: { params: Uuid },
  responses: { ...done('Deleted'), 403: errorResponse('The controller system microservice', 403) },
});
const action = (path: string, summary: string) =>
  defineRoute(rbac('microservices', 'patch', 'uuid'), {
    method: 'patch',
    path,
    tags: tag,
    summary,
    request: { params: Uuid },
    responses: done('Done'),
  });
export const startRoute = action('/api/v3/microservices/{uuid}/start', 'Start a stopped microservice');
export const stopRoute = action('/api/v3/microservices/{uuid}/stop', 'Stop a microservice');
export const listPortsRoute = defineRoute(rbac('microservices', 'get', 'uuid'), {
  method: 'get',
  path: '/api/v3/microservices/{uuid}/port-mapping',
  tags: tag,
  summary: 'List port mappings',
  request: { params: Uuid },
  responses: { 200: jsonOk('Ports', PortList), ...nf },
});
export const listVolumesRoute = defineRoute(rbac('microservices', 'get', 'uuid'), {
  method: 'get',
  path: '/api/v3/microservices/{uuid}/volume-mapping',
  tags: tag,
  summary: 'List volume mappings',
  request: { params: Uuid },
  responses: { 200: jsonOk('Volume mappings', VolumeList), ...nf },
});

const yamlBody = yamlUploadBody('microservice');

export const msCommonRoutes = microserviceCommonRoutes({ base: '/api/v3/microservices', resource: 'microservices', tag });

export const createMsYamlRoute = defineRoute(liquidBody(rbac('microservices', 'create')), {
  method: 'post',
  path: '/api/v3/microservices/yaml',
  tags: tag,
  summary: 'Create a microservice from YAML',
  description:
    'kind: Microservice; `metadata.name` is `app/ms` or `ms` with `spec.application`. multipart field `microservice` or a raw YAML body.',
  request: { body: yamlBody },
  responses: {
    201: jsonOk('Created', MicroserviceCreated),
    404: errorResponse('No such application', 404),
    409: errorResponse('Name in use', 409),
  },
});
export const patchMsYamlRoute = defineRoute(liquidBody(rbac('microservices', 'patch', 'uuid')), {
  method: 'patch',
  path: '/api/v3/microservices/yaml/{uuid}',
  tags: tag,
  summary: 'Update a microservice from YAML',
  request: { params: Uuid, body: yamlBody },
  responses: done('Updated'),
});

/** Reads the upload: multipart field `microservice` (upstream) or a raw YAML body. */
export async function microserviceYaml(c: Context<HonoEnv>) {
  const text = await readYamlUpload(c, 'microservice');
  const { name, spec } = parseKind(text, 'Microservice');
  const [appName, msName] = name.includes('/') ? name.split('/', 2) : [spec.application as string | undefined, name];
  const mapped = { ...mapMicroservice(spec, 'spec'), name: msName, ...(appName ? { application: appName } : {}) };
  // Liquid templates in the document render on the mapped microservice (upstream's `self`).
  const parsed = MicroserviceCreate.safeParse(await renderBodyTemplates(c.get('ctx'), mapped, { pathOf: microserviceYamlPath }));
  if (!parsed.success) {
    throw new ServiceError(
      'VALIDATION_FAILED',
      parsed.error.issues
        .slice(0, 5)
        .map((i) => `${microserviceYamlPath(i.path as (string | number)[])}: ${i.message}`)
        .join('; '),
    );
  }
  return parsed.data;
}

export function registerMicroservices(app: App): void {
  registerMicroserviceCommon(app, msCommonRoutes, false);
  app.openapi(createMsYamlRoute, async (c) => {
    const input = await microserviceYaml(c);
    const application = input.application;
    if (!application)
      throw new ServiceError('VALIDATION_FAILED', 'metadata.name: use "application/microservice" (or set spec.application)');
    return c.json(await withYamlPaths(() => createMicroservice(c.get('ctx'), { ...input, application }), microserviceYamlPath), 201);
  });
  app.openapi(patchMsYamlRoute, async (c) => {
    const { application: _app, ...input } = await microserviceYaml(c);
    await withYamlPaths(() => updateMicroservice(c.get('ctx'), c.req.valid('param').uuid, input, user), microserviceYamlPath);
    return c.body(null, 204);
  });
  app.openapi(listMsRoute, async (c) => {
    const { application, ...window } = c.req.valid('query');
    return streamJsonList(
      c,
      'microservices',
      microservicePages(c.get('ctx'), { system: false, applicationName: application }, window),
    ) as never;
  });
  app.openapi(createMsRoute, async (c) => c.json(await createMicroservice(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(getMsRoute, async (c) => c.json(await presentOne(c.get('ctx'), c.req.valid('param').uuid, false), 200));
  app.openapi(patchMsRoute, async (c) => {
    await updateMicroservice(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), user);
    return c.body(null, 204);
  });
  app.openapi(deleteMsRoute, async (c) => {
    const body = await optionalJson(c.req);
    if (body.withCleanup !== undefined && typeof body.withCleanup !== 'boolean')
      throw new ServiceError('VALIDATION_FAILED', 'withCleanup: must be a boolean');
    await deleteMicroservice(c.get('ctx'), c.req.valid('param').uuid, { system: false, withCleanup: body.withCleanup === true });
    return c.body(null, 204);
  });
  app.openapi(startRoute, async (c) => {
    await setStopped(c.get('ctx'), c.req.valid('param').uuid, false);
    return c.body(null, 204);
  });
  app.openapi(stopRoute, async (c) => {
    await setStopped(c.get('ctx'), c.req.valid('param').uuid, true);
    return c.body(null, 204);
  });
  app.openapi(listPortsRoute, async (c) =>
    c.json({ ports: (await presentOne(c.get('ctx'), c.req.valid('param').uuid, false)).ports }, 200),
  );
  app.openapi(listVolumesRoute, async (c) =>
    c.json({ volumeMappings: (await presentOne(c.get('ctx'), c.req.valid('param').uuid, false)).volumeMappings }, 200),
  );
}
