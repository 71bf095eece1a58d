import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { defineRoute, rbac, type Access } from '../../src/http/route';
import type { App, HonoEnv } from '../../src/http/types';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import type { RequestCtx } from '../../src/context';
import {
  CloseCode,
  type Half,
  type Session,
  type SessionKind,
  type SessionTarget,
  type TailConfig,
} from '../../src/services/sessions/session';
import { runningFog, runningMicroservice, sessionForAgent } from '../../src/services/sessions/targets';
import { agentOf } from '../../src/http/caller';
import { isUpgradeRequest, type WsHandlers, type WsPeer } from '../../src/ws/types';

/**
 * Exec and log sessions over WebSocket (see docs/sessions.md). The routes are ordinary
 * GET routes in the catalog: a plain GET is authenticated like any route and answered 426; an upgrade
 * passes the upgrade gate (HTTP refusal), then authentication, RBAC and validation failures are
 * delivered as a 1008 close after the handshake, with the message as the close reason.
 */

const tags = ['Sessions (WebSocket)'];
const switching = { 101: { description: 'Switching Protocols: the session socket carries binary MessagePack frames' } };
const upgradeRequired = { 426: errorResponse('Not a WebSocket upgrade request', 426) };

const Ms = z.object({ microserviceUuid: z.string().min(1).max(64) });
const Uuid = z.object({ uuid: z.string().min(1).max(64) });
const LogQuery = z.object({
  tail: z.string().optional().openapi({ description: 'Lines of history, 1…WS_LOG_TAIL_MAX_LINES (default 100)' }),
  follow: z.string().optional().openapi({ description: 'Keep streaming (default true; only `false` disables)' }),
  since: z.string().optional().openapi({ description: 'ISO 8601 start time' }),
  until: z.string().optional().openapi({ description: 'ISO 8601 end time' }),
  token: z
    .string()
    .optional()
    .openapi({ description: 'Access token for clients that cannot send headers (the header wins); redact it in proxy logs' }),
});
const TokenQuery = LogQuery.pick({ token: true });

const refuse = (code: number, reason: string): WsHandlers => ({
  open: (peer) => peer.close(code, reason),
  message: () => {},
  close: () => {},
});

/** Fails the request as a WebSocket close (1008) when it is an upgrade: a socket client reads close codes, not HTTP statuses. */
class Refusal extends ServiceError {
  constructor(
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super('VALIDATION_FAILED', reason);
  }
}

/**
 * First middleware of every session route: the upgrade gate before anything else, `?token=` as the
 * bearer, and after the chain ran, an auth/RBAC/validation failure turned into a close when the
 * request is an upgrade.
 */
function socketFront(): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const upgrade = c.env?.upgrade;
    const isWs = Boolean(upgrade) && isUpgradeRequest(c.req.raw);
    const token = c.req.query('token');
    if (isWs) {
      const ctx = c.get('ctx');
      const refused = ctx.sessions.gate.admit(ctx.ip, Boolean(token || c.req.header('authorization')));
      if (refused) throw new ServiceError(refused.code, refused.message, { retryAfterSec: refused.code === 'RATE_LIMITED' ? 60 : 5 });
    }
    if (token && !c.req.header('authorization')) c.set('queryBearer', `Bearer ${token}`);
    await next();
    const err = c.error;
    if (isWs && err) {
      // Only failed authentication counts against the address; see the UpgradeGate.
      if (err instanceof ServiceError && err.status === 401) c.get('ctx').sessions.gate.upgradeFailed(c.get('ctx').ip);
      // A principal over its limits is refused before the handshake (429), like the address gate.
      if (err instanceof PrincipalLimit) return;
      // Infrastructure faults too close 1008 on sockets; the agent reconnects.
      if (err instanceof Refusal) c.res = upgrade!(refuse(err.closeCode, err.reason));
      else if (err instanceof ServiceError) c.res = upgrade!(refuse(CloseCode.POLICY, err.message));
    }
  };
}

class PrincipalLimit extends ServiceError {}

/** The per-principal upgrade gate, once authentication has said who is connecting. */
function admitPrincipal(ctx: RequestCtx, principal: string): void {
  const refused = ctx.sessions.gate.admitPrincipal(principal);
  if (refused) throw new PrincipalLimit(refused.code, refused.message, { retryAfterSec: 60 });
}

const userPrincipal = (ctx: RequestCtx) => `user:${ctx.actor?.userId ?? 'unknown'}`;
const fogPrincipal = (ctx: RequestCtx) => `fog:${agentOf(ctx).fogUuid}`;

function wsRoute<P extends string>(access: Access, path: P, summary: string, request: Record<string, unknown>) {
  const route = defineRoute(access, { method: 'get', path, tags, summary, request, responses: { ...switching, ...upgradeRequired } });
  (route.middleware as MiddlewareHandler<HonoEnv>[]).unshift(socketFront());
  return route;
}

function requireUpgrade(c: Context<HonoEnv>) {
  const upgrade = c.env?.upgrade;
  if (!upgrade || !isUpgradeRequest(c.req.raw)) {
    throw new ServiceError('UPGRADE_REQUIRED', `${c.req.path} is a WebSocket endpoint: connect with "Upgrade: websocket"`);
  }
  return upgrade;
}

// ---- user side ----

const userRoutes = {
  exec: wsRoute(
    rbac('execSessions', 'get', 'microserviceUuid'),
    '/api/v3/microservices/exec/{microserviceUuid}',
    'Interactive exec into an application microservice',
    { params: Ms, query: TokenQuery },
  ),
  systemExec: wsRoute(
    rbac('systemExecSessions', 'get', 'microserviceUuid'),
    '/api/v3/microservices/system/exec/{microserviceUuid}',
    'Interactive exec into a system microservice',
    { params: Ms, query: TokenQuery },
  ),
  systemLogs: wsRoute(
    rbac('systemLogs', 'get', 'uuid'),
    '/api/v3/microservices/system/{uuid}/logs',
    'Log stream of a system microservice',
    { params: Uuid, query: LogQuery },
  ),
  logs: wsRoute(rbac('logs', 'get', 'uuid'), '/api/v3/microservices/{uuid}/logs', 'Log stream of an application microservice', {
    params: Uuid,
    query: LogQuery,
  }),
  fogLogs: wsRoute(rbac('systemLogs', 'get', 'uuid'), '/api/v3/iofog/{uuid}/logs', 'Log stream of a fog (the agent itself)', {
    params: Uuid,
    query: LogQuery,
  }),
};

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

function tailConfig(c: Context<HonoEnv>, max: number): TailConfig {
  const q = (k: string) => c.req.query(k);
  let lines = 100;
  const tail = q('tail');
  if (tail !== undefined) {
    if (!/^\d+$/.test(tail) || Number(tail) < 1)
      throw new Refusal(CloseCode.POLICY, `Invalid tail parameter. Must be between 1 and ${max}.`);
    if (Number(tail) > max) throw new Refusal(CloseCode.POLICY, `Tail exceeds maximum of ${max} lines.`);
    lines = Number(tail);
  }
  const since = q('since') ?? null;
  const until = q('until') ?? null;
  if (since !== null && !ISO.test(since)) throw new Refusal(CloseCode.POLICY, 'Invalid since format. Expected ISO 8601.');
  if (until !== null && !ISO.test(until)) throw new Refusal(CloseCode.POLICY, 'Invalid until format. Expected ISO 8601.');
  return { lines, follow: q('follow') !== 'false', since, until };
}

/**
 * The handlers of one session socket (either half): counted in its principal's open sockets, audited on connect and
 * close, attached to its session once the manager has it; messages that arrive before that are kept
 * (bounded) and replayed, a close that arrives before that ends the session as soon as it exists.
 */
function sessionSocket(
  ctx: RequestCtx,
  o: {
    path: string;
    endpointType: 'user' | 'agent';
    actor: string;
    /** Whose open-socket count this socket adds to. */
    principal: string;
    resourceId: string;
    earlyLimit: number;
    attach: (half: Half) => Promise<Session | undefined>;
    message: (s: Session, data: Uint8Array | string) => void;
    closed: (s: Session, half: Half) => void;
  },
): WsHandlers {
  const manager = ctx.sessions;
  let session: Session | undefined;
  let closed = false;
  const early: Array<Uint8Array | string> = [];
  let half: Half | undefined;
  return {
    open(peer: WsPeer) {
      manager.gate.socketOpened(o.principal);
      const h: Half = { peer, actor: o.actor, ip: ctx.ip, path: o.path };
      half = h;
      manager.audit.record('WS_CONNECT', o.endpointType, h, o.resourceId);
      o.attach(h)
        .then((s) => {
          session = s;
          if (!s) return;
          if (closed) return o.closed(s, h);
          for (const m of early.splice(0)) o.message(s, m);
        })
        .catch((err) => {
          ctx.logger.warn('session socket could not start', { path: o.path, endpointType: o.endpointType, err: String(err) });
          peer.close(1002, 'Internal server error');
        });
    },
    message(data) {
      if (session) o.message(session, data);
      else if (early.length < o.earlyLimit) early.push(data);
    },
    close(code) {
      closed = true;
      manager.gate.socketClosed(o.principal);
      if (half) manager.audit.record('WS_DISCONNECT', o.endpointType, half, o.resourceId, code);
      if (session && half) o.closed(session, half);
    },
  };
}

function userSocket(
  ctx: RequestCtx,
  path: string,
  spec: { kind: SessionKind; target: SessionTarget; msUuid: string | null; fogUuid: string; tail?: TailConfig },
): WsHandlers {
  const m = ctx.sessions;
  return sessionSocket(ctx, {
    path,
    endpointType: 'user',
    actor: ctx.actor?.username ?? 'unknown',
    principal: userPrincipal(ctx),
    resourceId: spec.msUuid ?? spec.fogUuid,
    earlyLimit: 100,
    attach: (h) => m.openUser(spec, h),
    message: (s, d) => m.userMessage(s, d),
    closed: (s) => m.userClosed(s),
  });
}

// ---- agent side ----

const AgentMs = z.object({ microserviceUuid: z.string().min(1).max(64), sessionId: z.string().min(1).max(255) });
const AgentFog = z.object({ iofogUuid: z.string().min(1).max(64), sessionId: z.string().min(1).max(255) });
const agentAccess: Access = { kind: 'agent' };
const agentRoutes = {
  exec: wsRoute(agentAccess, '/api/v3/agent/exec/microservice/{microserviceUuid}/{sessionId}', 'Agent half of an exec session', {
    params: AgentMs,
  }),
  msLogs: wsRoute(
    agentAccess,
    '/api/v3/agent/logs/microservice/{microserviceUuid}/{sessionId}',
    'Agent half of a microservice log session',
    { params: AgentMs },
  ),
  fogLogs: wsRoute(agentAccess, '/api/v3/agent/logs/iofog/{iofogUuid}/{sessionId}', 'Agent half of a node log session', {
    params: AgentFog,
  }),
};

function agentSocket(ctx: RequestCtx, path: string, row: Parameters<RequestCtx['sessions']['attachAgent']>[0]): WsHandlers {
  const m = ctx.sessions;
  return sessionSocket(ctx, {
    path,
    endpointType: 'agent',
    actor: agentOf(ctx).fogUuid,
    principal: fogPrincipal(ctx),
    resourceId: row.microserviceUuid ?? row.fogUuid,
    earlyLimit: 1000,
    attach: (h) => m.attachAgent(row, h),
    message: (s, d) => m.agentMessage(s, d),
    closed: (s, h) => m.agentClosed(s, h),
  });
}

export function registerSessions(app: App): void {
  const user = (kind: SessionKind, target: SessionTarget, system: boolean) => async (c: Context<HonoEnv>) => {
    const upgrade = requireUpgrade(c);
    const ctx = c.get('ctx');
    admitPrincipal(ctx, userPrincipal(ctx));
    const uuid = c.req.param('microserviceUuid') ?? c.req.param('uuid')!;
    const tail = kind === 'log' ? tailConfig(c, ctx.config.ws.tailMaxLines) : undefined;
    const { fogUuid } = target === 'fog' ? await runningFog(ctx, uuid) : await runningMicroservice(ctx, uuid, system);
    return upgrade(userSocket(ctx, c.req.path, { kind, target, msUuid: target === 'fog' ? null : uuid, fogUuid, tail }));
  };
  // More specific paths first: the first route that matches serves the upgrade.
  app.openapi(userRoutes.systemExec, user('exec', 'microservice', true) as never);
  app.openapi(userRoutes.exec, user('exec', 'microservice', false) as never);
  app.openapi(userRoutes.systemLogs, user('log', 'microservice', true) as never);
  app.openapi(userRoutes.logs, user('log', 'microservice', false) as never);
  app.openapi(userRoutes.fogLogs, user('log', 'fog', false) as never);

  const agent = (kind: SessionKind, target: SessionTarget) => async (c: Context<HonoEnv>) => {
    const upgrade = requireUpgrade(c);
    const ctx = c.get('ctx');
    admitPrincipal(ctx, fogPrincipal(ctx));
    const sessionId = c.req.param('sessionId')!;
    const resource = target === 'fog' ? c.req.param('iofogUuid')! : c.req.param('microserviceUuid')!;
    const row = await sessionForAgent(ctx, agentOf(ctx).fogUuid, { sessionId, kind, target, resource });
    return upgrade(agentSocket(ctx, c.req.path, row));
  };
  app.openapi(agentRoutes.exec, agent('exec', 'microservice') as never);
  app.openapi(agentRoutes.msLogs, agent('log', 'microservice') as never);
  app.openapi(agentRoutes.fogLogs, agent('log', 'fog') as never);
}

/** Upgrades to paths no route serves are accepted and closed 1008 `Route not registered`, as upstream does, so clients see a close reason. */
export function refuseUnknownUpgrade(c: Context<HonoEnv>): Response | undefined {
  const upgrade = c.env?.upgrade;
  if (upgrade && isUpgradeRequest(c.req.raw)) {
    c.get('ctx').sessions.gate.upgradeFailed(c.get('ctx').ip);
    return upgrade(refuse(CloseCode.POLICY, 'Route not registered'));
  }
  return undefined;
}
export { userRoutes as sessionUserRoutes, agentRoutes as sessionAgentRoutes };
