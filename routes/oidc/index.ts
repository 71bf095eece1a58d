import type { z } from '@hono/zod-openapi';
import { defineRoute, embeddedOnly, publicAccess } from '../../src/http/route';
import { getProfile } from '../../src/services/auth/self';
import type { App } from '../../src/http/types';
import { Discovery, Jwks as JwksSchema, UserInfo } from '../../src/services/auth/schemas';
import { userOf } from '../../src/http/caller';

export { Jwks as JwksSchema } from '../../src/services/auth/schemas';

export const jwksRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/oidc/jwks',
  tags: ['OIDC'],
  summary: 'Token signing keys (JWKS)',
  description: 'Public keys that verify access tokens. A rotated-out key stays listed until the tokens it signed have expired.',
  responses: { 200: { description: 'JSON Web Key Set', content: { 'application/json': { schema: JwksSchema } } } },
});

export const discoveryRoute = defineRoute(embeddedOnly(publicAccess), {
  method: 'get',
  path: '/oidc/.well-known/openid-configuration',
  tags: ['OIDC'],
  summary: 'Issuer discovery document',
  description:
    'Lets clients and resource servers (for example another Controller in AUTH_MODE=external) find this issuer: authorization code + PKCE S256, keys, UserInfo.',
  responses: { 200: { description: 'Discovery document', content: { 'application/json': { schema: Discovery } } } },
});

export const userinfoRoute = defineRoute(embeddedOnly({ kind: 'token' }), {
  method: 'get',
  path: '/oidc/me',
  tags: ['OIDC'],
  summary: 'UserInfo',
  description: "The claims of the bearer token's user: sub, preferred_username, email, groups.",
  responses: {
    200: {
      description: 'UserInfo',
      content: { 'application/json': { schema: UserInfo } },
    },
  },
});

export function registerOidc(app: App): void {
  app.openapi(discoveryRoute, (c) => {
    const { issuer } = c.get('ctx').config;
    return c.json(
      {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        userinfo_endpoint: `${issuer}/me`,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['EdDSA'],
        scopes_supported: ['openid', 'profile', 'email', 'groups'],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'preferred_username', 'email', 'groups'],
      },
      200,
      { 'Cache-Control': 'public, max-age=300' },
    );
  });
  app.openapi(userinfoRoute, async (c) => {
    const ctx = c.get('ctx');
    const profile = await getProfile(ctx, userOf(ctx));
    return c.json(
      {
        sub: profile.sub,
        preferred_username: profile.preferred_username,
        ...(profile.email ? { email: profile.email } : {}),
        groups: profile.groups,
      },
      200,
    );
  });
  app.openapi(jwksRoute, async (c) => {
    const ctx = c.get('ctx');
    // A key rotated on another instance is published here too.
    await ctx.keys.refresh(ctx);
    return c.json(ctx.keys.jwks(ctx.clock.now()) as z.infer<typeof JwksSchema>, 200, { 'Cache-Control': 'public, max-age=300' });
  });
}
