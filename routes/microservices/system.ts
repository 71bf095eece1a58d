import { z } from '@hono/zod-openapi';
import { defineRoute, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import { MicroserviceSchema, MicroserviceUpdate, PortSchema, VolumeSchema } from './schemas';
import { microserviceYaml } from './index';
import {
  addPortMapping,
  addVolumeMapping,
  listMicroservices,
  markRebuild,
  presentMicroservices,
  removePortMapping,
  removeVolumeMapping,
  requireMicroservice,
  setConfig,
  updateMicroservice,
} from '../../src/services/microservices/microservices';

/** System microservices (router, NATS, node controller, debugger) of the `system-{fog}` applications. */
const tag = ['System microservices'];
const Uuid = z.object({ uuid: z.string().min(1).max(64).openapi({ param: { name: 'uuid', in: 'path' } }) });
const nf = { 404: errorResponse('No such system microservice', 404) };
const done = (d: string) => ({ 204: { description: d }, ...nf });
const sys = { system: true };
const base = '/api/v3/microservices/system';

export const listSysRoute = defineRoute(rbac('systemMicroservices', 'list'), {
  method: 'get', path: base, tags: tag, summary: 'List system microservices',
  request: { query: z.object({ application: z.string().min(1).max(63).optional() }) },
  responses: { 200: jsonOk('Microservices', z.object({ microservices: z.array(MicroserviceSchema) })) },
});
export const getSysRoute = defineRoute(rbac('systemMicroservices', 'get', 'uuid'), {
  method: 'get', path: `${base}/{uuid}`, tags: tag, summary: 'Get a system microservice', request: { params: Uuid }, responses: { 200: jsonOk('Microservice', MicroserviceSchema), ...nf },
});
export const patchSysRoute = defineRoute(rbac('systemMicroservices', 'patch', 'uuid'), {
  method: 'patch', path: `${base}/{uuid}`, tags: tag, summary: 'Update a system microservice', description: 'For the node controller, `schedule` is forced to 0.',
  request: { params: Uuid, body: jsonBody(MicroserviceUpdate) }, responses: done('Updated'),
});
export const rebuildSysRoute = defineRoute(rbac('systemMicroservices', 'patch', 'uuid'), {
  method: 'patch', path: `${base}/{uuid}/rebuild`, tags: tag, summary: 'Rebuild', request: { params: Uuid }, responses: done('Queued'),
});
export const getSysConfigRoute = defineRoute(rbac('systemMicroservices', 'get', 'uuid'), {
  method: 'get', path: `${base}/{uuid}/config`, tags: tag, summary: 'Get the config', request: { params: Uuid }, responses: { 200: jsonOk('Config', z.record(z.string(), z.unknown())), ...nf },
});
export const patchSysConfigRoute = defineRoute(rbac('systemMicroservices', 'patch', 'uuid'), {
  method: 'patch', path: `${base}/{uuid}/config`, tags: tag, summary: 'Replace the config', request: { params: Uuid, body: jsonBody(z.record(z.string(), z.unknown())) }, responses: done('Replaced'),
});
export const deleteSysConfigRoute = defineRoute(rbac('systemMicroservices', 'delete', 'uuid'), {
  method: 'delete', path: `${base}/{uuid}/config`, tags: tag, summary: 'Clear the config', request: { params: Uuid }, responses: done('Cleared'),
});
export const addSysPortRoute = defineRoute(rbac('systemMicroservices', 'patch', 'uuid'), {
  method: 'post', path: `${base}/{uuid}/port-mapping`, tags: tag, summary: 'Add a port mapping', request: { params: Uuid, body: jsonBody(PortSchema) }, responses: { 201: jsonOk('Added', PortSchema), ...nf },
});
export const deleteSysPortRoute = defineRoute(rbac('systemMicroservices', 'patch', 'uuid'), {
  method: 'delete', path: `${base}/{uuid}/port-mapping/{internalPort}`, tags: tag, summary: 'Remove a port mapping',
  request: { params: Uuid.extend({ internalPort: z.coerce.number().int().min(1).max(65535).openapi({ param: { name: 'internalPort', in: 'path' } }) }) }, responses: done('Removed'),
});
export const addSysVolumeRoute = defineRoute(rbac('systemMicroservices', 'patch', 'uuid'), {
  method: 'post', path: `${base}/{uuid}/volume-mapping`, tags: tag, summary: 'Add a volume mapping', request: { params: Uuid, body: jsonBody(VolumeSchema) }, responses: { 201: jsonOk('Added', z.object({ id: z.number() })), ...nf },
});
export const deleteSysVolumeRoute = defineRoute(rbac('systemMicroservices', 'patch', 'uuid'), {
  method: 'delete', path: `${base}/{uuid}/volume-mapping/{id}`, tags: tag, summary: 'Remove a volume mapping',
  request: { params: Uuid.extend({ id: z.coerce.number().int().min(1).openapi({ param: { name: 'id', in: 'path' } }) }) }, responses: done('Removed'),
});

export const patchSysYamlRoute = defineRoute(rbac('systemMicroservices', 'patch', 'uuid'), {
  method: 'patch', path: `${base}/yaml/{uuid}`, tags: tag, summary: 'Update a system microservice from YAML',
  request: {
    params: Uuid,
    body: {
      content: {
        'multipart/form-data': { schema: z.object({ microservice: z.any().optional().openapi({ type: 'string', format: 'binary' }) }) },
        'application/yaml': { schema: z.string() },
      },
      required: true,
    },
  },
  responses: done('Updated'),
});

export function registerSystemMicroservices(app: App): void {
  app.openapi(patchSysYamlRoute, async (c) => {
    const { application: _app, ...input } = await microserviceYaml(c);
    await updateMicroservice(c.get('ctx'), c.req.valid('param').uuid, input, sys);
    return c.body(null, 204);
  });
  const one = async (ctx: Parameters<typeof requireMicroservice>[0], uuid: string) => {
    const ms = await requireMicroservice(ctx, uuid);
    if (!ms.app.isSystem) throw new ServiceError('NOT_FOUND', `System microservice ${uuid} not found`);
    return (await presentMicroservices(ctx, [ms]))[0]!;
  };
  app.openapi(listSysRoute, async (c) => c.json({ microservices: await listMicroservices(c.get('ctx'), { system: true, applicationName: c.req.valid('query').application }) }, 200));
  app.openapi(getSysRoute, async (c) => c.json(await one(c.get('ctx'), c.req.valid('param').uuid), 200));
  app.openapi(patchSysRoute, async (c) => {
    await updateMicroservice(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), sys);
    return c.body(null, 204);
  });
  app.openapi(rebuildSysRoute, async (c) => {
    await markRebuild(c.get('ctx'), c.req.valid('param').uuid, sys);
    return c.body(null, 204);
  });
  app.openapi(getSysConfigRoute, async (c) => {
    const ms = await one(c.get('ctx'), c.req.valid('param').uuid);
    let config: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(ms.config);
      config = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : { value: parsed };
    } catch {
      config = {};
    }
    return c.json(config, 200);
  });
  app.openapi(patchSysConfigRoute, async (c) => {
    await setConfig(c.get('ctx'), c.req.valid('param').uuid, JSON.stringify(c.req.valid('json')), sys);
    return c.body(null, 204);
  });
  app.openapi(deleteSysConfigRoute, async (c) => {
    await setConfig(c.get('ctx'), c.req.valid('param').uuid, '{}', sys);
    return c.body(null, 204);
  });
  app.openapi(addSysPortRoute, async (c) => c.json(await addPortMapping(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), sys), 201));
  app.openapi(deleteSysPortRoute, async (c) => {
    const { uuid, internalPort } = c.req.valid('param');
    await removePortMapping(c.get('ctx'), uuid, internalPort, sys);
    return c.body(null, 204);
  });
  app.openapi(addSysVolumeRoute, async (c) => c.json(await addVolumeMapping(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), sys), 201));
  app.openapi(deleteSysVolumeRoute, async (c) => {
    const { uuid, id } = c.req.valid('param');
    await removeVolumeMapping(c.get('ctx'), uuid, id, sys);
    return c.body(null, 204);
  });
}
