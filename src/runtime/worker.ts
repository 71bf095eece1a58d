// Entry of dist/worker.mjs (Cloudflare Workers, see wrangler.toml). The database is a remote libSQL
// server (DB_URL libsql://… or https://…); ENCRYPTION_KEY must be set as a secret, there is no disk.
import { createClient } from '@libsql/client';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { createApp } from '../app';
import { bootstrap } from '../boot';
import { ConfigError, loadConfig } from '../config';
import type { AppCtx } from '../context';
import { runTick } from '../jobs/runner';
import { createLogger, errorFields } from '../lib/logger';
import { jobs } from '../../workers/index';
import type { HonoEnv } from '../http/types';
import { VERSION } from '../version';

type WorkerEnv = Record<string, string | undefined>;
interface ExecutionContext {
  waitUntil(p: Promise<unknown>): void;
}
interface ScheduledController {
  cron: string;
  scheduledTime: number;
}

let booting: Promise<{ ctx: AppCtx; app: OpenAPIHono<HonoEnv> }> | undefined;

/** One context per isolate, created on first use; a failed start is retried on the next event. */
function boot(env: WorkerEnv) {
  booting ??= (async () => {
    const config = loadConfig(env);
    const logger = createLogger(config.logLevel);
    const ctx = await bootstrap({ config, logger, createClient });
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

export default {
  async fetch(req: Request, env: WorkerEnv): Promise<Response> {
    started ??= Date.now();
    // Liveness must answer even when the database cannot be reached.
    const url = new URL(req.url);
    if (req.method === 'GET' && (url.pathname === '/api/v3/live' || url.pathname === '/api/v3/live/')) {
      try {
        const { app } = await boot(env);
        return app.fetch(req, { clientIp: req.headers.get('cf-connecting-ip') ?? undefined });
      } catch {
        const now = Date.now();
        return Response.json({
          status: 'online',
          timestamp: now,
          uptimeSec: Math.floor((now - started) / 1000),
          versions: { controller: VERSION, ecnViewer: null },
        });
      }
    }
    try {
      const { app } = await boot(env);
      return await app.fetch(req, { clientIp: req.headers.get('cf-connecting-ip') ?? undefined });
    } catch (err) {
      return startupFailure(err);
    }
  },

  /** Cron triggers: run the jobs whose schedule is this trigger's expression, with the same DB lease. */
  async scheduled(event: ScheduledController, env: WorkerEnv, execCtx: ExecutionContext): Promise<void> {
    started ??= Date.now();
    // Awaited (not passed to waitUntil as well): one failure, one log entry, one "exception" outcome.
    void execCtx;
    const { ctx } = await boot(env);
    for (const job of jobs.filter((j) => j.schedule === event.cron)) {
      try {
        await runTick(ctx, job, event.scheduledTime);
      } catch (err) {
        ctx.logger.error('scheduled job failed', { job: job.name, ...errorFields(err) });
      }
    }
  },
};
