import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import { safeName } from '../../src/http/names';
import type { App } from '../../src/http/types';
import { readYamlUpload, yamlUploadBody } from '../../src/http/yaml';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import { PAGING_NOTE, pagingQuery, streamJsonList } from '../../src/http/stream';
import { applicationPages } from '../../src/services/microservices/list';
import {
  ApplicationCreate,
  ApplicationCreated,
  ApplicationList,
  ApplicationPatch,
  ApplicationPut,
  ApplicationResponse,
} from '../../src/services/microservices/schemas';
import {
  createApplication,
  deleteApplication,
  getApplication,
  patchApplication,
  replaceApplication,
} from '../../src/services/microservices/applications';
import { formatPath, mapMicroservice, parseKind, withYamlPaths, yamlPath } from '../../src/services/yaml/kinds';
import { instantiate } from '../../src/services/templating/application-templates';
import type { AppCtx } from '../../src/context';
import { renderBodyTemplates } from '../../src/services/templating/liquid';

const tag = ['Applications'];
const NameParam = z.object({ name: safeName(63).openapi({ param: { name: 'name', in: 'path' } }) });
const nf = { 404: errorResponse('No such application', 404) };
const yamlBody = yamlUploadBody('application');

export const listAppsRoute = defineRoute(rbac('applications', 'list'), {
  method: 'get',
  path: '/api/v3/application',
  tags: tag,
  summary: 'List applications',
  description: `In name order, each with its microservices. ${PAGING_NOTE}`,
  request: { query: z.object(pagingQuery('Applications', 'name order')) },
  responses: { 200: jsonOk('Applications', ApplicationList) },
});
export const createAppRoute = defineRoute(liquidBody(rbac('applications', 'create')), {
  method: 'post',
  path: '/api/v3/application',
  tags: tag,
  summary: 'Create an application (optionally with microservices)',
  description: '`isActivated` defaults to false for JSON (true for YAML): activate to deliver the microservices to their agents.',
  request: { body: jsonBody(ApplicationCreate) },
  responses: { 201: jsonOk('Created', ApplicationCreated), 409: errorResponse('Name in use', 409) },
});
export const createAppYamlRoute = defineRoute(liquidBody(rbac('applications', 'create')), {
  method: 'post',
  path: '/api/v3/application/yaml',
  tags: tag,
  summary: 'Create an application from YAML',
  description: 'multipart/form-data with the file in field `application`, or the YAML document as the raw body (`application/yaml`).',
  request: { body: yamlBody },
  responses: { 201: jsonOk('Created', ApplicationCreated), 409: errorResponse('Name in use', 409) },
});
export const getAppRoute = defineRoute(rbac('applications', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/application/{name}',
  tags: tag,
  summary: 'Get an application',
  request: { params: NameParam },
  responses: { 200: jsonOk('Application', ApplicationResponse), ...nf },
});
export const patchAppRoute = defineRoute(liquidBody(rbac('applications', 'patch', 'name')), {
  method: 'patch',
  path: '/api/v3/application/{name}',
  tags: tag,
  summary: 'Update description, activation or NATS access',
  request: { params: NameParam, body: jsonBody(ApplicationPatch) },
  responses: { 204: { description: 'Updated' }, ...nf },
});
export const putAppRoute = defineRoute(liquidBody(rbac('applications', 'update', 'name')), {
  method: 'put',
  path: '/api/v3/application/{name}',
  tags: tag,
  summary: 'Replace an application',
  description: 'Microservices missing from the body are deleted. `name` may be left out; when given it must equal the path.',
  request: { params: NameParam, body: jsonBody(ApplicationPut) },
  responses: { 204: { description: 'Replaced' }, ...nf },
});
export const putAppYamlRoute = defineRoute(liquidBody(rbac('applications', 'update', 'name')), {
  method: 'put',
  path: '/api/v3/application/yaml/{name}',
  tags: tag,
  summary: 'Create or replace an application from YAML',
  request: { params: NameParam, body: yamlBody },
  responses: { 204: { description: 'Applied' } },
});
export const deleteAppRoute = defineRoute(rbac('applications', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/application/{name}',
  tags: tag,
  summary: 'Delete an application and its microservices',
  request: { params: NameParam },
  responses: { 204: { description: 'Deleted' }, ...nf },
});
export const listSystemAppsRoute = defineRoute(rbac('systemApplications', 'list'), {
  method: 'get',
  path: '/api/v3/application/system',
  tags: tag,
  summary: 'List system applications',
  description: `In name order, each with its microservices. ${PAGING_NOTE}`,
  request: { query: z.object(pagingQuery('Applications', 'name order')) },
  responses: { 200: jsonOk('Applications', ApplicationList) },
});
export const getSystemAppRoute = defineRoute(rbac('systemApplications', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/application/system/{name}',
  tags: tag,
  summary: 'Get a system application',
  request: { params: NameParam },
  responses: { 200: jsonOk('Application', ApplicationResponse), ...nf },
});
export const deleteSystemAppRoute = defineRoute(rbac('systemApplications', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/application/system/{name}',
  tags: tag,
  summary: 'Delete a system application',
  request: { params: NameParam },
  responses: { 204: { description: 'Deleted' }, ...nf },
});

type AppInput = Omit<z.infer<typeof ApplicationCreate>, 'name'> & { name?: string };

/**
 * `template: {name, variables}` → the template's microservices (and natsConfig, unless the request
 * has its own) with the variables substituted, validated like any application body. Messages of the
 * result name the template, since the user did not write those fields.
 */
async function expandTemplate<T extends AppInput>(ctx: AppCtx, input: T): Promise<T> {
  const { template, ...rest } = input;
  if (!template) return input;
  if (rest.microservices !== undefined)
    throw new ServiceError('VALIDATION_FAILED', 'microservices: give either microservices or template, not both');
  const spec = await instantiate(ctx, template, rest);
  const parsed = ApplicationPut.safeParse({ ...rest, natsConfig: rest.natsConfig ?? spec.natsConfig, microservices: spec.microservices });
  if (!parsed.success) {
    throw new ServiceError(
      'VALIDATION_FAILED',
      `template ${template.name}: ${parsed.error.issues
        .slice(0, 5)
        .map((i) => `${formatPath(i.path)}: ${i.message}`)
        .join('; ')}`,
    );
  }
  return parsed.data as T;
}

/** Service messages name JSON input paths; YAML users see the path in their document. */
const applicationYamlPath = (p: (string | number)[]) => (p[0] === 'name' ? 'metadata.name' : yamlPath(p));

async function applicationFromYaml(ctx: AppCtx, text: string) {
  const { name, spec } = parseKind(text, 'Application');
  const list = spec.microservices;
  if (list !== undefined && !Array.isArray(list)) throw new ServiceError('VALIDATION_FAILED', 'spec.microservices: must be a list');
  const input = {
    name,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    isActivated: spec.isActivated ?? true,
    ...(spec.natsConfig !== undefined ? { natsConfig: spec.natsConfig } : {}),
    ...(spec.template !== undefined ? { template: spec.template } : {}),
    microservices:
      list === undefined && spec.template !== undefined
        ? undefined
        : ((list as unknown[] | undefined) ?? []).map((m, i) => {
            if (typeof m !== 'object' || m === null)
              throw new ServiceError('VALIDATION_FAILED', `spec.microservices[${i}]: must be a mapping`);
            return mapMicroservice(m as Record<string, unknown>, `spec.microservices[${i}]`);
          }),
  };
  // Liquid templates in the document render on the mapped application (upstream's `self`).
  const parsed = ApplicationCreate.safeParse(await renderBodyTemplates(ctx, input, { pathOf: applicationYamlPath }));
  if (!parsed.success) {
    throw new ServiceError(
      'VALIDATION_FAILED',
      parsed.error.issues
        .slice(0, 5)
        .map((i) => `${applicationYamlPath(i.path as (string | number)[])}: ${i.message}`)
        .join('; '),
    );
  }
  return parsed.data;
}

export function registerApplications(app: App): void {
  app.openapi(
    listSystemAppsRoute,
    async (c) => streamJsonList(c, 'applications', applicationPages(c.get('ctx'), true, c.req.valid('query'))) as never,
  );
  app.openapi(getSystemAppRoute, async (c) => c.json(await getApplication(c.get('ctx'), c.req.valid('param').name, true), 200));
  app.openapi(deleteSystemAppRoute, async (c) => {
    await deleteApplication(c.get('ctx'), c.req.valid('param').name, true);
    return c.body(null, 204);
  });
  app.openapi(
    listAppsRoute,
    async (c) => streamJsonList(c, 'applications', applicationPages(c.get('ctx'), false, c.req.valid('query'))) as never,
  );
  app.openapi(createAppRoute, async (c) =>
    c.json(await createApplication(c.get('ctx'), await expandTemplate(c.get('ctx'), c.req.valid('json'))), 201),
  );
  app.openapi(createAppYamlRoute, async (c) => {
    const input = await expandTemplate(c.get('ctx'), await applicationFromYaml(c.get('ctx'), await readYamlUpload(c, 'application')));
    return c.json(await withYamlPaths(() => createApplication(c.get('ctx'), input), applicationYamlPath), 201);
  });
  app.openapi(putAppYamlRoute, async (c) => {
    const input = await expandTemplate(c.get('ctx'), await applicationFromYaml(c.get('ctx'), await readYamlUpload(c, 'application')));
    const { name } = c.req.valid('param');
    if (input.name !== name)
      throw new ServiceError('VALIDATION_FAILED', `metadata.name: must equal the application name in the path (${name})`);
    await withYamlPaths(
      () => replaceApplication(c.get('ctx'), name, input, { createIfMissing: true, defaultActivated: true }),
      applicationYamlPath,
    );
    return c.body(null, 204);
  });
  app.openapi(getAppRoute, async (c) => c.json(await getApplication(c.get('ctx'), c.req.valid('param').name, false), 200));
  app.openapi(patchAppRoute, async (c) => {
    await patchApplication(c.get('ctx'), c.req.valid('param').name, c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(putAppRoute, async (c) => {
    await replaceApplication(c.get('ctx'), c.req.valid('param').name, await expandTemplate(c.get('ctx'), c.req.valid('json')));
    return c.body(null, 204);
  });
  app.openapi(deleteAppRoute, async (c) => {
    await deleteApplication(c.get('ctx'), c.req.valid('param').name, false);
    return c.body(null, 204);
  });
}
