import { z, type RouteConfig } from '@hono/zod-openapi';
import { defineRoute, type Access } from '../../src/http/route';
import type { Context } from 'hono';
import type { App, HonoEnv } from '../../src/http/types';
import { beginAudit } from '../../src/services/events/audit';
import { agentVolumeMounts } from '../../src/services/config/resources';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import { listAgentExecSessions, listAgentLogSessions } from '../../src/services/sessions/listing';
import {
  acknowledgeAgentChanges,
  agentChanges,
  agentConfig,
  agentDeleteNode,
  agentRegistries,
  agentTunnel,
  agentVersion,
  deprovisionAgent,
  patchAgentConfig,
  patchAgentGps,
  provisionAgent,
  putAgentHal,
  updateAgentStatus,
} from '../../src/services/agent/agent';
import { agentMicroservice, agentMicroservices } from '../../src/services/microservices/agent-view';
import { registerNodeController } from '../../src/services/microservices/system';
import {
  AgentConfigBody,
  ChangesAck,
  ChangesSchema,
  ControllerRegisterBody,
  DeprovisionBody,
  GpsBody,
  HalBody,
  ProvisionBody,
  ProvisionResponse,
  StatusBody,
  AgentExecSessions,
  AgentLogSessions,
  AgentMicroserviceList,
  AgentMicroserviceOne,
  AgentRegistryList,
  AgentTunnel,
  AgentVolumeMountList,
} from '../../src/services/agent/schemas';
import { agentOf } from '../../src/http/caller';

/** The Edgelet wire contract (agent-api.md): success is 200 with a JSON object or 204, never another 2xx. */
const tag = ['Agent (Edgelet)'];
const agent: Access = { kind: 'agent' };
const noContent = { 204: { description: 'Done' } };

const r = <
  M extends 'get' | 'post' | 'patch' | 'put' | 'delete',
  P extends string,
  E extends Pick<RouteConfig, 'responses'> & Partial<Pick<RouteConfig, 'request'>>,
>(
  method: M,
  path: P,
  summary: string,
  extra: E,
) => defineRoute(agent, { method, path, tags: tag, summary, ...extra });

export const provisionRoute = defineRoute(
  { kind: 'auth-flow' },
  {
    method: 'post',
    path: '/api/v3/agent/provision',
    tags: tag,
    summary: 'Provision an agent with a provisioning key',
    request: { body: jsonBody(ProvisionBody) },
    responses: {
      200: jsonOk('Agent identity', ProvisionResponse),
      401: errorResponse('Expired provisioning key', 401),
      404: errorResponse('Invalid (unknown or used) provisioning key', 404),
    },
  },
);

export const deprovisionRoute = r('post', '/api/v3/agent/deprovision', 'Deprovision (agent-initiated)', {
  request: { body: jsonBody(DeprovisionBody) },
  responses: noContent,
});
export const getConfigRoute = r('get', '/api/v3/agent/config', 'Agent configuration', {
  responses: { 200: jsonOk('Configuration', AgentConfigBody) },
});
export const patchConfigRoute = r('patch', '/api/v3/agent/config', "Store the agent's local configuration", {
  request: { body: jsonBody(AgentConfigBody) },
  responses: noContent,
});
export const patchGpsRoute = r('patch', '/api/v3/agent/config/gps', 'Store GPS coordinates', {
  request: { body: jsonBody(GpsBody) },
  responses: noContent,
});
export const getChangesRoute = r('get', '/api/v3/agent/config/changes', 'Pending change flags', {
  responses: { 200: jsonOk('Flags', ChangesSchema) },
});
export const ackChangesRoute = r('patch', '/api/v3/agent/config/changes', 'Acknowledge change flags up to lastUpdated', {
  request: { body: jsonBody(ChangesAck) },
  responses: { 200: jsonOk('Acknowledged', z.object({})) },
});
export const putStatusRoute = r('put', '/api/v3/agent/status', 'Report agent status', {
  request: { body: jsonBody(StatusBody) },
  responses: noContent,
});
export const getMicroservicesRoute = r('get', '/api/v3/agent/microservices', 'Desired microservices of this fog', {
  responses: { 200: jsonOk('Microservices', AgentMicroserviceList) },
});
export const getMicroserviceRoute = r('get', '/api/v3/agent/microservices/{microserviceUuid}', 'One microservice of this fog', {
  request: {
    params: z.object({
      microserviceUuid: z
        .string()
        .min(1)
        .max(64)
        .openapi({ param: { name: 'microserviceUuid', in: 'path' } }),
    }),
  },
  responses: { 200: jsonOk('Microservice', AgentMicroserviceOne), 404: errorResponse('Not a microservice of this fog', 404) },
});
export const getRegistriesRoute = r('get', '/api/v3/agent/registries', 'Container registries', {
  responses: { 200: jsonOk('Registries', AgentRegistryList) },
});
export const getVolumeMountsRoute = r('get', '/api/v3/agent/volumeMounts', 'Volume mounts linked to this fog', {
  responses: { 200: jsonOk('Volume mounts', AgentVolumeMountList) },
});
export const getTunnelRoute = r('get', '/api/v3/agent/tunnel', 'SSH tunnel configuration', {
  responses: { 200: jsonOk('Tunnel', AgentTunnel), 404: errorResponse('No tunnel', 404) },
});
export const getVersionRoute = r('get', '/api/v3/agent/version', 'Pending upgrade/rollback command', {
  responses: {
    200: jsonOk(
      'Command',
      z.object({
        versionCommand: z.enum(['upgrade', 'rollback']),
        provisionKey: z.string(),
        expirationTime: z.number(),
        semver: z.string().optional(),
      }),
    ),
    404: errorResponse('No command pending', 404),
  },
});
export const deleteNodeRoute = r('delete', '/api/v3/agent/delete-node', 'Confirm deletion of this fog', { responses: noContent });
export const controllerRegisterRoute = r(
  'post',
  '/api/v3/agent/controller/register',
  'Register the node-local Controller of a system fog',
  {
    request: { body: jsonBody(ControllerRegisterBody) },
    responses: {
      200: jsonOk('Registered', z.object({ uuid: z.string() })),
      403: errorResponse('Not a system fog', 403),
      404: errorResponse('Unknown registry', 404),
    },
  },
);

export const execSessionsRoute = r('get', '/api/v3/agent/exec/sessions', 'Exec sessions waiting for this agent', {
  responses: { 200: jsonOk('Sessions', AgentExecSessions) },
});
export const logSessionsRoute = r('get', '/api/v3/agent/logs/sessions', 'Log sessions waiting for this agent', {
  responses: { 200: jsonOk('Sessions', AgentLogSessions) },
});
export const certRoute = r('get', '/api/v3/agent/cert', "The Controller's TLS certificate (base64 PEM, as a JSON string)", {
  responses: { 200: jsonOk('Certificate', z.string()), 404: errorResponse('No TLS certificate configured', 404) },
});
const halRoute = (kind: 'hw' | 'usb') =>
  r('put', `/api/v3/agent/hal/${kind}`, `Report ${kind === 'hw' ? 'hardware' : 'USB'} inventory (legacy)`, {
    request: { body: jsonBody(HalBody) },
    responses: noContent,
  });
export const halHwRoute = halRoute('hw');
export const halUsbRoute = halRoute('usb');
export const trackingRoute = r('post', '/api/v3/agent/tracking', 'Legacy tracking events (accepted and discarded)', {
  request: { body: jsonBody(z.unknown()) },
  responses: noContent,
});

export function registerAgent(app: App, opts: { tlsCertPem?: () => Promise<string | undefined> } = {}): void {
  const fogUuid = (c: { get(k: 'ctx'): { agent?: { fogUuid: string } } }) => agentOf(c.get('ctx')).fogUuid;
  // Provision and deprovision are the agent calls on the audit log (issue: "every agent
  // provision/deprovision writes an event"); the fog is the actor and the target.
  const agentAudit = (c: Context<HonoEnv>, fog: string | null) =>
    beginAudit(c.get('ctx'), {
      endpointType: 'agent',
      actorId: fog,
      method: 'POST',
      resourceType: 'fogs',
      resourceId: fog,
      endpointPath: c.req.path,
      statusCode: c.req.path.endsWith('/deprovision') ? 204 : 200,
    });
  app.openapi(provisionRoute, async (c) => {
    agentAudit(c, null);
    return c.json(await provisionAgent(c.get('ctx'), c.req.valid('json')), 200);
  });
  app.openapi(deprovisionRoute, async (c) => {
    agentAudit(c, fogUuid(c));
    await deprovisionAgent(c.get('ctx'), fogUuid(c));
    return c.body(null, 204);
  });
  app.openapi(getConfigRoute, async (c) => c.json(await agentConfig(c.get('ctx'), fogUuid(c)), 200));
  app.openapi(patchConfigRoute, async (c) => {
    await patchAgentConfig(c.get('ctx'), fogUuid(c), c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(patchGpsRoute, async (c) => {
    await patchAgentGps(c.get('ctx'), fogUuid(c), c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(getChangesRoute, async (c) => c.json(await agentChanges(c.get('ctx'), fogUuid(c)), 200));
  app.openapi(ackChangesRoute, async (c) => {
    await acknowledgeAgentChanges(c.get('ctx'), fogUuid(c), c.req.valid('json').lastUpdated);
    return c.json({}, 200);
  });
  app.openapi(putStatusRoute, async (c) => {
    await updateAgentStatus(c.get('ctx'), fogUuid(c), c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(getMicroservicesRoute, async (c) => c.json({ microservices: await agentMicroservices(c.get('ctx'), fogUuid(c)) }, 200));
  app.openapi(getMicroserviceRoute, async (c) =>
    c.json({ microservice: await agentMicroservice(c.get('ctx'), fogUuid(c), c.req.valid('param').microserviceUuid) }, 200),
  );
  app.openapi(getRegistriesRoute, async (c) => c.json({ registries: await agentRegistries(c.get('ctx')) }, 200));
  app.openapi(getVolumeMountsRoute, async (c) => c.json(await agentVolumeMounts(c.get('ctx'), fogUuid(c)), 200));
  app.openapi(getTunnelRoute, async (c) => c.json({ tunnel: await agentTunnel(c.get('ctx'), fogUuid(c)) }, 200));
  app.openapi(getVersionRoute, async (c) => c.json(await agentVersion(c.get('ctx'), fogUuid(c)), 200));
  app.openapi(deleteNodeRoute, async (c) => {
    await agentDeleteNode(c.get('ctx'), fogUuid(c));
    return c.body(null, 204);
  });
  app.openapi(controllerRegisterRoute, async (c) =>
    c.json(await registerNodeController(c.get('ctx'), fogUuid(c), c.req.valid('json')), 200),
  );
  app.openapi(execSessionsRoute, async (c) => {
    const ctx = c.get('ctx');
    return c.json({ execSessions: await listAgentExecSessions(ctx, agentOf(ctx).fogUuid) }, 200);
  });
  app.openapi(logSessionsRoute, async (c) => {
    const ctx = c.get('ctx');
    return c.json({ logSessions: await listAgentLogSessions(ctx, agentOf(ctx).fogUuid) }, 200);
  });
  app.openapi(certRoute, async (c) => {
    const pem = await opts.tlsCertPem?.();
    if (!pem) throw new ServiceError('NOT_FOUND', 'No TLS certificate is configured on this Controller');
    return c.json(btoa(pem), 200);
  });
  app.openapi(halHwRoute, async (c) => {
    await putAgentHal(c.get('ctx'), fogUuid(c), 'hw', c.req.valid('json').info);
    return c.body(null, 204);
  });
  app.openapi(halUsbRoute, async (c) => {
    await putAgentHal(c.get('ctx'), fogUuid(c), 'usb', c.req.valid('json').info);
    return c.body(null, 204);
  });
  app.openapi(trackingRoute, (c) => c.body(null, 204));
}

export { ChangesSchema, ProvisionResponse };
