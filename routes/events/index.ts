import { z } from '@hono/zod-openapi';
import { defineRoute, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { listEvents, purgeEvents } from '../../src/services/events/audit';

const tag = ['Events'];

/** Epoch milliseconds or an ISO-8601 date-time. */
const Instant = z
  .string()
  .transform((s, ctx) => {
    const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds or an ISO-8601 date-time' });
      return z.NEVER;
    }
    return ms;
  })
  .openapi({ type: 'string', example: '2026-11-22T10:00:00Z' });

const EventQuery = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(1000).default(200),
    offset: z.coerce.number().int().min(0).default(0),
    startTime: Instant.optional(),
    endTime: Instant.optional(),
    endpointType: z.enum(['agent', 'user', 'system']).optional(),
    resourceType: z.string().min(1).max(64).optional(),
    status: z.enum(['SUCCESS', 'FAILED']).optional(),
    method: z
      .union([z.string(), z.array(z.string())])
      .transform((m) => (Array.isArray(m) ? m : [m]))
      .pipe(z.array(z.enum(['POST', 'PUT', 'PATCH', 'DELETE', 'GET', 'HEAD', 'WS', 'post', 'put', 'patch', 'delete', 'get', 'head', 'ws'])).max(8))
      .optional()
      .openapi({ type: 'array', items: { type: 'string' }, description: 'HTTP method; repeat the parameter for several' }),
    actorId: z.string().min(1).max(255).optional(),
    eventType: z.enum(['HTTP', 'WS_CONNECT', 'WS_DISCONNECT']).optional(),
  })
  .openapi('EventQuery');

export const EventRecord = z
  .object({
    id: z.number(),
    timestamp: z.number().openapi({ description: 'epoch ms' }),
    eventType: z.enum(['HTTP', 'WS_CONNECT', 'WS_DISCONNECT']),
    endpointType: z.enum(['agent', 'user', 'system']),
    actorId: z.string().nullable(),
    method: z.string().nullable(),
    resourceType: z.string().nullable(),
    resourceId: z.string().nullable(),
    endpointPath: z.string(),
    ipAddress: z.string().nullable(),
    status: z.enum(['SUCCESS', 'FAILED']),
    statusCode: z.number().nullable(),
    statusMessage: z.string().nullable(),
    requestId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('EventRecord');

export const listEventsRoute = defineRoute(rbac('events', 'list'), {
  method: 'get', path: '/api/v3/events', tags: tag, summary: 'Query the audit log',
  description:
    'One event per successful mutating operator call and per agent provision/deprovision, written in the same transaction as the change. Newest first. Unknown query parameters are a 400.',
  request: { query: EventQuery },
  responses: { 200: jsonOk('Events', z.object({ events: z.array(EventRecord), total: z.number(), limit: z.number(), offset: z.number() })) },
});

export const deleteEventsRoute = defineRoute(rbac('events', 'delete'), {
  method: 'delete', path: '/api/v3/events', tags: tag, summary: 'Purge audit events',
  description: '`days: 0` deletes every event; `N` deletes events older than N days. The purge itself is recorded as a new event.',
  request: { body: jsonBody(z.strictObject({ days: z.number().int().min(0).max(365) }).openapi('EventPurge')) },
  responses: {
    200: jsonOk('Purged', z.object({ deletedCount: z.number(), deletedBefore: z.string().nullable(), deletedAt: z.string(), deletedAll: z.boolean() })),
  },
});

export function registerEvents(app: App): void {
  app.openapi(listEventsRoute, async (c) => c.json(await listEvents(c.get('ctx'), c.req.valid('query')), 200));
  app.openapi(deleteEventsRoute, async (c) => c.json(await purgeEvents(c.get('ctx'), c.req.valid('json').days), 200));
}
