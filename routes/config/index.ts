import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { getSetting, listSettings, putSetting } from '../../src/services/config/settings';
import { deleteController, getController, listControllers, setControllerHost } from '../../src/services/cluster/cluster';
import { ServiceError } from '../../src/errors';
import { Setting, SettingKey, SettingList, SettingPut } from '../../src/services/config/schemas';
import { ClusterController, ClusterControllerPatch } from '../../src/services/cluster/schemas';
import { samePathName } from '../../src/services/shared/read-only';

// ---- controller config ----

const configTag = ['Config'];

export const listConfigRoute = defineRoute(rbac('config', 'list'), {
  method: 'get',
  path: '/api/v3/config',
  tags: configTag,
  summary: 'List Controller settings',
  responses: { 200: jsonOk('Settings', SettingList) },
});
export const getConfigRoute = defineRoute(rbac('config', 'get', 'key'), {
  method: 'get',
  path: '/api/v3/config/{key}',
  tags: configTag,
  summary: 'Get one setting',
  request: { params: z.object({ key: SettingKey.openapi({ param: { name: 'key', in: 'path' } }) }) },
  responses: { 200: jsonOk('Setting', Setting), 404: errorResponse('No such key', 404) },
});
export const putConfigRoute = defineRoute(liquidBody(rbac('config', 'update')), {
  method: 'put',
  path: '/api/v3/config',
  tags: configTag,
  summary: 'Create or replace a setting',
  request: { body: jsonBody(SettingPut) },
  responses: { 200: jsonOk('The stored setting', Setting) },
});

// ---- cluster controllers ----

const UuidParam = z.object({
  uuid: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'uuid', in: 'path' } }),
});
const clusterTag = ['Cluster'];
const nf = { 404: errorResponse('No such controller', 404) };

export const listClusterRoute = defineRoute(rbac('cluster', 'list'), {
  method: 'get',
  path: '/api/v3/cluster/controllers',
  tags: clusterTag,
  summary: 'List Controller replicas',
  description: 'Active replicas (heartbeat within CONTROLLER_INACTIVE_THRESHOLD_SECONDS); `includeInactive=true` lists all.',
  request: { query: z.strictObject({ includeInactive: z.enum(['true', 'false']).optional() }) },
  responses: { 200: jsonOk('Replicas', z.array(ClusterController)) },
});
export const getClusterRoute = defineRoute(rbac('cluster', 'get', 'uuid'), {
  method: 'get',
  path: '/api/v3/cluster/controllers/{uuid}',
  tags: clusterTag,
  summary: 'Get a replica',
  request: { params: UuidParam },
  responses: { 200: jsonOk('Replica', ClusterController), ...nf },
});
export const patchClusterRoute = defineRoute(rbac('cluster', 'patch', 'uuid'), {
  method: 'patch',
  path: '/api/v3/cluster/controllers/{uuid}',
  tags: clusterTag,
  summary: 'Set the advertised host of a replica',
  description: 'Kept across heartbeats unless the replica itself is configured with CONTROLLER_HOST.',
  request: { params: UuidParam, body: jsonBody(ClusterControllerPatch) },
  responses: { 200: jsonOk('Replica', ClusterController), ...nf },
});
export const deleteClusterRoute = defineRoute(rbac('cluster', 'delete', 'uuid'), {
  method: 'delete',
  path: '/api/v3/cluster/controllers/{uuid}',
  tags: clusterTag,
  summary: 'Remove a replica row',
  description: 'A replica that is still running registers again with its next heartbeat (within 30 s).',
  request: { params: UuidParam },
  responses: { 204: { description: 'Removed' }, ...nf },
});

// ---- capabilities ----

const capTag = ['Capabilities'];
/**
 * Capability probes are HEAD routes. Hono answers HEAD by running the GET route of the path and
 * dropping the body, so each probe is registered as a (hidden) GET that serves both, and documented
 * as HEAD.
 */
function capability(path: string, summary: string, description?: string) {
  const responses = { 204: { description: 'Supported / enabled' }, 404: { description: 'Not available on this Controller' } };
  return {
    documented: defineRoute(rbac('capabilities', 'get'), { method: 'head', path, tags: capTag, summary, description, responses }),
    served: defineRoute(rbac('capabilities', 'get'), { method: 'get', path, tags: capTag, summary, hide: true, responses }),
  };
}
export const capTemplatesRoute = capability('/api/v3/capabilities/applicationTemplates', 'Are application templates supported');
export const capNatsRoute = capability(
  '/api/v3/capabilities/nats',
  'Is NATS enabled on this Controller',
  '204: NATS is available on this Controller (404 would mean it runs without the NATS platform).',
);

export function registerConfig(app: App): void {
  app.openapi(listConfigRoute, async (c) => c.json(await listSettings(c.get('ctx')), 200));
  app.openapi(getConfigRoute, async (c) => c.json(await getSetting(c.get('ctx'), c.req.valid('param').key), 200));
  app.openapi(putConfigRoute, async (c) => {
    const { key, value } = c.req.valid('json');
    return c.json(await putSetting(c.get('ctx'), key, value), 200);
  });

  app.openapi(listClusterRoute, async (c) =>
    c.json(await listControllers(c.get('ctx'), c.req.valid('query').includeInactive === 'true'), 200),
  );
  app.openapi(getClusterRoute, async (c) => c.json(await getController(c.get('ctx'), c.req.valid('param').uuid), 200));
  app.openapi(patchClusterRoute, async (c) => {
    const { uuid, host } = c.req.valid('json');
    samePathName('uuid', uuid, c.req.valid('param').uuid);
    return c.json(await setControllerHost(c.get('ctx'), c.req.valid('param').uuid, host), 200);
  });
  app.openapi(deleteClusterRoute, async (c) => {
    await deleteController(c.get('ctx'), c.req.valid('param').uuid);
    return c.body(null, 204);
  });

  for (const cap of [capTemplatesRoute, capNatsRoute]) {
    const { middleware: _serving, ...doc } = cap.documented as typeof cap.documented & { middleware?: unknown };
    app.openAPIRegistry.registerPath(doc);
  }
  app.openapi(capTemplatesRoute.served, (c) => c.body(null, 204));
  app.openapi(capNatsRoute.served, (c) => {
    if (!c.get('ctx').config.natsEnabled) throw new ServiceError('NOT_FOUND', 'NATS is not enabled on this Controller');
    return c.body(null, 204);
  });
}
