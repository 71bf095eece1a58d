import { z } from '@hono/zod-openapi';
import { defineRoute, publicAccess } from '../../src/http/route';
import type { App } from '../../src/http/types';

export const JwksSchema = z
  .object({ keys: z.array(z.record(z.string(), z.unknown())) })
  .openapi('JWKS');

export const jwksRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/oidc/jwks',
  tags: ['OIDC'],
  summary: 'Token signing keys (JWKS)',
  description: 'Public keys that verify access tokens. A rotated-out key stays listed until the tokens it signed have expired.',
  responses: { 200: { description: 'JSON Web Key Set', content: { 'application/json': { schema: JwksSchema } } } },
});

export function registerOidc(app: App): void {
  app.openapi(jwksRoute, (c) => c.json(c.get('ctx').keys.jwks() as { keys: Record<string, unknown>[] }, 200, { 'Cache-Control': 'public, max-age=300' }));
}
