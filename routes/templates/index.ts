import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import { safeName } from '../../src/http/names';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { readYamlUpload, yamlUploadBody } from '../../src/http/yaml';
import { invalid } from '../../src/errors';
import type { AppCtx } from '../../src/context';
import { renderBodyTemplates } from '../../src/services/templating/liquid';
import { formatPath, mapMicroservice, parseKind, validateYaml } from '../../src/services/yaml/kinds';
import {
  TemplateCreate,
  TemplateList,
  TemplatePatch,
  TemplatePut,
  TemplateRef,
  TemplateResponse,
} from '../../src/services/microservices/schemas';
import {
  createTemplate,
  deleteTemplate,
  getTemplate,
  listTemplates,
  patchTemplate,
  putTemplate,
} from '../../src/services/templating/application-templates';

const NameParam = z.object({ name: safeName(255).openapi({ param: { name: 'name', in: 'path' } }) });
const tag = ['Application templates'];
const nf = { 404: errorResponse('No such template', 404) };
const dup = { 409: errorResponse('Name in use', 409) };

export const listTemplatesRoute = defineRoute(rbac('applicationTemplates', 'list'), {
  method: 'get',
  path: '/api/v3/applicationTemplates',
  tags: tag,
  summary: 'List application templates',
  responses: { 200: jsonOk('Templates', TemplateList) },
});
export const createTemplateRoute = defineRoute(rbac('applicationTemplates', 'create'), {
  method: 'post',
  path: '/api/v3/applicationTemplate',
  tags: tag,
  summary: 'Create an application template',
  description: 'Placeholders `{{key}}` may appear in any string of `application`; every one must be a declared variable.',
  request: { body: jsonBody(TemplateCreate) },
  responses: { 201: jsonOk('Created', TemplateRef), ...dup },
});
export const createTemplateYamlRoute = defineRoute(liquidBody(rbac('applicationTemplates', 'create')), {
  method: 'post',
  path: '/api/v3/applicationTemplate/yaml',
  tags: tag,
  summary: 'Create a template from YAML (kind: ApplicationTemplate)',
  description: 'multipart field `template` (`application` is accepted too), or the raw YAML body.',
  request: { body: yamlUploadBody('template') },
  responses: { 201: jsonOk('Created', TemplateRef), ...dup },
});
export const getTemplateRoute = defineRoute(rbac('applicationTemplates', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/applicationTemplate/{name}',
  tags: tag,
  summary: 'Get an application template',
  request: { params: NameParam },
  responses: { 200: jsonOk('Template', TemplateResponse), ...nf },
});
export const patchTemplateRoute = defineRoute(rbac('applicationTemplates', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/applicationTemplate/{name}',
  tags: tag,
  summary: 'Rename or re-describe a template',
  request: {
    params: NameParam,
    body: jsonBody(TemplatePatch),
  },
  responses: { 204: { description: 'Updated' }, ...nf, ...dup },
});
export const putTemplateRoute = defineRoute(rbac('applicationTemplates', 'update', 'name'), {
  method: 'put',
  path: '/api/v3/applicationTemplate/{name}',
  tags: tag,
  summary: 'Create or replace a template',
  description: '`name` may be left out; when given it must equal the path.',
  request: { params: NameParam, body: jsonBody(TemplatePut) },
  responses: { 200: jsonOk('Stored', TemplateRef) },
});
export const putTemplateYamlRoute = defineRoute(liquidBody(rbac('applicationTemplates', 'update', 'name')), {
  method: 'put',
  path: '/api/v3/applicationTemplate/yaml/{name}',
  tags: tag,
  summary: 'Create or replace a template from YAML',
  request: { params: NameParam, body: yamlUploadBody('template') },
  responses: { 200: jsonOk('Stored', TemplateRef) },
});
export const deleteTemplateRoute = defineRoute(rbac('applicationTemplates', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/applicationTemplate/{name}',
  tags: tag,
  summary: 'Delete a template',
  description: 'Applications deployed from it are not affected.',
  request: { params: NameParam },
  responses: { 204: { description: 'Deleted' }, ...nf },
});

/** YAML layout (kind ApplicationTemplate) → the JSON body; microservices mapped like Application YAML. */
async function templateFromYaml(ctx: AppCtx, text: string) {
  const { name, spec } = parseKind(text, 'ApplicationTemplate');
  const app = spec.application;
  if (app === undefined || app === null || typeof app !== 'object' || Array.isArray(app))
    throw invalid('spec.application: required (with microservices)');
  const list = (app as Record<string, unknown>).microservices;
  if (list !== undefined && !Array.isArray(list)) throw invalid('spec.application.microservices: must be a list');
  const microservices = ((list as unknown[] | undefined) ?? []).map((m, i) => {
    if (typeof m !== 'object' || m === null) throw invalid(`spec.application.microservices[${i}]: must be a mapping`);
    return mapMicroservice(m as Record<string, unknown>, `spec.application.microservices[${i}]`);
  });
  const input = {
    name,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    // As upstream, the variables block renders at upload (`self` = the variables); the spec waits for the deploy.
    ...(spec.variables !== undefined
      ? { variables: await renderBodyTemplates(ctx, spec.variables, { pathOf: (p) => formatPath(['spec', 'variables', ...p]) }) }
      : {}),
    application: {
      microservices,
      ...((app as Record<string, unknown>).natsConfig !== undefined ? { natsConfig: (app as Record<string, unknown>).natsConfig } : {}),
    },
  };
  return validateYaml(TemplateCreate, input, (p) => (p[0] === 'name' ? 'metadata.name' : `spec.${formatPath(p)}`));
}

/** `template` is the field name upstream's handler reads; its Swagger names `application` for POST. */
async function templateUpload(c: Parameters<typeof readYamlUpload>[0]) {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = await c.req.parseBody();
    if (form.template === undefined && form.application !== undefined) return readYamlUpload(c, 'application');
  }
  return readYamlUpload(c, 'template');
}

export function registerTemplates(app: App): void {
  app.openapi(listTemplatesRoute, async (c) => c.json(await listTemplates(c.get('ctx')), 200));
  app.openapi(createTemplateRoute, async (c) => c.json(await createTemplate(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(createTemplateYamlRoute, async (c) =>
    c.json(await createTemplate(c.get('ctx'), await templateFromYaml(c.get('ctx'), await templateUpload(c))), 201),
  );
  app.openapi(getTemplateRoute, async (c) => c.json(await getTemplate(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(patchTemplateRoute, async (c) => {
    await patchTemplate(c.get('ctx'), c.req.valid('param').name, c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(putTemplateRoute, async (c) => c.json(await putTemplate(c.get('ctx'), c.req.valid('param').name, c.req.valid('json')), 200));
  app.openapi(putTemplateYamlRoute, async (c) => {
    const input = await templateFromYaml(c.get('ctx'), await templateUpload(c));
    const { name } = c.req.valid('param');
    if (input.name !== name) throw invalid(`metadata.name: must equal the template name in the path (${name})`);
    return c.json(await putTemplate(c.get('ctx'), name, input), 200);
  });
  app.openapi(deleteTemplateRoute, async (c) => {
    await deleteTemplate(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 204);
  });
}
