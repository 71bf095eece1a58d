import { defineRoute, embeddedOnly, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonOk } from '../../src/http/openapi';
import { exportIdentities } from '../../src/services/auth/admin';

export { RotateResult as RotateResultSchema } from '../../src/services/auth/schemas';
import { IdentityExport, RotateResult as RotateResultSchema } from '../../src/services/auth/schemas';

export const rotateRoute = defineRoute(embeddedOnly(rbac('authAdmin', 'patch')), {
  method: 'post',
  path: '/api/v3/auth/jwks/rotate',
  tags: ['Auth'],
  summary: 'Rotate the token signing key',
  description:
    'Creates a new active signing key. Previous keys stay in /oidc/jwks and keep verifying tokens until the longest token lifetime has passed.',
  responses: { 200: { description: 'Rotated', content: { 'application/json': { schema: RotateResultSchema } } } },
});

export const exportRoute = defineRoute(embeddedOnly(rbac('authAdmin', 'create')), {
  method: 'post',
  path: '/api/v3/auth/migration/export',
  tags: ['Auth'],
  summary: 'Export users and groups for migration to an external IdP',
  description: 'One-way export without secrets: no password hashes, MFA secrets, recovery codes or tokens. Admin only.',
  responses: {
    200: jsonOk('Export', IdentityExport),
  },
});

export function registerAuthAdmin(app: App): void {
  app.openapi(exportRoute, async (c) => c.json(await exportIdentities(c.get('ctx')), 200));
  app.openapi(rotateRoute, async (c) => {
    const ctx = c.get('ctx');
    const retainMs = Math.max(ctx.config.accessTokenTtlSec, ctx.config.refreshTokenTtlSec) * 1000;
    const { kid, rotatedAt } = await ctx.keys.rotate(ctx, retainMs);
    ctx.logger.info('signing key rotated', { kid, requestId: ctx.requestId });
    return c.json({ kid, rotatedAt: new Date(rotatedAt).toISOString(), restartRequired: true as const }, 200);
  });
}
