import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { readYamlUpload, yamlUploadBody } from '../../src/http/yaml';
import { ServiceError, invalid } from '../../src/errors';
import { defaultRouterFog, routerView } from '../../src/services/platform/fog-platform';
import { updateFog } from '../../src/services/fogs/fogs';
import { formatPath, parseKind, validateYaml } from '../../src/services/yaml/kinds';
import {
  createService,
  deleteService,
  getService,
  listServices,
  reconcileServiceNow,
  updateService,
} from '../../src/services/platform/services';
import { RouterPut, RouterView, ServiceCreate, ServiceUpdate, ServiceView, type ServiceInput } from '../../src/services/platform/schemas';

/** Services: router TCP bridges. */

const tags = ['Services'];
const nf = { 404: errorResponse('Not found', 404) };
const bad = { 400: errorResponse('Invalid request', 400) };
const Name = z.object({ name: z.string().min(1).max(255) });
const routes = {
  list: defineRoute(rbac('services', 'list'), {
    method: 'get',
    path: '/api/v3/services',
    tags,
    summary: 'List services',
    responses: { 200: jsonOk('Services', z.array(ServiceView)) },
  }),
  create: defineRoute(rbac('services', 'create'), {
    method: 'post',
    path: '/api/v3/services',
    tags,
    summary: 'Create a router TCP-bridge service (reconciled asynchronously)',
    request: { body: jsonBody(ServiceCreate) },
    responses: { 201: jsonOk('Service', ServiceView), ...bad, 409: errorResponse('Name in use', 409) },
  }),
  createYaml: defineRoute(rbac('services', 'create'), {
    method: 'post',
    path: '/api/v3/services/yaml',
    tags,
    summary: 'Create a service from YAML (kind: Service)',
    request: { body: yamlUploadBody('service') },
    responses: { 201: jsonOk('Service', ServiceView), ...bad, 409: errorResponse('Name in use', 409) },
  }),
  get: defineRoute(rbac('services', 'get', 'name'), {
    method: 'get',
    path: '/api/v3/services/{name}',
    tags,
    summary: 'Get a service',
    request: { params: Name },
    responses: { 200: jsonOk('Service', ServiceView), ...nf },
  }),
  patch: defineRoute(rbac('services', 'patch', 'name'), {
    method: 'patch',
    path: '/api/v3/services/{name}',
    tags,
    summary: 'Update a service (reconciled asynchronously)',
    request: { params: Name, body: jsonBody(ServiceUpdate) },
    responses: { 200: jsonOk('Service', ServiceView), ...bad, ...nf },
  }),
  patchYaml: defineRoute(rbac('services', 'patch', 'name'), {
    method: 'patch',
    path: '/api/v3/services/yaml/{name}',
    tags,
    summary: 'Update a service from YAML',
    request: { params: Name, body: yamlUploadBody('service') },
    responses: { 200: jsonOk('Service', ServiceView), ...bad, ...nf },
  }),
  delete: defineRoute(rbac('services', 'delete', 'name'), {
    method: 'delete',
    path: '/api/v3/services/{name}',
    tags,
    summary: 'Delete a service (its bridges are removed asynchronously)',
    request: { params: Name },
    responses: { 204: { description: 'Deleted' }, ...nf },
  }),
  reconcile: defineRoute(rbac('services', 'patch', 'name'), {
    method: 'post',
    path: '/api/v3/services/{name}/reconcile',
    tags,
    summary: 'Retry the service reconcile now',
    request: { params: Name },
    responses: { 200: jsonOk('Service', ServiceView), ...nf },
  }),
};

function serviceYaml(text: string): ServiceInput {
  const { name, spec, doc } = parseKind(text, 'Service');
  const meta = (doc.metadata ?? {}) as { tags?: unknown };
  return validateYaml(ServiceCreate, { name, ...spec, ...(meta.tags !== undefined ? { tags: meta.tags } : {}) }, (p) =>
    p[0] === 'name' ? 'metadata.name' : p[0] === 'tags' ? `metadata.${formatPath(p)}` : `spec.${formatPath(p)}`,
  ) as ServiceInput;
}

const routerRoutes = {
  get: defineRoute(rbac('router', 'get'), {
    method: 'get',
    path: '/api/v3/router',
    tags: ['Router'],
    summary: "The default router (the first system fog's interior router)",
    responses: { 200: jsonOk('Router', RouterView), ...nf },
  }),
  put: defineRoute(liquidBody(rbac('router', 'update')), {
    method: 'put',
    path: '/api/v3/router',
    tags: ['Router'],
    summary: 'Update the default router',
    description:
      "Sets the host and ports of the default router — on this (Remote) control plane the first system fog's router; its fog and every fog using it as upstream are reconciled. 400 when there is no system fog with an interior router yet.",
    request: { body: jsonBody(RouterPut) },
    responses: { 200: jsonOk('Router', RouterView), ...bad },
  }),
};

export function registerServices(app: App): void {
  app.openapi(routerRoutes.get, async (c) => {
    const f = await defaultRouterFog(c.get('ctx'));
    if (!f)
      throw new ServiceError('NOT_FOUND', 'No default router: it is the interior router of the first system fog, and there is none yet');
    return c.json(routerView(f), 200);
  });
  app.openapi(routerRoutes.put, async (c) => {
    const ctx = c.get('ctx');
    const f = await defaultRouterFog(ctx);
    if (!f)
      throw invalid('No default router to update: create a system fog with routerMode interior first (it becomes the default router)');
    const body = c.req.valid('json');
    await updateFog(ctx, f.uuid, {
      host: body.host,
      messagingPort: body.messagingPort,
      edgeRouterPort: body.edgeRouterPort ?? f.edgeRouterPort ?? 45671,
      interRouterPort: body.interRouterPort ?? f.interRouterPort ?? 55671,
    });
    return c.json(routerView((await defaultRouterFog(ctx))!), 200);
  });
  app.openapi(routes.list, async (c) => c.json(await listServices(c.get('ctx')), 200));
  app.openapi(routes.create, async (c) => c.json(await createService(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(routes.createYaml, async (c) =>
    c.json(await createService(c.get('ctx'), serviceYaml(await readYamlUpload(c, 'service'))), 201),
  );
  app.openapi(routes.get, async (c) => c.json(await getService(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(routes.patch, async (c) => {
    const {
      bridgePort: _b,
      serviceEndpoint: _e,
      provisioningStatus: _s,
      provisioningError: _x,
      servicePort,
      k8sType,
      ...rest
    } = c.req.valid('json');
    // null (what GET shows for "not set") leaves the field as it is, like leaving it out.
    return c.json(
      await updateService(c.get('ctx'), c.req.valid('param').name, {
        ...rest,
        servicePort: servicePort ?? undefined,
        k8sType: k8sType ?? undefined,
      }),
      200,
    );
  });
  app.openapi(routes.patchYaml, async (c) => {
    const input = serviceYaml(await readYamlUpload(c, 'service'));
    if (input.name !== c.req.valid('param').name)
      throw invalid(`metadata.name: must equal the service name in the path (${c.req.valid('param').name})`);
    return c.json(await updateService(c.get('ctx'), input.name, input), 200);
  });
  app.openapi(routes.delete, async (c) => {
    await deleteService(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 204);
  });
  app.openapi(routes.reconcile, async (c) => c.json(await reconcileServiceNow(c.get('ctx'), c.req.valid('param').name), 200));
}
export { routes as serviceRoutes, routerRoutes };
