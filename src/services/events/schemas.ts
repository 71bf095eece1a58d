import { z } from '@hono/zod-openapi';

/** The wire contract of the audit log (/events). */

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

export const EventQuery = z
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
      .pipe(
        z
          .array(z.enum(['POST', 'PUT', 'PATCH', 'DELETE', 'GET', 'HEAD', 'WS', 'post', 'put', 'patch', 'delete', 'get', 'head', 'ws']))
          .max(8),
      )
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

export type EventQueryInput = z.infer<typeof EventQuery>;
export type EventRecordT = z.infer<typeof EventRecord>;

export const EventList = z
  .object({ events: z.array(EventRecord), total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
  .openapi('EventList');
export const EventPurge = z.strictObject({ days: z.number().int().min(0).max(365) }).openapi('EventPurge');
export const EventPurged = z
  .object({ deletedCount: z.number().int(), deletedBefore: z.string().nullable(), deletedAt: z.string(), deletedAll: z.boolean() })
  .openapi('EventPurged');
export type EventListT = z.infer<typeof EventList>;
export type EventPurgedT = z.infer<typeof EventPurged>;
