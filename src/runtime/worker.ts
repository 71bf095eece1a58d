// Entry of dist/worker.mjs (Cloudflare Workers, see wrangler.toml). The database is PostgreSQL over
// TCP (DB_URL postgres://…, directly or through Hyperdrive) or a remote libSQL server (libsql://… or
// https://…); there is no disk, so ENCRYPTION_KEY must be set as a secret.
//
// One context per isolate, as one per process on the server, with three differences that workerd's
// request model makes necessary (each explained where it is done):
// - PostgreSQL connections are opened per request and closed after it (pg-request-scope.ts);
// - nothing runs on timers: what the server flushes on timers is flushed after events (worker-upkeep.ts);
// - each status report is committed by its own request (no group commit across requests).
import { createClient } from '@libsql/client';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { pgDriver } from '../../db/pg-driver';
import { createApp } from '../app';
import { bootstrap } from '../boot';
import { ConfigError, loadConfig } from '../config';
import type { AppCtx } from '../context';
import { runTick } from '../jobs/runner';
import { createLogger, errorFields } from '../lib/logger';
import { jobs } from '../../workers/index';
import type { HonoEnv } from '../http/types';
import { VERSION } from '../version';
import { PgRequestScope, requestScopedPg } from './pg-request-scope';
import { IsolateUpkeep, PerRequestStatusWriter } from './worker-upkeep';

/** The Worker's bindings: text variables and secrets, and objects such as a Hyperdrive binding. */
type WorkerEnv = Record<string, unknown>;

/**
 * The variables the config schema reads. A Hyperdrive binding named HYPERDRIVE stands for DB_URL when
 * DB_URL is not set: its connection string is made by the runtime (a pooler next to the Worker, or
 * `localConnectionString` under wrangler dev), so it cannot be a variable of its own.
 */
function variables(env: WorkerEnv): Record<string, string | undefined> {
  const vars: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') vars[k] = v;
  const hyperdrive = env.HYPERDRIVE as { connectionString?: unknown } | undefined;
  if (!vars.DB_URL?.trim() && typeof hyperdrive?.connectionString === 'string') vars.DB_URL = hyperdrive.connectionString;
  return vars;
}
interface ExecutionContext {
  waitUntil(p: Promise<unknown>): void;
}
interface ScheduledController {
  cron: string;
  scheduledTime: number;
}

let booting: Promise<{ ctx: AppCtx; app: OpenAPIHono<HonoEnv> }> | undefined;
const pg = requestScopedPg(pgDriver);
const upkeep = new IsolateUpkeep();

/** One context per isolate, created on first use; a failed start is retried on the next event. */
function boot(env: WorkerEnv) {
  booting ??= (async () => {
    // One platform task at a time: an event has at most MAX_CONNECTIONS_PER_REQUEST connections and a
    // short CPU budget, and the cron turn comes once a minute anyway.
    const config = { ...loadConfig(variables(env)), reconcileConcurrency: 1 };
    const logger = createLogger(config.logLevel);
    const ctx = await bootstrap({ config, logger, createClient, pgDriver: pg.driver });
    ctx.statusWriter = new PerRequestStatusWriter(ctx.store.db);
    return { ctx, app: createApp(ctx) };
  })().catch((err) => {
    booting = undefined;
    throw err;
  });
  return booting;
}

function startupFailure(err: unknown): Response {
  const message = err instanceof ConfigError ? err.message : `Controller is not ready: ${(err as Error)?.message ?? 'start-up failed'}`;
  return Response.json(
    { name: 'ServiceUnavailable', message, code: 'CONTROLLER_NOT_READY', requestId: crypto.randomUUID(), retryable: true },
    { status: 503, headers: { 'Retry-After': '5' } },
  );
}

// Set on the first event, not at module load: Workers freeze the clock during global-scope
// evaluation (Date.now() is 0 there), so a module-level timestamp would make uptime ~56 years.
let started: number | undefined;

function liveAnswer(): Response {
  const now = Date.now();
  return Response.json({
    status: 'online',
    timestamp: now,
    uptimeSec: Math.floor((now - (started ?? now)) / 1000),
    versions: { controller: VERSION, ecnViewer: null },
  });
}

/** The answer to one request, and the context it was served with (none when the start failed). */
async function serve(req: Request, env: WorkerEnv): Promise<{ res: Response; ctx?: AppCtx }> {
  const url = new URL(req.url);
  const live = req.method === 'GET' && (url.pathname === '/api/v3/live' || url.pathname === '/api/v3/live/');
  try {
    const { ctx, app } = await boot(env);
    return { res: await app.fetch(req, { clientIp: req.headers.get('cf-connecting-ip') ?? undefined }), ctx };
  } catch (err) {
    // Liveness must answer even when the database cannot be reached.
    return { res: live ? liveAnswer() : startupFailure(err) };
  }
}

/**
 * Calls `after` once the answer has been sent, body included: paged lists (src/http/stream.ts) read
 * their later pages from the database while the body streams, so the request's connections must stay
 * open until then.
 */
function whenSent(res: Response, execCtx: ExecutionContext, after: () => Promise<void>): Response {
  if (!res.body) {
    execCtx.waitUntil(after());
    return res;
  }
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  // A client that goes away mid-body fails the pipe; the clean-up runs all the same.
  execCtx.waitUntil(
    res.body
      .pipeTo(writable)
      .catch(() => {})
      .then(after),
  );
  return new Response(readable, res);
}

export default {
  fetch(req: Request, env: WorkerEnv, execCtx: ExecutionContext): Promise<Response> {
    started ??= Date.now();
    const scope = new PgRequestScope();
    return pg.run(scope, async () => {
      const { res, ctx } = await serve(req, env);
      return whenSent(res, execCtx, async () => {
        if (ctx) await upkeep.afterEvent(ctx).catch((err) => ctx.logger.warn('upkeep after a request failed', errorFields(err)));
        await scope.end();
      });
    });
  },

  /** Cron triggers: run the jobs whose schedule is this trigger's expression, with the same DB lease. */
  async scheduled(event: ScheduledController, env: WorkerEnv, execCtx: ExecutionContext): Promise<void> {
    started ??= Date.now();
    // Awaited (not passed to waitUntil as well): one failure, one log entry, one "exception" outcome.
    void execCtx;
    const scope = new PgRequestScope();
    await pg.run(scope, async () => {
      try {
        const { ctx } = await boot(env);
        for (const job of jobs.filter((j) => j.schedule === event.cron)) {
          try {
            await runTick(ctx, job, event.scheduledTime);
          } catch (err) {
            ctx.logger.error('scheduled job failed', { job: job.name, ...errorFields(err) });
          }
        }
        await upkeep.afterEvent(ctx).catch((err) => ctx.logger.warn('upkeep after a cron event failed', errorFields(err)));
      } finally {
        await scope.end();
      }
    });
  },
};
