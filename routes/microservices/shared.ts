import { z } from '@hono/zod-openapi';
import { defineRoute, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import type { AppCtx } from '../../src/context';
import { PortSchema, VolumeSchema } from './schemas';
import {
  addPortMapping,
  addVolumeMapping,
  markRebuild,
  presentMicroservices,
  removePortMapping,
  removeVolumeMapping,
  requireMicroservice,
  setConfig,
} from '../../src/services/microservices/microservices';

export const UuidParam = z.object({ uuid: z.string().min(1).max(64).openapi({ param: { name: 'uuid', in: 'path' } }) });

/** One microservice as the API shows it; user and system routes each see only their own kind. */
export async function presentOne(ctx: AppCtx, uuid: string, system: boolean) {
  const ms = await requireMicroservice(ctx, uuid);
  if (ms.app.isSystem !== system) throw new ServiceError('NOT_FOUND', `${system ? 'System microservice' : 'Microservice'} ${uuid} not found`);
  return (await presentMicroservices(ctx, [ms]))[0]!;
}

export function configObject(text: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : { value: parsed };
  } catch {
    return {};
  }
}

/**
 * The routes user and system microservices share — rebuild, config, port and volume mappings —
 * under `base` (`/api/v3/microservices` or `/api/v3/microservices/system`) with its RBAC resource.
 */
export function registerMicroserviceCommon(app: App, opts: { base: string; resource: 'microservices' | 'systemMicroservices'; tag: string[] }): void {
  const { base, resource, tag } = opts;
  const system = resource === 'systemMicroservices';
  const nf = { 404: errorResponse(`No such ${system ? 'system ' : ''}microservice`, 404) };
  const done = (d: string) => ({ 204: { description: d }, ...nf });
  const patch = rbac(resource, 'patch', 'uuid');
  app.openapi(
    defineRoute(patch, { method: 'patch', path: `${base}/{uuid}/rebuild`, tags: tag, summary: 'Force a container rebuild', request: { params: UuidParam }, responses: done('Queued') }),
    async (c) => {
      await markRebuild(c.get('ctx'), c.req.valid('param').uuid, { system });
      return c.body(null, 204);
    },
  );
  app.openapi(
    defineRoute(rbac(resource, 'get', 'uuid'), {
      method: 'get', path: `${base}/{uuid}/config`, tags: tag, summary: 'Get the config',
      request: { params: UuidParam }, responses: { 200: jsonOk('Config (the JSON document)', z.record(z.string(), z.unknown())), ...nf },
    }),
    async (c) => c.json(configObject((await presentOne(c.get('ctx'), c.req.valid('param').uuid, system)).config), 200),
  );
  app.openapi(
    defineRoute(patch, {
      method: 'patch', path: `${base}/{uuid}/config`, tags: tag, summary: 'Replace the config',
      description: 'The agent is signalled in place (no container restart).',
      request: { params: UuidParam, body: jsonBody(z.record(z.string(), z.unknown())) }, responses: done('Replaced'),
    }),
    async (c) => {
      await setConfig(c.get('ctx'), c.req.valid('param').uuid, JSON.stringify(c.req.valid('json')), { system });
      return c.body(null, 204);
    },
  );
  app.openapi(
    defineRoute(rbac(resource, 'delete', 'uuid'), { method: 'delete', path: `${base}/{uuid}/config`, tags: tag, summary: 'Clear the config', request: { params: UuidParam }, responses: done('Cleared') }),
    async (c) => {
      await setConfig(c.get('ctx'), c.req.valid('param').uuid, '{}', { system });
      return c.body(null, 204);
    },
  );
  app.openapi(
    defineRoute(patch, {
      method: 'post', path: `${base}/{uuid}/port-mapping`, tags: tag, summary: 'Add a port mapping',
      description: 'External ports 54321, 54322 and 53 are reserved; an external port must be free on the fog.',
      request: { params: UuidParam, body: jsonBody(PortSchema) }, responses: { 201: jsonOk('Added', PortSchema), ...nf },
    }),
    async (c) => c.json(await addPortMapping(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), { system }), 201),
  );
  app.openapi(
    defineRoute(patch, {
      method: 'delete', path: `${base}/{uuid}/port-mapping/{internalPort}`, tags: tag, summary: 'Remove a port mapping',
      request: { params: UuidParam.extend({ internalPort: z.coerce.number().int().min(1).max(65535).openapi({ param: { name: 'internalPort', in: 'path' } }) }) },
      responses: done('Removed'),
    }),
    async (c) => {
      const { uuid, internalPort } = c.req.valid('param');
      await removePortMapping(c.get('ctx'), uuid, internalPort, { system });
      return c.body(null, 204);
    },
  );
  app.openapi(
    defineRoute(patch, {
      method: 'post', path: `${base}/{uuid}/volume-mapping`, tags: tag, summary: 'Add a volume mapping',
      request: { params: UuidParam, body: jsonBody(VolumeSchema) }, responses: { 201: jsonOk('Added', z.object({ id: z.number() })), ...nf },
    }),
    async (c) => c.json(await addVolumeMapping(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'), { system }), 201),
  );
  app.openapi(
    defineRoute(patch, {
      method: 'delete', path: `${base}/{uuid}/volume-mapping/{id}`, tags: tag, summary: 'Remove a volume mapping',
      request: { params: UuidParam.extend({ id: z.coerce.number().int().min(1).openapi({ param: { name: 'id', in: 'path' } }) }) },
      responses: done('Removed'),
    }),
    async (c) => {
      const { uuid, id } = c.req.valid('param');
      await removeVolumeMapping(c.get('ctx'), uuid, id, { system });
      return c.body(null, 204);
    },
  );
}
