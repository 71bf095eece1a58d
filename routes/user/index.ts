import { defineRoute } from '../../src/http/route';
import { errorResponse } from '../../src/http/errors';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { login } from '../../src/services/auth/login';
import { refreshSession, revokeUserSessions } from '../../src/services/auth/tokens';
import { changePassword, confirmMfa, disableMfa, enrollMfa, getProfile } from '../../src/services/auth/self';

const tag = ['User'];

export {
  ChangePasswordBody,
  LoginBody,
  RefreshBody,
  TokenPair as TokenPairSchema,
  Profile as ProfileSchema,
} from '../../src/services/auth/schemas';
import {
  ChangePasswordBody,
  LoginBody,
  MfaConfirmed,
  MfaConfirmRequest,
  MfaDisableRequest,
  MfaEnrollment,
  Profile as ProfileSchema,
  RefreshBody,
  StatusMessage as StatusSchema,
  TokenPair as TokenPairSchema,
  type IdpUserInfoT,
} from '../../src/services/auth/schemas';
import { userOf } from '../../src/http/caller';

export const loginRoute = defineRoute(
  { kind: 'auth-flow', rateLimited: true },
  {
    method: 'post',
    path: '/api/v3/user/login',
    tags: tag,
    summary: 'Log in with password (and TOTP)',
    description:
      'Returns an access/refresh token pair. Every credential failure is the same 401. Five failures lock the account for 15 minutes. Requests per client IP are rate limited (429 + Retry-After).',
    request: { body: jsonBody(LoginBody) },
    responses: { 200: jsonOk('Token pair', TokenPairSchema), 401: errorResponse('Invalid credentials or TOTP required', 401) },
  },
);

export const refreshRoute = defineRoute(
  { kind: 'auth-flow', rateLimited: true },
  {
    method: 'post',
    path: '/api/v3/user/refresh',
    tags: tag,
    summary: 'Exchange a refresh token',
    description: 'Rotating: the presented token is consumed. Presenting a consumed token again revokes every token of that session.',
    request: { body: jsonBody(RefreshBody) },
    responses: {
      200: jsonOk('New token pair', TokenPairSchema),
      401: errorResponse('Refresh token invalid, expired, revoked or reused', 401),
    },
  },
);

export const logoutRoute = defineRoute(
  { kind: 'token' },
  {
    method: 'post',
    path: '/api/v3/user/logout',
    tags: tag,
    summary: 'Log out',
    description: "Revokes all of the caller's refresh tokens. Access tokens stay valid until they expire.",
    responses: { 204: { description: 'Logged out' } },
  },
);

export const profileRoute = defineRoute(
  { kind: 'self', resource: 'users', verb: 'get', allowWhile: ['password-change', 'mfa-enrollment'] },
  {
    method: 'get',
    path: '/api/v3/user/profile',
    tags: tag,
    summary: 'Current user',
    responses: { 200: jsonOk('Profile of the token owner', ProfileSchema) },
  },
);

export const changePasswordRoute = defineRoute(
  {
    kind: 'self',
    resource: 'users',
    verb: 'patch',
    rateLimited: true,
    allowWhile: ['password-change', 'mfa-enrollment'],
    resetTokenFallback: true,
    embeddedOnly: true,
  },
  {
    method: 'post',
    path: '/api/v3/user/change-password',
    tags: tag,
    summary: 'Change own password',
    description:
      'With a bearer token: requires `currentPassword`. Without one: requires a `resetToken` issued by an administrator (single use, 1 h). Signs out every session of the user (refresh tokens revoked); log in again.',
    request: { body: jsonBody(ChangePasswordBody) },
    responses: { 200: jsonOk('Changed', StatusSchema) },
  },
);

export const mfaEnrollRoute = defineRoute(
  { kind: 'self', resource: 'users', verb: 'patch', rateLimited: true, allowWhile: ['mfa-enrollment'], embeddedOnly: true },
  {
    method: 'post',
    path: '/api/v3/user/mfa/enroll',
    tags: tag,
    summary: 'Start TOTP enrollment',
    description: 'Returns a new TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s). MFA is enabled only after /user/mfa/confirm.',
    responses: { 200: jsonOk('Secret and otpauth URL', MfaEnrollment), 409: errorResponse('Already enabled', 409) },
  },
);

export const mfaConfirmRoute = defineRoute(
  { kind: 'self', resource: 'users', verb: 'patch', rateLimited: true, allowWhile: ['mfa-enrollment'], embeddedOnly: true },
  {
    method: 'post',
    path: '/api/v3/user/mfa/confirm',
    tags: tag,
    summary: 'Confirm TOTP enrollment',
    description: 'Enables MFA and returns 10 single-use recovery codes (shown once).',
    request: { body: jsonBody(MfaConfirmRequest) },
    responses: { 200: jsonOk('Enabled', MfaConfirmed), 404: errorResponse('No enrollment started', 404) },
  },
);

export const mfaDisableRoute = defineRoute(
  { kind: 'self', resource: 'users', verb: 'delete', rateLimited: true, embeddedOnly: true },
  {
    method: 'delete',
    path: '/api/v3/user/mfa',
    tags: tag,
    summary: 'Disable MFA',
    description: 'Requires the password and a current TOTP or unused recovery code.',
    request: { body: jsonBody(MfaDisableRequest) },
    responses: { 200: jsonOk('Disabled', StatusSchema), 404: errorResponse('MFA is not enrolled', 404) },
  },
);

export function registerUser(app: App): void {
  // AUTH_MODE=external: the CLI login is the IdP's password grant (when the IdP allows it), refresh
  // its refresh grant, the profile its UserInfo document.
  app.openapi(loginRoute, async (c) => {
    const ctx = c.get('ctx');
    const body = c.req.valid('json');
    if (ctx.idp)
      return c.json(
        await ctx.idp.tokenGrant({
          grant_type: 'password',
          username: body.email,
          password: body.password,
          scope: 'openid profile email groups offline_access',
        }),
        200,
      );
    return c.json(await login(ctx, body), 200);
  });
  app.openapi(refreshRoute, async (c) => {
    const ctx = c.get('ctx');
    const { refreshToken } = c.req.valid('json');
    if (ctx.idp) return c.json(await ctx.idp.tokenGrant({ grant_type: 'refresh_token', refresh_token: refreshToken }), 200);
    return c.json(await refreshSession(ctx, refreshToken), 200);
  });
  app.openapi(logoutRoute, async (c) => {
    const ctx = c.get('ctx');
    // External mode keeps no sessions here; the IdP owns them.
    if (!ctx.idp) await revokeUserSessions(ctx, userOf(ctx).userId);
    return c.body(null, 204);
  });
  app.openapi(profileRoute, async (c) => {
    const ctx = c.get('ctx');
    if (ctx.idp) {
      const token = (c.req.header('authorization') ?? '').replace(/^Bearer\s+/i, '').trim();
      // OIDC requires `sub` in every UserInfo answer, and the fallback is the verified token's own claims.
      return c.json((await ctx.idp.userinfo(token, await ctx.idp.verify(token))) as IdpUserInfoT, 200);
    }
    return c.json(await getProfile(ctx, userOf(ctx)), 200);
  });
  app.openapi(changePasswordRoute, async (c) => {
    const ctx = c.get('ctx');
    return c.json(await changePassword(ctx, ctx.actor, c.req.valid('json')), 200);
  });
  app.openapi(mfaEnrollRoute, async (c) => {
    const ctx = c.get('ctx');
    return c.json(await enrollMfa(ctx, userOf(ctx)), 200);
  });
  app.openapi(mfaConfirmRoute, async (c) => {
    const ctx = c.get('ctx');
    return c.json(await confirmMfa(ctx, userOf(ctx), c.req.valid('json').code), 200);
  });
  app.openapi(mfaDisableRoute, async (c) => {
    const ctx = c.get('ctx');
    return c.json(await disableMfa(ctx, userOf(ctx), c.req.valid('json')), 200);
  });
}
