import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ServiceError } from '../errors';
import { authenticateAccessToken } from '../services/auth/tokens';
import { authenticateAgent } from '../auth/agent-auth';
import { authErrors, commonErrors, errorResponse } from './errors';
import type { HonoEnv } from './types';
import { beginAudit, settleAudit } from '../services/events/audit';
import { hasMarkup, renderBodyTemplates } from '../services/templating/liquid';

/**
 * How a route is reached, declared next to its contract and published in the OpenAPI document as
 * `x-access` — the route catalog tests enumerate.
 * - `public`: no token (health, docs).
 * - `auth-flow`: the body carries the credential (login, refresh); no bearer, no RBAC.
 * - `token`: any valid bearer, no RBAC (logout).
 * - `self`: any valid bearer acting on its own account; upstream catalogs these as `users:<verb>`,
 *   but every user must be able to read their profile and change their own password.
 * - `rbac`: bearer whose roles grant `resource:verb`.
 * - `agent`: the fog's token (an EdDSA JWT the agent signs per request; see docs/agent-contract.md).
 */
export type Access = (
  | { kind: 'public' }
  | { kind: 'auth-flow'; rateLimited?: boolean }
  | { kind: 'token'; rateLimited?: boolean }
  | { kind: 'self'; resource: string; verb: string; rateLimited?: boolean; allowWhile?: Gate[]; resetTokenFallback?: boolean }
  | { kind: 'rbac'; resource: string; verb: string; resourceNameParam?: string }
  | { kind: 'agent' }
) & {
  /** Routes of the embedded identity provider (users, groups, passwords, MFA, keys): 501 in AUTH_MODE=external. */
  embeddedOnly?: boolean;
  /** The body's strings are Liquid templates, rendered before validation (see `liquidBody`). */
  liquidBody?: boolean;
};

export const embeddedOnly = (access: Access): Access => ({ ...access, embeddedOnly: true });

/**
 * The route renders Liquid in its body, as upstream does on the same routes (services/templating):
 * a JSON body is rendered here, before validation; a YAML upload is rendered by its handler right
 * after the document is parsed (until then it is text). Published as `x-liquid-body` in the
 * OpenAPI document. Agent routes never carry it.
 */
export const liquidBody = (access: Access): Access => ({ ...access, liquidBody: true });

/** Restricted tokens: only routes that list the gate in `allowWhile` accept them. */
export type Gate = 'password-change' | 'mfa-enrollment';

export const publicAccess: Access = { kind: 'public' };
export const rbac = (resource: string, verb: string, resourceNameParam?: string): Access => ({
  kind: 'rbac',
  resource,
  verb,
  resourceNameParam,
});

export interface AccessDescription {
  kind: Access['kind'];
  resource?: string;
  verb?: string;
  resourceNameParam?: string;
  rateLimited?: boolean;
  embeddedOnly?: boolean;
}

function describe(access: Access): AccessDescription {
  const d: AccessDescription = { kind: access.kind };
  if (access.embeddedOnly) d.embeddedOnly = true;
  if ('resource' in access) {
    d.resource = access.resource;
    d.verb = access.verb;
  }
  if (access.kind === 'rbac' && access.resourceNameParam) d.resourceNameParam = access.resourceNameParam;
  if ('rateLimited' in access && access.rateLimited) d.rateLimited = true;
  return d;
}

const needsToken = (a: Access) => a.kind === 'token' || a.kind === 'self' || a.kind === 'rbac';

function agentAuth(): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const ctx = c.get('ctx');
    const { fogUuid } = await authenticateAgent(ctx, c.req.header('authorization'));
    ctx.agent = { fogUuid };
    await next();
  };
}

function rateLimit(): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const ctx = c.get('ctx');
    const wait = ctx.authLimiter.hit(ctx.ip ?? 'unknown', ctx.clock.now());
    if (wait > 0) {
      throw new ServiceError('RATE_LIMITED', `Too many authentication requests from this address; retry in ${wait} s`, {
        retryAfterSec: wait,
      });
    }
    await next();
  };
}

function authorize(access: Access): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const ctx = c.get('ctx');
    // WebSocket routes: browsers cannot set headers, so `?token=` stands in (the header wins).
    const header = c.req.header('authorization') ?? c.get('queryBearer');
    if (!header && access.kind === 'self' && access.resetTokenFallback) {
      // POST /user/change-password with a one-time reset token: the body is the credential.
      const body: unknown = await c.req.json().catch(() => undefined);
      if (body && typeof body === 'object' && typeof (body as { resetToken?: unknown }).resetToken === 'string') return next();
    }
    if (!header) throw new ServiceError('AUTH_REQUIRED', 'Authentication required: send Authorization: Bearer <access token>');
    const m = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
    if (!m) throw new ServiceError('AUTH_REQUIRED', 'Authorization header must be "Bearer <access token>"');
    const actor = await authenticateAccessToken(ctx, m[1]!);
    ctx.actor = actor;
    const allowWhile = access.kind === 'self' ? (access.allowWhile ?? []) : [];
    if (actor.passwordChangeRequired && access.kind !== 'token' && !allowWhile.includes('password-change')) {
      throw new ServiceError(
        'PASSWORD_CHANGE_REQUIRED',
        'Password change required before accessing this resource: POST /api/v3/user/change-password',
      );
    }
    if (actor.mfaEnrollmentRequired && access.kind !== 'token' && !allowWhile.includes('mfa-enrollment')) {
      throw new ServiceError('FORBIDDEN', 'MFA enrollment required before accessing this resource: POST /api/v3/user/mfa/enroll');
    }
    if (access.kind === 'rbac') {
      const resourceName = access.resourceNameParam ? c.req.param(access.resourceNameParam) : undefined;
      if (!(await ctx.rbacPolicy.allows(ctx, actor, { resource: access.resource, verb: access.verb, resourceName }))) {
        throw new ServiceError(
          'FORBIDDEN',
          `Forbidden: your roles (${actor.groups.join(', ') || 'none'}) do not grant ${access.resource}:${access.verb}`,
        );
      }
    }
    await next();
  };
}

const PATH_IDS = ['uuid', 'name', 'id', 'key', 'appName', 'ruleName'];

/**
 * Every mutating operator call leaves one audit event (services/events/audit.ts): declared here,
 * written in the request's first write transaction, or after a successful handler that wrote none.
 */
function audit(access: Access, successStatus: number): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const ctx = c.get('ctx');
    const params = c.req.param() as Record<string, string>;
    const idParam =
      access.kind === 'rbac' && access.resourceNameParam ? access.resourceNameParam : PATH_IDS.find((p) => params[p] !== undefined);
    beginAudit(ctx, {
      endpointType: 'user',
      actorId: ctx.actor?.username ?? null,
      method: c.req.method,
      resourceType: 'resource' in access ? access.resource : 'users',
      resourceId: idParam ? (params[idParam] ?? null) : null,
      endpointPath: c.req.path,
      statusCode: successStatus,
    });
    await next();
    await settleAudit(ctx, c.res.status);
  };
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json/i;

/**
 * Renders the JSON body's templates and hands the result to the validator (which reads the body
 * through `c.req.json()`, i.e. the cached text). A body without `{{`/`{%` (or a `\u` escape that could
 * spell them) is not even parsed here; a malformed one is left for the validator's 400.
 */
function renderJsonBody(): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    if (JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      const text = await c.req.text();
      if (hasMarkup(text) || text.includes('\\u')) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return next();
        }
        const rendered = await renderBodyTemplates(c.get('ctx'), body);
        // hono keeps the body as promises by kind; json() parses the cached text.
        if (rendered !== body) (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(JSON.stringify(rendered));
      }
    }
    await next();
  };
}

/**
 * `createRoute` plus the access declaration: adds the auth/RBAC middleware, the security requirement,
 * the shared error responses and the `x-access` extension.
 */
export function defineRoute<P extends string, R extends Omit<RouteConfig, 'path' | 'middleware'> & { path: P }>(access: Access, config: R) {
  const middleware: MiddlewareHandler<HonoEnv>[] = [];
  const bodyTypes = Object.keys((config.request?.body as { content?: Record<string, unknown> } | undefined)?.content ?? {});
  if (bodyTypes.length) {
    // Read only when the body's Content-Type is refused, so the 415 can say what this route accepts.
    middleware.push((c, next) => {
      c.set('bodyTypes', bodyTypes);
      return next();
    });
  }
  if (access.embeddedOnly) {
    middleware.push(async (c, next) => {
      if (c.get('ctx').config.authMode !== 'embedded') {
        throw new ServiceError(
          'NOT_IMPLEMENTED',
          'Not available with AUTH_MODE=external: the identity provider manages users, groups, passwords and MFA',
        );
      }
      await next();
    });
  }
  if ('rateLimited' in access && access.rateLimited) middleware.push(rateLimit());
  if (needsToken(access)) middleware.push(authorize(access));
  if (access.kind === 'agent') middleware.push(agentAuth());
  const method = String(config.method).toUpperCase();
  if (needsToken(access) && method !== 'GET' && method !== 'HEAD') {
    const success =
      Object.keys(config.responses ?? {})
        .map(Number)
        .filter((n) => n >= 200 && n < 300)
        .sort()[0] ?? 200;
    middleware.push(audit(access, success));
  }
  // After auth (the filters check the caller's permissions) and audit (a template error is an attempt
  // like any other 400).
  if (access.liquidBody && access.kind !== 'agent') middleware.push(renderJsonBody());
  const errors: Record<number, unknown> = needsToken(access) ? { ...commonErrors, ...authErrors } : { ...commonErrors };
  if (access.kind === 'agent')
    errors[401] = errorResponse(
      'Agent token missing, malformed, expired, replayed or not matching the fog key (structured, retryable: false)',
      401,
    );
  if ('rateLimited' in access && access.rateLimited)
    Object.assign(errors, { 429: errorResponse('Too many authentication requests; see Retry-After', 429) });
  return createRoute({
    ...config,
    responses: { ...errors, ...config.responses },
    security: needsToken(access) ? [{ bearerAuth: [] }] : access.kind === 'agent' ? [{ agentToken: [] }] : [],
    middleware,
    'x-access': describe(access),
    ...(access.liquidBody ? { 'x-liquid-body': true } : {}),
  } as R & { middleware: MiddlewareHandler<HonoEnv>[] });
}
