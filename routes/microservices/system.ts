import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { MicroserviceList, MicroserviceResponse, MicroserviceUpdate } from '../../src/services/microservices/schemas';
import { microserviceYaml } from './index';
import { yamlUploadBody } from '../../src/http/yaml';
import { microserviceYamlPath, withYamlPaths } from '../../src/services/yaml/kinds';
import { updateMicroservice } from '../../src/services/microservices/crud';
import { PAGING_NOTE, pagingQuery, streamJsonList } from '../../src/http/stream';
import { microservicePages } from '../../src/services/microservices/list';
import { microserviceCommonRoutes, presentOne, registerMicroserviceCommon, UuidParam } from './shared';

/** System microservices (router, NATS, node controller, debugger) of the `system-{fog}` applications. */
const tag = ['System microservices'];
const Uuid = UuidParam;
const nf = { 404: errorResponse('No such system microservice', 404) };
const done = (d: string) => ({ 204: { description: d }, ...nf });
const sys = { system: true };
const base = '/api/v3/microservices/system' as const;

export const listSysRoute = defineRoute(rbac('systemMicroservices', 'list'), {
  method: 'get',
  path: base,
  tags: tag,
  summary: 'List system microservices',
  description: `In application name, then microservice name order. ${PAGING_NOTE}`,
  request: {
    query: z.object({
      application: z.string().min(1).max(63).optional(),
      ...pagingQuery('Microservices', 'application name, then microservice name order'),
    }),
  },
  responses: { 200: jsonOk('Microservices', MicroserviceList) },
});
export const getSysRoute = defineRoute(rbac('systemMicroservices', 'get', 'uuid'), {
  method: 'get',
  path: `${base}/{uuid}`,
  tags: tag,
  summary: 'Get a system microservice',
  request: { params: Uuid },
  responses: { 200: jsonOk('Microservice', MicroserviceResponse), ...nf },
});
export const patchSysRoute = defineRoute(liquidBody(rbac('systemMicroservices', 'patch', 'uuid')), {
  method: 'patch',
  path: `${base}/{uuid}`,
  tags: tag,
  summary: 'Update a system microservice',
  description: 'For the node controller, `schedule` is forced to 0.',
  request: { params: Uuid, body: jsonBody(MicroserviceUpdate) },
  responses: done('Updated'),
});
export const patchSysYamlRoute = defineRoute(liquidBody(rbac('systemMicroservices', 'patch', 'uuid')), {
  method: 'patch',
  path: `${base}/yaml/{uuid}`,
  tags: tag,
  summary: 'Update a system microservice from YAML',
  request: {
    params: Uuid,
    body: yamlUploadBody('microservice'),
  },
  responses: done('Updated'),
});

export const sysCommonRoutes = microserviceCommonRoutes({ base, resource: 'systemMicroservices', tag });

export function registerSystemMicroservices(app: App): void {
  app.openapi(patchSysYamlRoute, async (c) => {
    const { application: _app, ...input } = await microserviceYaml(c);
    await withYamlPaths(() => updateMicroservice(c.get('ctx'), c.req.valid('param').uuid, input, sys), microserviceYamlPath);
    return c.body(null, 204);
  });
  app.openapi(listSysRoute, async (c) => {
    const { application, ...window } = c.req.valid('query');
    return streamJsonList(
      c,
      'microservices',
      microservicePages(c.get('ctx'), { system: true, applicationName: application }, window),
    ) as never;
  });
  app.openapi(getSysRoute, async (c) => c.json(await presentOne(c.get('ctx'), c.req.valid('param').uuid, true), 200));
  app.openapi(patchSysRoute, async (c) => {
    await updateMicroservice(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), sys);
    return c.body(null, 204);
  });
  registerMicroserviceCommon(app, sysCommonRoutes, true);
}
