import { z } from '@hono/zod-openapi';
import {
  FogCreate,
  FogCreated,
  FogList,
  FogResponse,
  FogUpdate,
  HalInfo,
  ProvisioningKey,
  Tunnel,
  TunnelAction,
} from '../../src/services/fogs/schemas';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import { REVEAL_VERB } from '../../src/auth/rbac';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk, optionalJson } from '../../src/http/openapi';
import { streamJsonList } from '../../src/http/stream';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import { provisionDebugMicroservice, removeDebugMicroservice } from '../../src/services/microservices/system';
import { requestReconcile } from '../../src/services/platform/fog-platform';
import {
  createFog,
  createProvisioningKey,
  deleteFog,
  getFog,
  getHal,
  getTunnel,
  fogPages,
  queueCommand,
  queueVersionCommand,
  setTunnel,
  updateFog,
  type FogFilter,
} from '../../src/services/fogs/fogs';

const tag = ['Fogs'];

const UuidParam = z.object({
  uuid: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'uuid', in: 'path' } }),
});
const nf = { 404: errorResponse('No such fog', 404) };

export const listFogsRoute = defineRoute(rbac('fogs', 'list'), {
  method: 'get',
  path: '/api/v3/iofog-list',
  tags: tag,
  summary: 'List fogs',
  description:
    'Optional filters in query-string array syntax: `filters[0][key]=name&filters[0][value]=edge&filters[0][condition]=has` (`has` = case-insensitive substring, `equals` = exact). ' +
    'Without `limit` the answer is the whole (filtered) fleet in name order, as upstream; `offset` and `limit` (not in upstream) page it. ' +
    'The answer is streamed page by page so that a large fleet never holds the server.',
  request: {
    query: z.object({
      offset: z.coerce.number().int().min(0).optional().openapi({ description: 'Fogs to skip (after the filters), in name order' }),
      limit: z.coerce.number().int().min(1).max(100_000).optional().openapi({ description: 'At most this many fogs' }),
    }),
  },
  responses: { 200: jsonOk('Fogs', FogList) },
});

export const createFogRoute = defineRoute(liquidBody(rbac('fogs', 'create')), {
  method: 'post',
  path: '/api/v3/iofog',
  tags: tag,
  summary: 'Create a fog',
  description:
    'Defaults: statusFrequency 10 s, changeFrequency 20 s, routerMode edge, natsMode leaf. `host` is required when routerMode edge/interior is requested. ' +
    'A system fog (`isSystem`, or the first fog ever created when it has a host and asks for no other mode) is interior/server. ' +
    'A router without named upstreamRouters needs the default router, a leaf without named upstreamNatsServers the NATS hub: 404 until a system fog exists.',
  request: { body: jsonBody(FogCreate) },
  responses: {
    201: jsonOk('Created', FogCreated),
    404: errorResponse(
      'A referenced router or NATS server (default-router, default-nats-hub, upstreams, networkRouter) does not exist',
      404,
    ),
    409: errorResponse('Name already in use', 409),
  },
});

export const getFogRoute = defineRoute(rbac('fogs', 'get', 'uuid'), {
  method: 'get',
  path: '/api/v3/iofog/{uuid}',
  tags: tag,
  summary: 'Get a fog',
  request: { params: UuidParam },
  responses: { 200: jsonOk('Fog', FogResponse), ...nf },
});

export const updateFogRoute = defineRoute(liquidBody(rbac('fogs', 'patch', 'uuid')), {
  method: 'patch',
  path: '/api/v3/iofog/{uuid}',
  tags: tag,
  summary: 'Update a fog',
  description: 'Merge semantics. Changing agent configuration raises the `config` change flag for the agent.',
  request: { params: UuidParam, body: jsonBody(FogUpdate) },
  responses: { 204: { description: 'Updated' }, ...nf, 409: errorResponse('Name in use or fog being deleted', 409) },
});

export const deleteFogRoute = defineRoute(rbac('fogs', 'delete', 'uuid'), {
  method: 'delete',
  path: '/api/v3/iofog/{uuid}',
  tags: tag,
  summary: 'Delete a fog',
  description:
    'Asynchronous when the fog has a provisioned agent: the agent receives `deleteNode`, confirms with DELETE /agent/delete-node and wipes itself; the fog is then removed. An agent that never confirms is removed after 10 minutes. A fog without an agent (never provisioned, or deprovisioned) is removed at once.',
  request: { params: UuidParam },
  responses: { 202: { description: 'Deletion started' }, ...nf },
});

// Minting a key lets its holder provision an agent as this fog and read what the fog receives (env
// secrets, registry passwords): a write, whatever upstream's catalog says.
export const provisioningKeyRoute = defineRoute(rbac('fogs', REVEAL_VERB, 'uuid'), {
  method: 'get',
  path: '/api/v3/iofog/{uuid}/provisioning-key',
  tags: tag,
  summary: 'Generate a provisioning key',
  description: 'A single-use key for POST /api/v3/agent/provision, valid 20 minutes.',
  request: { params: UuidParam },
  responses: {
    201: jsonOk('Key', ProvisioningKey),
    ...nf,
  },
});

export const versionRoute = defineRoute(rbac('fogs', 'patch', 'uuid'), {
  method: 'post',
  path: '/api/v3/iofog/{uuid}/version/{versionCommand}',
  tags: tag,
  summary: 'Queue an agent upgrade or rollback',
  request: {
    params: UuidParam.extend({
      versionCommand: z.enum(['upgrade', 'rollback']).openapi({ param: { name: 'versionCommand', in: 'path' } }),
    }),
  },
  description:
    'Optional JSON body `{ "semver": "1.2.3" }` (the target version). The agent must report isReadyToUpgrade / isReadyToRollback.',
  responses: { 204: { description: 'Queued' }, ...nf },
});

const command = (path: string, summary: string) =>
  defineRoute(rbac('fogs', 'patch', 'uuid'), {
    method: 'post',
    path,
    tags: tag,
    summary,
    request: { params: UuidParam },
    responses: { 204: { description: 'Queued' }, ...nf },
  });
export const debugExecRoute = defineRoute(rbac('systemExecSessions', 'patch', 'uuid'), {
  method: 'post',
  path: '/api/v3/iofog/{uuid}/exec',
  tags: tag,
  summary: 'Provision the node-debug system microservice',
  description:
    'Creates (or updates) the `debug` system microservice on the fog — host network, privileged, host PID/IPC — then open its shell with `WS /api/v3/microservices/system/exec/{debugMicroserviceUuid}` (find the uuid in `GET /api/v3/microservices/system`). Optional JSON body `{ "image": "…" }` (default `ghcr.io/eclipse-iofog/debugger`).',
  request: { params: UuidParam },
  responses: { 204: { description: 'Provisioned; the agent pulls it on its next changes poll' }, ...nf },
});
export const debugExecDeleteRoute = defineRoute(rbac('systemExecSessions', 'patch', 'uuid'), {
  method: 'delete',
  path: '/api/v3/iofog/{uuid}/exec',
  tags: tag,
  summary: 'Remove the node-debug system microservice',
  request: { params: UuidParam },
  responses: { 204: { description: 'Removed' }, ...nf },
});
export const reconcileRoute = defineRoute(rbac('fogs', 'patch', 'uuid'), {
  method: 'post',
  path: '/api/v3/iofog/{uuid}/reconcile',
  tags: tag,
  summary: 'Retry the platform reconcile of a fog now',
  description:
    'A failed fog goes back to Pending and its task is retried at once (attempts and backoff reset). See platformStatus on GET /api/v3/iofog/{uuid}.',
  request: { params: UuidParam },
  responses: { 202: { description: 'Queued' }, ...nf },
});
export const rebootRoute = command('/api/v3/iofog/{uuid}/reboot', 'Queue a reboot');
export const pruneRoute = command('/api/v3/iofog/{uuid}/prune', 'Queue an image prune');

export const getTunnelRoute = defineRoute(rbac('tunnels', 'get', 'uuid'), {
  method: 'get',
  path: '/api/v3/iofog/{uuid}/tunnel',
  tags: tag,
  summary: 'SSH tunnel status',
  request: { params: UuidParam },
  responses: {
    200: jsonOk('Tunnel', Tunnel),
    ...nf,
  },
});

export const patchTunnelRoute = defineRoute(rbac('tunnels', 'patch', 'uuid'), {
  method: 'patch',
  path: '/api/v3/iofog/{uuid}/tunnel',
  tags: tag,
  summary: 'Open or close the SSH tunnel',
  request: { params: UuidParam, body: jsonBody(TunnelAction) },
  responses: { 204: { description: 'Done' }, ...nf },
});

const hal = (kind: 'hw' | 'usb') =>
  defineRoute(rbac('fogs', 'get', 'uuid'), {
    method: 'get',
    path: `/api/v3/iofog/{uuid}/hal/${kind}`,
    tags: tag,
    summary: kind === 'hw' ? 'Hardware inventory' : 'USB inventory',
    request: { params: UuidParam },
    responses: { 200: jsonOk('Inventory (JSON text reported by the agent)', HalInfo), ...nf },
  });
export const halHwRoute = hal('hw');
export const halUsbRoute = hal('usb');

/** filters[0][key]=…&filters[0][value]=…&filters[0][condition]=… */
function parseFilters(url: string): FogFilter[] {
  const params = new URL(url).searchParams;
  const byIndex = new Map<string, Partial<FogFilter>>();
  for (const [k, v] of params) {
    const m = /^filters\[(\d+)\]\[(key|value|condition)\]$/.exec(k);
    if (!m) {
      if (k.startsWith('filters')) throw new ServiceError('VALIDATION_FAILED', `query.${k}: expected filters[N][key|value|condition]`);
      continue;
    }
    const f = byIndex.get(m[1]!) ?? {};
    (f as Record<string, string>)[m[2]!] = v;
    byIndex.set(m[1]!, f);
  }
  return [...byIndex.entries()].map(([i, f]) => {
    if (!f.key || f.value === undefined) throw new ServiceError('VALIDATION_FAILED', `query.filters[${i}]: key and value are required`);
    const condition = f.condition ?? 'has';
    if (condition !== 'has' && condition !== 'equals')
      throw new ServiceError('VALIDATION_FAILED', `query.filters[${i}].condition: must be has or equals`);
    return { key: f.key, value: f.value, condition };
  });
}

export function registerFogs(app: App): void {
  app.openapi(listFogsRoute, async (c) => {
    const paging = c.req.valid('query');
    return streamJsonList(c, 'fogs', fogPages(c.get('ctx'), parseFilters(c.req.url), paging)) as never;
  });
  app.openapi(createFogRoute, async (c) => c.json(await createFog(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(getFogRoute, async (c) => c.json(await getFog(c.get('ctx'), c.req.valid('param').uuid), 200));
  app.openapi(reconcileRoute, async (c) => {
    await requestReconcile(c.get('ctx'), c.req.valid('param').uuid);
    return c.body(null, 202);
  });
  app.openapi(updateFogRoute, async (c) => {
    await updateFog(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(deleteFogRoute, async (c) => {
    await deleteFog(c.get('ctx'), c.req.valid('param').uuid);
    return c.body(null, 202);
  });
  app.openapi(provisioningKeyRoute, async (c) => {
    const k = await createProvisioningKey(c.get('ctx'), c.req.valid('param').uuid);
    // No listener CA is configured by this Controller yet (TLS_* certificates are operator-supplied and public).
    return c.json({ ...k, caCert: '' }, 201);
  });
  app.openapi(versionRoute, async (c) => {
    const { uuid, versionCommand } = c.req.valid('param');
    const body = await optionalJson(c.req);
    const semver = body.semver;
    if (semver !== undefined && (typeof semver !== 'string' || !/^v?\d+\.\d+\.\d+([-+][\w.-]+)?$/.test(semver))) {
      throw new ServiceError('VALIDATION_FAILED', 'semver: must be a semantic version such as 1.2.3');
    }
    await queueVersionCommand(c.get('ctx'), uuid, versionCommand, semver as string | undefined);
    return c.body(null, 204);
  });
  app.openapi(debugExecRoute, async (c) => {
    const body = await optionalJson(c.req);
    const image = body.image;
    if (image !== undefined && (typeof image !== 'string' || !/^[^\s]{1,1024}$/.test(image))) {
      throw new ServiceError('VALIDATION_FAILED', 'image: must be an image reference without spaces (at most 1024 characters)');
    }
    await provisionDebugMicroservice(c.get('ctx'), c.req.valid('param').uuid, image as string | undefined);
    return c.body(null, 204);
  });
  app.openapi(debugExecDeleteRoute, async (c) => {
    await removeDebugMicroservice(c.get('ctx'), c.req.valid('param').uuid);
    return c.body(null, 204);
  });
  app.openapi(rebootRoute, async (c) => {
    await queueCommand(c.get('ctx'), c.req.valid('param').uuid, 'reboot');
    return c.body(null, 204);
  });
  app.openapi(pruneRoute, async (c) => {
    await queueCommand(c.get('ctx'), c.req.valid('param').uuid, 'prune');
    return c.body(null, 204);
  });
  app.openapi(getTunnelRoute, async (c) => c.json(await getTunnel(c.get('ctx'), c.req.valid('param').uuid), 200));
  app.openapi(patchTunnelRoute, async (c) => {
    await setTunnel(c.get('ctx'), c.req.valid('param').uuid, c.req.valid('json').action);
    return c.body(null, 204);
  });
  app.openapi(halHwRoute, async (c) => {
    const hal = await getHal(c.get('ctx'), c.req.valid('param').uuid, 'hw');
    // Nothing reported: 200 with an empty body, as v3.8 (which sends its empty lookup result).
    return hal ? c.json(hal, 200) : (c.body(null, 200) as never);
  });
  app.openapi(halUsbRoute, async (c) => {
    const hal = await getHal(c.get('ctx'), c.req.valid('param').uuid, 'usb');
    // Nothing reported: 200 with an empty body, as v3.8 (which sends its empty lookup result).
    return hal ? c.json(hal, 200) : (c.body(null, 200) as never);
  });
}
