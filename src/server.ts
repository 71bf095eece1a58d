import { isPostgresUrl } from '../db/client';
import { createApp } from './app';
import { bootstrap } from './boot';
import { ConfigError, loadConfig } from './config';
import { startScheduler } from './jobs/scheduler';
import { heartbeat } from './services/cluster/cluster';
import { createLogger, errorFields } from './lib/logger';
import { ensureDbFolder } from './runtime/fs';
import { enableStatementCache } from './runtime/statement-cache';
import { offloadArgon2 } from './auth/passwords';
import type { RuntimeAdapter } from './runtime/types';
import { jobs } from '../workers/index';

/**
 * The long-running server on Node, Deno or Bun: config → storage → app → listen → jobs,
 * and an orderly shutdown on SIGTERM/SIGINT.
 */
export async function runServer(rt: RuntimeAdapter): Promise<void> {
  let config;
  try {
    config = loadConfig(rt.env());
  } catch (err) {
    if (err instanceof ConfigError) {
      rt.stderr(err.message);
      rt.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const argon2 = rt.argon2?.();
  offloadArgon2(argon2);
  if (config.db.url.startsWith('file:') && !enableStatementCache())
    logger.warn('prepared-statement cache unavailable; continuing without it');
  let ctx;
  try {
    await ensureDbFolder(config.db.url);
    // The PostgreSQL driver is loaded only for a PostgreSQL URL (it is a chunk of its own in the bundle).
    const pgDriver = isPostgresUrl(config.db.url) ? (await import('../db/pg-driver')).pgDriver : undefined;
    ctx = await bootstrap({
      config,
      logger,
      createClient: rt.createClient,
      pgDriver,
      keyFiles: rt.keyFiles,
      ed25519: rt.ed25519,
      walCheckpointer: rt.walCheckpointer,
    });
  } catch (err) {
    logger.error('start-up failed', errorFields(err));
    rt.stderr(`start-up failed: ${(err as Error).message}`);
    rt.exit(1);
  }
  const tls = config.tls ? await rt.readTls(config.tls) : undefined;
  // What agents pin (GET /agent/cert): the intermediate CA when one is configured, as upstream serves;
  // otherwise the certificate itself (a self-signed certificate is its own trust root).
  const agentCertPem = config.tls?.intermediate ? (await rt.readTls({ ...config.tls, cert: config.tls.intermediate })).cert : tls?.cert;
  const app = createApp(ctx, { tlsCertPem: agentCertPem });
  let server;
  try {
    server = await rt.serve((req, env) => app.fetch(req, env), {
      port: config.port,
      host: config.host,
      tls,
      ws: { maxPayload: config.ws.maxPayload, pingIntervalMs: config.ws.pingIntervalMs },
    });
  } catch (err) {
    rt.stderr(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
    await ctx.store.close();
    rt.exit(1);
  }
  const scheduler = config.jobsEnabled ? startScheduler(ctx, jobs) : undefined;
  // Listed in /cluster/controllers from the start, not only after the first 30 s heartbeat.
  heartbeat(ctx).catch((err) => logger.warn('could not register this replica in /cluster/controllers', { err: String(err) }));
  ctx.agentJtis.start(ctx);
  ctx.agentActivity.start(ctx);
  ctx.changeIndex.start(ctx.store.db, logger);
  ctx.sessions.start();
  ctx.admission.start();
  logger.info('controller listening', {
    runtime: rt.name,
    url: `${tls ? 'https' : 'http'}://${config.host}:${server.port}`,
    db: config.db.url.startsWith('file:') ? config.db.url : config.db.url.replace(/\/\/.*@/, '//***@'),
    version: ctx.version,
    agentSignatures: rt.ed25519?.backend?.() ?? 'webcrypto',
    passwordHashing: argon2 ? 'thread' : 'event loop',
    startupMs: Date.now() - ctx.startedAt,
    // This process's lease owner id (job_run.owner, the task tables' leader), for reading those tables.
    instance: ctx.instanceId,
  });

  let stopping = false;
  rt.onShutdownSignal(async (signal) => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(
      () => {
        logger.error('shutdown timed out; exiting', { timeoutMs: config.shutdownTimeoutMs });
        rt.exit(1);
      },
      config.shutdownTimeoutMs + config.ws.drainTimeoutMs + 1000,
    );
    logger.info('shutting down', { signal });
    // From here every HTTP response carries `Connection: close` (see createApp).
    ctx.state.accepting = false;
    try {
      // HTTP and WebSocket sessions drain side by side: the listener stops accepting and keep-alive
      // connections end after their current request now, not after the sessions' own drain
      // (CLOSE/1001 to every socket, rows cleaned, up to WS_DRAIN_TIMEOUT_MS), which used to hold
      // keep-alive clients on a server that was going away.
      const http = server.close(Math.max(100, config.shutdownTimeoutMs - 1000));
      await ctx.sessions.drain();
      server.dropWebSockets();
      await http;
      await scheduler?.stop();
      await ctx.agentJtis.stop(ctx);
      await ctx.agentActivity.stop(ctx);
      ctx.changeIndex.stop();
      ctx.admission.stop();
      await ctx.store.close();
      clearTimeout(deadline);
      logger.info('stopped', { signal });
      rt.exit(0);
    } catch (err) {
      logger.error('shutdown failed', errorFields(err));
      rt.exit(1);
    }
  });
}
