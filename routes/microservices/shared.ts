import { z } from '@hono/zod-openapi';
import { defineRoute, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import type { AppCtx } from '../../src/context';
import {
  MicroserviceConfigBody,
  MicroserviceConfigResponse,
  PortResponse,
  PortSchema,
  VolumeCreated,
  VolumeSchema,
} from '../../src/services/microservices/schemas';
import { markRebuild, setConfig } from '../../src/services/microservices/crud';
import { addPortMapping, addVolumeMapping, removePortMapping, removeVolumeMapping } from '../../src/services/microservices/mappings';
import { presentMicroservices } from '../../src/services/microservices/presenter';
import { requireMicroservice } from '../../src/services/microservices/rows';

export const UuidParam = z.object({
  uuid: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'uuid', in: 'path' } }),
});

/** One microservice as the API shows it; user and system routes each see only their own kind. */
export async function presentOne(ctx: AppCtx, uuid: string, system: boolean) {
  const ms = await requireMicroservice(ctx, uuid);
  if (ms.app.isSystem !== system)
    throw new ServiceError('NOT_FOUND', `${system ? 'System microservice' : 'Microservice'} ${uuid} not found`);
  return (await presentMicroservices(ctx, [ms]))[0]!;
}

/** GET …/config answers `{config}` as upstream: the stored JSON object, or the stored text when it is not one. */
function configObject(text: string): Record<string, unknown> | string {
  try {
    const parsed = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : text;
  } catch {
    return text;
  }
}

type Base = '/api/v3/microservices' | '/api/v3/microservices/system';

/**
 * The routes user and system microservices share — rebuild, config, port and volume mappings —
 * under `base` with its RBAC resource; exported so tests can read each route's declared contract.
 */
export function microserviceCommonRoutes<B extends Base>(opts: {
  base: B;
  resource: 'microservices' | 'systemMicroservices';
  tag: string[];
}) {
  const { base, resource, tag } = opts;
  const system = resource === 'systemMicroservices';
  const nf = { 404: errorResponse(`No such ${system ? 'system ' : ''}microservice`, 404) };
  const done = (d: string) => ({ 204: { description: d }, ...nf });
  const patch = rbac(resource, 'patch', 'uuid');
  return {
    rebuild: defineRoute(patch, {
      method: 'patch',
      path: `${base}/{uuid}/rebuild` as `${B}/{uuid}/rebuild`,
      tags: tag,
      summary: 'Force a container rebuild',
      request: { params: UuidParam },
      responses: done('Queued'),
    }),
    getConfig: defineRoute(rbac(resource, 'get', 'uuid'), {
      method: 'get',
      path: `${base}/{uuid}/config` as `${B}/{uuid}/config`,
      tags: tag,
      summary: 'Get the config',
      request: { params: UuidParam },
      responses: { 200: jsonOk('Config', MicroserviceConfigResponse), ...nf },
    }),
    patchConfig: defineRoute(patch, {
      method: 'patch',
      path: `${base}/{uuid}/config` as `${B}/{uuid}/config`,
      tags: tag,
      summary: 'Replace the config',
      description: 'The agent is signalled in place (no container restart).',
      request: { params: UuidParam, body: jsonBody(MicroserviceConfigBody) },
      responses: done('Replaced'),
    }),
    deleteConfig: defineRoute(rbac(resource, 'delete', 'uuid'), {
      method: 'delete',
      path: `${base}/{uuid}/config` as `${B}/{uuid}/config`,
      tags: tag,
      summary: 'Clear the config',
      request: { params: UuidParam },
      responses: done('Cleared'),
    }),
    addPort: defineRoute(patch, {
      method: 'post',
      path: `${base}/{uuid}/port-mapping` as `${B}/{uuid}/port-mapping`,
      tags: tag,
      summary: 'Add a port mapping',
      description: 'External ports 54321, 54322 and 53 are reserved; an external port must be free on the fog.',
      request: { params: UuidParam, body: jsonBody(PortSchema) },
      responses: { 201: jsonOk('Added', PortResponse), ...nf },
    }),
    removePort: defineRoute(patch, {
      method: 'delete',
      path: `${base}/{uuid}/port-mapping/{internalPort}` as `${B}/{uuid}/port-mapping/{internalPort}`,
      tags: tag,
      summary: 'Remove a port mapping',
      request: {
        params: UuidParam.extend({
          internalPort: z.coerce
            .number()
            .int()
            .min(1)
            .max(65535)
            .openapi({ param: { name: 'internalPort', in: 'path' } }),
        }),
      },
      responses: done('Removed'),
    }),
    addVolume: defineRoute(patch, {
      method: 'post',
      path: `${base}/{uuid}/volume-mapping` as `${B}/{uuid}/volume-mapping`,
      tags: tag,
      summary: 'Add a volume mapping',
      request: { params: UuidParam, body: jsonBody(VolumeSchema) },
      responses: { 201: jsonOk('Added', VolumeCreated), ...nf },
    }),
    removeVolume: defineRoute(patch, {
      method: 'delete',
      path: `${base}/{uuid}/volume-mapping/{id}` as `${B}/{uuid}/volume-mapping/{id}`,
      tags: tag,
      summary: 'Remove a volume mapping',
      request: {
        params: UuidParam.extend({
          id: z.coerce
            .number()
            .int()
            .min(1)
            .openapi({ param: { name: 'id', in: 'path' } }),
        }),
      },
      responses: done('Removed'),
    }),
  };
}

export function registerMicroserviceCommon(app: App, routes: ReturnType<typeof microserviceCommonRoutes>, system: boolean): void {
  app.openapi(routes.rebuild, async (c) => {
    await markRebuild(c.get('ctx'), c.req.valid('param').uuid, { system });
    return c.body(null, 204);
  });
  app.openapi(routes.getConfig, async (c) =>
    c.json({ config: configObject((await presentOne(c.get('ctx'), c.req.valid('param').uuid, system)).config) }, 200),
  );
  app.openapi(routes.patchConfig, async (c) => {
    await setConfig(c.get('ctx'), c.req.valid('param').uuid, JSON.stringify(c.req.valid('json')), { system });
    return c.body(null, 204);
  });
  app.openapi(routes.deleteConfig, async (c) => {
    await setConfig(c.get('ctx'), c.req.valid('param').uuid, '{}', { system });
    return c.body(null, 204);
  });
  app.openapi(routes.addPort, async (c) => {
    const p = await addPortMapping(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), { system });
    return c.json({ internal: p.internal, external: p.external, protocol: p.protocol ?? 'tcp' }, 201);
  });
  app.openapi(routes.removePort, async (c) => {
    const { uuid, internalPort } = c.req.valid('param');
    await removePortMapping(c.get('ctx'), uuid, internalPort, { system });
    return c.body(null, 204);
  });
  app.openapi(routes.addVolume, async (c) =>
    c.json(await addVolumeMapping(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), { system }), 201),
  );
  app.openapi(routes.removeVolume, async (c) => {
    const { uuid, id } = c.req.valid('param');
    await removeVolumeMapping(c.get('ctx'), uuid, id, { system });
    return c.body(null, 204);
  });
}
