import { z } from '@hono/zod-openapi';
import { defineRoute, publicAccess } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { checkReadiness } from '../../src/services/health/readiness';
import { ARCHITECTURES } from '../../src/services/health/architectures';

const Versions = z.object({
  controller: z.string().openapi({ example: '0.1.0' }),
  ecnViewer: z.string().nullable().openapi({
    description:
      'Version of the bundled operator console (upstream bundles its ECN viewer); null: this Controller bundles none (its docs UI is not a console)',
    example: null,
  }),
});

export const HealthSchema = z
  .object({
    status: z.enum(['online', 'offline']),
    timestamp: z.number().int().openapi({ description: 'Server time, epoch milliseconds' }),
    uptimeSec: z.number().int(),
    versions: Versions,
  })
  .openapi('Health');

export const NotReadySchema = HealthSchema.extend({
  error: z.literal('ServiceUnavailable'),
  code: z.literal('CONTROLLER_NOT_READY'),
  message: z.string(),
  retryable: z.literal(true),
  requestId: z.string(),
}).openapi('NotReady');

export const ArchitecturesSchema = z
  .object({
    architectures: z.array(z.object({ id: z.number().int(), name: z.string(), image: z.string(), description: z.string() })),
  })
  .openapi('Architectures');

export const liveRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/api/v3/live',
  tags: ['Controller'],
  summary: 'Liveness',
  description: 'Answers while the HTTP server listens; does not touch the database.',
  responses: { 200: { description: 'The process is alive', content: { 'application/json': { schema: HealthSchema } } } },
});

export const statusRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/api/v3/status',
  tags: ['Controller'],
  summary: 'Readiness',
  description:
    'Ready when the database answers `SELECT 1` within 5 s and the token signing keys are loaded. Bearer tokens sent here are ignored.',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: HealthSchema } } },
    503: { description: 'Not ready; retry after `Retry-After` seconds', content: { 'application/json': { schema: NotReadySchema } } },
  },
});

export const architecturesRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/api/v3/architectures',
  tags: ['Controller'],
  summary: 'Architecture catalog',
  description:
    'The CPU architectures a fog can report and a microservice image can target. Id 0 means "detect automatically". Also served at the upstream spelling with a trailing slash.',
  responses: { 200: { description: 'Architectures', content: { 'application/json': { schema: ArchitecturesSchema } } } },
});

export function registerHealth(app: App): void {
  const base = (c: { get(k: 'ctx'): import('../../src/context').RequestCtx }) => {
    const ctx = c.get('ctx');
    const now = ctx.clock.now();
    return {
      timestamp: now,
      uptimeSec: Math.floor((now - ctx.startedAt) / 1000),
      versions: { controller: ctx.version, ecnViewer: ctx.consoleVersion },
    };
  };
  app.openapi(liveRoute, (c) => c.json({ status: 'online' as const, ...base(c) }, 200));
  app.openapi(statusRoute, async (c) => {
    const ctx = c.get('ctx');
    const r = await checkReadiness(ctx);
    if (r.ready) return c.json({ status: 'online' as const, ...base(c) }, 200);
    return c.json(
      {
        status: 'offline' as const,
        ...base(c),
        error: 'ServiceUnavailable' as const,
        code: 'CONTROLLER_NOT_READY' as const,
        message: r.reason ?? 'Controller is not ready',
        retryable: true as const,
        requestId: ctx.requestId,
      },
      503,
      { 'Retry-After': '5' },
    );
  });
  app.openapi(architecturesRoute, (c) => c.json({ architectures: ARCHITECTURES.map((a) => ({ ...a })) }, 200));
}
