import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { jsonTextTooDeep, nestingMessage } from './lib/nesting';
import { VERSION } from './version';
import { requestCtx, type AppCtx } from './context';
import { CachingRouter } from './http/router';
import { ServiceError } from './errors';
import { classify } from './http/admission';
import { selectClientIp, type TrustProxy } from './http/client-ip';
import { describeZodError, makeOnError, sendError } from './http/errors';
import type { App, HonoEnv } from './http/types';
import { registerAgent } from '../routes/agent/index';
import { registerAuthAdmin } from '../routes/auth/index';
import { registerFogs } from '../routes/fogs/index';
import { registerCatalog } from '../routes/catalog/index';
import { registerApplications } from '../routes/applications/index';
import { registerMicroservices } from '../routes/microservices/index';
import { registerSystemMicroservices } from '../routes/microservices/system';
import { registerConfig } from '../routes/config/index';
import { registerDocs } from '../routes/docs/index';
import { registerEvents } from '../routes/events/index';
import { registerGroups } from '../routes/groups/index';
import { registerHealth } from '../routes/health/index';
import { registerOidc } from '../routes/oidc/index';
import { registerOAuth } from '../routes/oauth/index';
import { registerRbac } from '../routes/rbac/index';
import { registerNats } from '../routes/nats/index';
import { registerCertificates } from '../routes/certificates/index';
import { registerServices } from '../routes/services/index';
import { refuseUnknownUpgrade, registerSessions } from '../routes/sessions/index';
import { isUpgradeRequest } from './ws/types';
import { registerResources } from '../routes/resources/index';
import { registerTemplates } from '../routes/templates/index';
import { registerUser } from '../routes/user/index';
import { registerUsers } from '../routes/users/index';

export const API_INFO = {
  title: 'Controller API',
  version: VERSION,
  description:
    "Edge-fleet control plane, wire-compatible with the ioFog / Datasance Controller v3.8. Authenticate with `POST /api/v3/user/login`, then send `Authorization: Bearer <accessToken>` — here: **Authorize**, and paste the token into `bearerAuth` (`agentToken` is Edgelet's, not yours). Type in the filter box to find a resource. Errors are JSON `{name, message, code, requestId}`.",
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const EXPOSED_HEADERS = 'x-request-id,X-Timestamp,Retry-After';

/**
 * Sets headers on the response a handler produced. Hono's c.header() after the handler has returned
 * rebuilds the Response from its body — on Node that materializes @hono/node-server's lightweight
 * Response into an undici one with a body stream, twice per call, which profiling showed as one of the
 * largest per-request costs of the agent routes. On Node the headers go straight onto the outgoing
 * ServerResponse, which merges them when the response is written: reading `c.res.headers` would turn
 * the handler's plain header record into an undici Headers object, a measurable cost on every request.
 * A response whose headers are immutable (one returned by fetch(), Response.redirect()) still takes
 * Hono's path.
 */
function stampHeaders(c: Context<HonoEnv>, headers: Record<string, string>): void {
  const outgoing = c.env?.outgoing;
  if (outgoing && !outgoing.headersSent) {
    for (const name in headers) outgoing.setHeader(name, headers[name]!);
    return;
  }
  try {
    const target = c.res.headers;
    for (const name in headers) target.set(name, headers[name]!);
  } catch {
    for (const name in headers) c.header(name, headers[name]);
  }
}

function clientIp(
  c: { req: { header(n: string): string | undefined }; env: HonoEnv['Bindings'] | undefined },
  trust: TrustProxy,
): string | undefined {
  const peer = c.env?.clientIp;
  if (trust.kind === 'none') return peer;
  return selectClientIp(trust, { peer, forwardedFor: c.req.header('x-forwarded-for'), realIp: c.req.header('x-real-ip') });
}

/** Patterns of the registered routes, for telling 405 (path exists, other method) from 404. */
function methodIndex(app: App) {
  let index: Array<{ method: string; re: RegExp }> | undefined;
  return (path: string): string[] => {
    index ??= app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({
        method: r.method,
        re: new RegExp(
          `^${r.path
            .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
            .replace(/\/:[^/]+/g, '/[^/]+')
            .replace(/\/$/, '')}/?$`,
        ),
      }));
    return [...new Set(index.filter((r) => r.re.test(path)).map((r) => r.method))];
  };
}

/** The one app factory: every runtime entry and every test builds the app through here. */
/** `tlsCertPem`: the certificate `GET /agent/cert` hands to agents, when the server runs TLS. */
export function createApp(appCtx: AppCtx, opts: { tlsCertPem?: string } = {}): App {
  const app: App = new OpenAPIHono<HonoEnv>({
    strict: false,
    router: new CachingRouter(),
    defaultHook: (result, c) => {
      if (!result.success) {
        const target = (result as { target?: string }).target;
        const prefix = target === 'query' ? 'query' : target === 'param' ? 'path' : target === 'header' ? 'header' : undefined;
        return sendError(c as never, new ServiceError('VALIDATION_FAILED', describeZodError(result.error, prefix)));
      }
    },
  });

  const slowMs = appCtx.config.logSlowRequestMs;
  // Shed requests are logged at debug one by one and summed up at warn at most every 10 s.
  let shedSince = 0;
  let shedLoggedAt = 0;
  const noteShed = () => {
    shedSince++;
    const now = appCtx.clock.now();
    if (now - shedLoggedAt < 10_000) return;
    const { shed } = appCtx.admission;
    appCtx.logger.warn('overloaded: shedding requests with 503 + Retry-After', {
      shedSinceLastLog: shedSince,
      lagMs: Math.round(appCtx.admission.lagMs()),
      ...shed,
    });
    shedSince = 0;
    shedLoggedAt = now;
  };

  app.use('*', async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id') ?? c.req.header('request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : appCtx.ids.uuid();
    c.set('requestId', requestId);
    const ctx = requestCtx(appCtx, requestId, clientIp(c, appCtx.config.trustProxy));
    c.set('ctx', ctx);
    const cls = classify(c.req.path, c.req.method);
    const refused = appCtx.admission.enter(cls);
    try {
      if (refused) {
        noteShed();
        c.res = sendError(c, refused);
      } else {
        await next();
      }
    } finally {
      if (!refused) appCtx.admission.leave(cls);
      const headers: Record<string, string> = {
        'x-request-id': requestId,
        'X-Timestamp': String(appCtx.clock.now()),
        // What cors({ origin: '*' }) sets on every non-preflight response (see below).
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Expose-Headers': EXPOSED_HEADERS,
      };
      // Shutting down: the client must not send another request on this connection, and the
      // runtime closes it once this answer is out (a WebSocket handshake is left alone).
      if (!appCtx.state.accepting && c.res.status !== 101 && !isUpgradeRequest(c.req.raw)) headers.Connection = 'close';
      stampHeaders(c, headers);
      const ms = Math.round((performance.now() - started) * 10) / 10;
      // The path only — query strings can carry tokens (`?token=` on WebSocket routes).
      // Agent polls are the bulk of the traffic: at info only when they fail or are slow.
      const quiet = cls === 'agent' && c.res.status < 400 && ms < slowMs;
      (quiet || refused ? appCtx.logger.debug : appCtx.logger.info).call(appCtx.logger, 'request', {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms,
        requestId,
      });
      appCtx.metrics.httpRequests.add(1, { method: c.req.method, status: Math.floor(c.res.status / 100) * 100 });
      appCtx.metrics.httpDuration.record(ms, { method: c.req.method });
    }
  });

  // Preflights only: hono's cors() sets its headers through c.res before the handler runs, which makes
  // Hono rebuild the handler's Response; the request middleware above stamps the same two headers.
  const preflight = cors({ origin: '*', exposeHeaders: EXPOSED_HEADERS.split(','), maxAge: 600 });
  app.use('*', (c, next) => (c.req.method === 'OPTIONS' ? preflight(c, next) : next()));
  const maxBody = appCtx.config.maxJsonBodyBytes;
  // The rest of an over-limit body is never read, so the connection cannot carry another request:
  // `Connection: close` tells the client, and the runtime closes the socket after the answer instead
  // of waiting on it for a next request that would sit behind the unread bytes.
  const tooLarge = () =>
    new ServiceError('PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${maxBody} bytes`, { headers: { Connection: 'close' } });
  const limitBody = bodyLimit({
    maxSize: maxBody,
    onError: () => {
      throw tooLarge();
    },
  });
  app.use('*', (c, next) => {
    // hono's bodyLimit starts by reading c.req.raw.body, which on Node turns @hono/node-server's
    // lightweight request into a full undici Request with a body stream (and the handler then reads
    // the body through that stream). A GET/HEAD has no body, and a declared length within the limit
    // is all bodyLimit would check, so those skip it; chunked and oversized bodies still go through it.
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      // A declared length over the limit is refused before the body is touched (on Node, touching it
      // starts a stream that then holds the socket paused).
      if (Number.parseInt(length, 10) > maxBody) throw tooLarge();
      return next();
    }
    return limitBody(c, next);
  });
  // Nesting limit for JSON bodies, checked once here for every route: the text is read (Hono keeps it,
  // so the route's parser reuses it) and scanned before anything parses it. A body with no content type
  // is included because optional-body routes parse whatever text they get.
  app.use('*', async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    const type = c.req.header('content-type');
    if (type !== undefined && !/json/i.test(type)) return next();
    if (jsonTextTooDeep(await c.req.text())) throw new ServiceError('VALIDATION_FAILED', nestingMessage('body'));
    return next();
  });

  registerHealth(app);
  registerUser(app);
  registerUsers(app);
  registerGroups(app);
  registerAuthAdmin(app);
  registerFogs(app);
  registerApplications(app);
  registerSessions(app);
  registerSystemMicroservices(app);
  registerMicroservices(app);
  registerCatalog(app);
  registerEvents(app);
  registerConfig(app);
  registerResources(app);
  registerTemplates(app);
  registerRbac(app);
  registerNats(app);
  registerCertificates(app);
  registerServices(app);
  const tlsCertPem = opts.tlsCertPem;
  registerAgent(app, { tlsCertPem: async () => tlsCertPem });
  registerOidc(app);
  registerOAuth(app);
  let doc: unknown;
  registerDocs(app, () => (doc ??= openApiDocument(app)));

  app.openAPIRegistry.registerComponent('securitySchemes', 'agentToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'Agent routes only (Edgelet): an EdDSA JWT the agent signs per request with the key issued at provisioning (sub = fog uuid, unique jti). Operators leave this empty.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Operators: the accessToken from POST /api/v3/user/login (or the browser login). Paste it without the "Bearer " prefix.',
  });

  const methodsFor = methodIndex(app);
  app.notFound((c) => {
    const refused = refuseUnknownUpgrade(c);
    if (refused) return refused;
    const methods = methodsFor(c.req.path);
    if (methods.length > 0) {
      return sendError(
        c,
        new ServiceError('METHOD_NOT_ALLOWED', `Method ${c.req.method} is not allowed on ${c.req.path}; allowed: ${methods.join(', ')}`, {
          headers: { Allow: methods.join(', ') },
        }),
      );
    }
    return sendError(c, new ServiceError('ROUTE_NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`));
  });
  app.onError(makeOnError(appCtx.logger));
  return app;
}

/**
 * The docs UI lists tags in this order: by resource as an operator thinks of them, identity after the fleet,
 * and the agent contract (which operators never call) last. A test checks every operation's tag is listed.
 */
export const TAG_ORDER: Array<{ name: string; description: string }> = [
  { name: 'Controller', description: 'Health, status, the docs and the OpenAPI document' },
  { name: 'Fogs', description: 'Edge nodes (agents): create, configure, provisioning keys, commands, HAL' },
  { name: 'Applications', description: 'Applications and their microservices, in JSON or YAML (kind: Application)' },
  { name: 'Application templates', description: 'Parameterised applications, deployed with variables' },
  { name: 'Microservices', description: 'Microservices of applications: images, ports, volumes, config, start/stop' },
  { name: 'System microservices', description: 'The platform microservices on system fogs (router, NATS, debug)' },
  { name: 'Catalog', description: 'Reusable microservice images' },
  { name: 'Registries', description: 'Container registries the agents pull from' },
  { name: 'Secrets', description: 'Secrets, encrypted at rest' },
  { name: 'Config maps', description: 'Configuration data for microservices' },
  { name: 'Volume mounts', description: 'Secrets and config maps mounted into microservices' },
  { name: 'Services', description: 'Services exposed through the router' },
  { name: 'Router', description: 'The default router' },
  { name: 'Certificates', description: 'Certificate authorities and certificates' },
  { name: 'NATS', description: 'NATS accounts, users, rules and credentials' },
  { name: 'Sessions (WebSocket)', description: 'Exec and log sessions to microservices and fogs' },
  { name: 'Events', description: 'Audit events' },
  { name: 'Config', description: 'Controller settings' },
  { name: 'Cluster', description: 'Controller replicas' },
  { name: 'Capabilities', description: 'What this Controller supports' },
  { name: 'User', description: 'Your own account: login, tokens, password, MFA' },
  { name: 'Users', description: 'User administration' },
  { name: 'Groups', description: 'Groups (built-in roles)' },
  { name: 'Auth', description: 'Signing keys and identity administration' },
  { name: 'Roles', description: 'Custom RBAC roles' },
  { name: 'Role bindings', description: 'Who holds which role' },
  { name: 'Service accounts', description: "Microservices' identities" },
  { name: 'OIDC', description: 'The embedded OpenID Connect issuer' },
  { name: 'Agent (Edgelet)', description: 'The agent contract: called by Edgelet with its own signed tokens, not by operators' },
];

export function openApiDocument(app: App) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: API_INFO,
    servers: [{ url: '/', description: 'This Controller' }],
    tags: TAG_ORDER,
  });
}
