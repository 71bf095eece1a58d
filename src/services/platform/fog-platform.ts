import { and, asc, eq, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import { application, catalogItem, fog, fogPlatformStatus, fogPlatformTask, microservice, volumeMount } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import { claimOldestPg, isPg } from '../../../db/dialect';
import type { AppCtx } from '../../context';
import { ServiceError, notFound } from '../../errors';
import { errorFields } from '../../lib/logger';
import { raiseFlags } from '../changes/flags';
import { deleteCertificate, ensureCa } from '../pki/certificates';
import { ensureMicroserviceAccount } from '../rbac/objects';
import { removeOrMark } from '../microservices/crud';
import { ensureSystemApplication } from '../microservices/system';
import { bridgesFor } from './services';
import { ensureIssuedCertificate, ensureLinkedMount } from './material';
import { reconcileNats, removeNats, syncNatsAccess } from './nats-platform';
import { fogRowByUuid } from '../shared/fog-row';
import { enqueueFogReconcile, type Phase } from '../changes/reconcile-queue';
import { loopTurns, yieldToEventLoop } from '../../lib/yield';

/**
 * The fog platform (see docs/architecture.md#the-fog-platform): every fog's router system microservice with its certificates and
 * configuration, reconciled asynchronously from a per-fog work queue. Fog create/update/delete enqueue
 * a task in the same transaction as the change; the `platform-reconcile-worker` job claims tasks with
 * a lease (exclusive across instances), reconciles idempotently in short separate transactions (key
 * generation and signing happen outside them), and records the outcome in `fog_platform_status`.
 * The fog's NATS server or leaf is reconciled in the same pass (nats-platform.ts).
 */

type FogRow = typeof fog.$inferSelect;
/** Fogs per query (and per enqueue transaction) of the periodic sweep. */
const SWEEP_CHUNK = 500;

const LEASE_MS = 300_000;
const DELETE_LEASE_MS = 60_000;
export const MAX_ATTEMPTS = 10;
const BACKOFF_BASE_MS = 5_000;
/** SKUPPER_PLATFORM / siteConfig version: the distribution constant of this build. */
export const ROUTER_DISTRIBUTION = 'iofog';
const CERT_DIR = '/etc/skupper-router-certs';
const LOCAL_SANS = [
  'localhost',
  '127.0.0.1',
  'host.docker.internal',
  'host.containers.internal',
  'iofog',
  'service.local',
  'router.default.svc.bridge.local',
];

/** POST /iofog/:uuid/reconcile: a failed (or any) fog is retried now. */
export async function requestReconcile(ctx: AppCtx, fogUuid: string): Promise<void> {
  const [f] = await ctx.db
    .select({ uuid: fog.uuid, gen: fog.specGeneration, deleting: fog.deleteRequestedAt })
    .from(fog)
    .where(eq(fog.uuid, fogUuid))
    .limit(1);
  if (!f) throw notFound(`Fog ${fogUuid}`);
  await withTransaction(ctx, (tx) => enqueueFogReconcile(tx, fogUuid, f.deleting !== null ? 'delete' : 'manual-retry', f.gen));
}

/** `platformStatus` of GET /iofog and /iofog-list. */
export function platformStatusView(f: Pick<FogRow, 'specGeneration'>, s: typeof fogPlatformStatus.$inferSelect | undefined) {
  return {
    phase: (s?.phase ?? 'Pending') as Phase,
    generation: f.specGeneration,
    observedGeneration: s?.observedGeneration ?? 0,
    lastError: s?.lastError ?? null,
    lastTransitionAt: s ? new Date(s.lastTransitionAt).toISOString() : null,
    conditions: s ? (JSON.parse(s.conditions) as unknown[]) : [],
  };
}

// ---- the default router (GET/PUT /router) ----

/** The default router: the first system fog's interior router, where routers without named upstreams connect. */
export async function defaultRouterFog(ctx: AppCtx): Promise<FogRow | undefined> {
  const [f] = await ctx.db
    .select()
    .from(fog)
    .where(and(eq(fog.isSystem, true), eq(fog.routerMode, 'interior'), isNull(fog.deleteRequestedAt)))
    .orderBy(asc(fog.createdAt))
    .limit(1);
  return f;
}

export const routerView = (f: FogRow) => ({
  host: f.host ?? '',
  messagingPort: f.messagingPort,
  edgeRouterPort: f.edgeRouterPort ?? 45671,
  interRouterPort: f.interRouterPort ?? 55671,
});

// ---- the worker ----

/** Claims the oldest eligible task (CAS on the lease); undefined when there is none or another instance won. */
export async function claimTask(ctx: AppCtx): Promise<typeof fogPlatformTask.$inferSelect | undefined> {
  const now = ctx.clock.now();
  if (isPg(ctx.db)) {
    return claimOldestPg(ctx.db, fogPlatformTask, {
      key: fogPlatformTask.fogUuid,
      eligible: and(
        or(eq(fogPlatformTask.status, 'pending'), eq(fogPlatformTask.status, 'in_progress')),
        or(isNull(fogPlatformTask.nextAttemptAt), lte(fogPlatformTask.nextAttemptAt, now)),
        or(
          isNull(fogPlatformTask.claimedAt),
          and(eq(fogPlatformTask.reason, 'delete'), lt(fogPlatformTask.claimedAt, now - DELETE_LEASE_MS)),
          and(ne(fogPlatformTask.reason, 'delete'), lt(fogPlatformTask.claimedAt, now - LEASE_MS)),
        ),
      ),
      orderBy: fogPlatformTask.updatedAt,
      set: { status: 'in_progress', leaderUuid: ctx.controllerUuid, claimedAt: now, updatedAt: now },
    });
  }
  const candidates = await ctx.db
    .select()
    .from(fogPlatformTask)
    .where(
      and(
        or(eq(fogPlatformTask.status, 'pending'), eq(fogPlatformTask.status, 'in_progress')),
        or(isNull(fogPlatformTask.nextAttemptAt), lte(fogPlatformTask.nextAttemptAt, now)),
        or(isNull(fogPlatformTask.claimedAt), lt(fogPlatformTask.claimedAt, now - DELETE_LEASE_MS)),
      ),
    )
    .orderBy(asc(fogPlatformTask.updatedAt))
    .limit(8);
  for (const t of candidates) {
    const stale = now - (t.reason === 'delete' ? DELETE_LEASE_MS : LEASE_MS);
    const won = await withTransaction(ctx, async (tx) => {
      const r = await tx.db
        .update(fogPlatformTask)
        .set({ status: 'in_progress', leaderUuid: ctx.controllerUuid, claimedAt: now, updatedAt: now })
        .where(
          and(
            eq(fogPlatformTask.fogUuid, t.fogUuid),
            eq(fogPlatformTask.updatedAt, t.updatedAt),
            or(isNull(fogPlatformTask.claimedAt), lt(fogPlatformTask.claimedAt, stale)),
          ),
        );
      return r.rowsAffected > 0;
    });
    if (won) return { ...t, status: 'in_progress', leaderUuid: ctx.controllerUuid, claimedAt: now, updatedAt: now };
  }
  return undefined;
}

/** At most `max` tasks, one after another (tests and the drain below). Returns what happened to each fog. */
export async function processFogTasks(ctx: AppCtx, max = 1): Promise<{ reconciled: string[]; failed: string[] }> {
  const out = { reconciled: [] as string[], failed: [] as string[] };
  for (let i = 0; i < max; i++) {
    const task = await claimTask(ctx);
    if (!task) break;
    await processTask(ctx, task, out);
  }
  return out;
}

async function processTask(
  ctx: AppCtx,
  task: typeof fogPlatformTask.$inferSelect,
  out: { reconciled: string[]; failed: string[] },
): Promise<void> {
  try {
    await reconcileFog(ctx, task.fogUuid, task.reason === 'delete');
    await finishTask(ctx, task, undefined);
    // A fleet-wide change reconciles thousands of fogs in a minute: one info line each would be the bulk
    // of the log. The outcome is in the fog's platformStatus; failures stay at warn.
    ctx.logger.debug('fog platform reconciled', { fogUuid: task.fogUuid, reason: task.reason, generation: task.specGeneration });
    out.reconciled.push(task.fogUuid);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.logger.warn('fog platform reconcile failed', { fogUuid: task.fogUuid, attempt: task.attempts + 1, ...errorFields(err) });
    await finishTask(ctx, task, message).catch((e) => ctx.logger.warn('could not record the reconcile failure', errorFields(e)));
    out.failed.push(task.fogUuid);
  }
}

/**
 * Loop lateness (ms) above which the drain stops its turn: the server is already behind with requests,
 * and they come first. The next turn (a second later) goes on where this one stopped.
 */
export const RECONCILE_BACKOFF_LAG_MS = 40;

/**
 * One turn of the reconcile worker: claims and reconciles tasks for up to `budgetMs`, letting the event
 * loop run between tasks, so a change that enqueued every fog of a large fleet drains in minutes instead of
 * one fog per tick (hours), while agent requests are served between tasks. `concurrency` tasks are worked
 * at once: most of a first reconcile is key generation on the runtime's thread pool, which then uses more
 * than one core. The turn ends early when the queue is empty or when the loop is late (the server is busy
 * with requests); it always moves at least one task on. Each task is still claimed with its own lease, so
 * across instances (and lanes) a task is worked by one at a time and a crashed instance's task is
 * re-claimed when its lease expires.
 */
export async function drainFogTasks(
  ctx: AppCtx,
  opts: { budgetMs: number; maxTasks?: number; concurrency?: number },
): Promise<{ reconciled: string[]; failed: string[]; stoppedBy: 'empty' | 'budget' | 'busy' }> {
  const out = { reconciled: [] as string[], failed: [] as string[] };
  const deadline = ctx.clock.now() + opts.budgetMs;
  const maxTasks = opts.maxTasks ?? Number.POSITIVE_INFINITY;
  let started = 0;
  let stoppedBy: 'empty' | 'budget' | 'busy' | undefined;
  // Each task starts in a loop turn of its own: the lanes' synchronous parts (database work, rendering)
  // do not add up into one long stall — nor into loop lateness of the drain's own making, which read as
  // "busy" and ended turns early (four lanes of ~15 ms tasks stalled the loop for 60-100 ms).
  const turn = loopTurns();
  const lane = async (): Promise<void> => {
    while (stoppedBy === undefined) {
      if (started >= maxTasks || ctx.clock.now() >= deadline) {
        stoppedBy = 'budget';
        return;
      }
      if (started > 0) {
        await turn();
        if (stoppedBy !== undefined) return;
        if (started >= maxTasks || ctx.clock.now() >= deadline) {
          stoppedBy = 'budget';
          return;
        }
        if (ctx.admission.lagMs() > RECONCILE_BACKOFF_LAG_MS) {
          stoppedBy = 'busy';
          return;
        }
      }
      started++;
      const task = await claimTask(ctx);
      if (!task) {
        stoppedBy ??= 'empty';
        return;
      }
      await processTask(ctx, task, out);
    }
  };
  const lanes = Math.max(1, Math.min(Math.floor(opts.concurrency ?? 1), maxTasks));
  await Promise.all(Array.from({ length: lanes }, lane));
  return { ...out, stoppedBy: stoppedBy ?? 'budget' };
}

async function setStatus(tx: AppCtx, fogUuid: string, set: Partial<typeof fogPlatformStatus.$inferInsert>): Promise<void> {
  const now = tx.clock.now();
  await tx.db
    .insert(fogPlatformStatus)
    .values({ fogUuid, phase: set.phase ?? 'Pending', lastTransitionAt: now, ...set })
    .onConflictDoUpdate({ target: fogPlatformStatus.fogUuid, set: { ...set, lastTransitionAt: now } });
}

async function finishTask(ctx: AppCtx, task: typeof fogPlatformTask.$inferSelect, error: string | undefined): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const [f] = await tx.db.select({ uuid: fog.uuid, gen: fog.specGeneration }).from(fog).where(eq(fog.uuid, task.fogUuid)).limit(1);
    if (!f) return; // the fog is gone (cascade took the task)
    const [current] = await tx.db.select().from(fogPlatformTask).where(eq(fogPlatformTask.fogUuid, task.fogUuid)).limit(1);
    // Enqueued again while we worked (a newer generation or a delete): leave it pending for the next tick.
    const superseded =
      current && (current.updatedAt !== task.updatedAt || current.specGeneration > task.specGeneration || current.reason !== task.reason);
    const now = tx.clock.now();
    if (error === undefined) {
      if (superseded)
        await tx.db
          .update(fogPlatformTask)
          .set({ status: 'pending', leaderUuid: null, claimedAt: null })
          .where(eq(fogPlatformTask.fogUuid, task.fogUuid));
      else await tx.db.delete(fogPlatformTask).where(eq(fogPlatformTask.fogUuid, task.fogUuid));
      if (task.reason === 'delete') await setStatus(tx, task.fogUuid, { phase: 'Deleting', lastError: null });
      else
        await setStatus(tx, task.fogUuid, {
          phase: superseded ? 'Pending' : 'Ready',
          observedGeneration: task.specGeneration,
          lastError: null,
          conditions: JSON.stringify([
            { type: 'RouterReady', status: 'True' },
            { type: 'NatsReady', status: 'True' },
          ]),
        });
      return;
    }
    const attempts = task.attempts + 1;
    const giveUp = attempts >= MAX_ATTEMPTS;
    await tx.db
      .update(fogPlatformTask)
      .set({
        status: giveUp ? 'failed' : 'pending',
        attempts,
        lastError: error.slice(0, 2000),
        nextAttemptAt: giveUp ? null : now + BACKOFF_BASE_MS * 2 ** (attempts - 1),
        leaderUuid: null,
        claimedAt: null,
        updatedAt: now,
      })
      .where(eq(fogPlatformTask.fogUuid, task.fogUuid));
    await setStatus(tx, task.fogUuid, {
      phase: task.reason === 'delete' ? 'Deleting' : 'Failed',
      lastError: error.slice(0, 2000),
      conditions: JSON.stringify([{ type: 'Reconciled', status: 'False', reason: 'ReconcileFailed', message: error.slice(0, 500) }]),
    });
    await tx.db
      .update(fog)
      .set({ warningMessage: `Platform reconcile: ${error.slice(0, 200)}` })
      .where(eq(fog.uuid, task.fogUuid));
  });
}

// ---- the reconcile itself ----

const certNames = (f: FogRow) => ({
  site: `router-site-server-${f.name}`,
  local: `router-local-server-${f.name}`,
  agent: `router-local-agent-${f.name}`,
});

/** Idempotent: brings the fog's router microservice, certificates and mounts to its spec (or removes them). */
export async function reconcileFog(ctx: AppCtx, fogUuid: string, deleting: boolean): Promise<void> {
  const f = await fogRowByUuid(ctx.db, fogUuid);
  if (!f) return;
  await withTransaction(ctx, (tx) =>
    setStatus(tx, fogUuid, { phase: deleting || f.deleteRequestedAt !== null ? 'Deleting' : 'Progressing' }),
  );
  if (deleting || f.deleteRequestedAt !== null) {
    await removeRouter(ctx, f);
    await removeNats(ctx, f);
    return;
  }
  if (f.routerMode === 'none') {
    await removeRouter(ctx, f);
    // The agent of a fog without a router still gets its local-agent certificate, signed by the default
    // router's local CA, as v3.8 issues it for every fog.
    await ensureCa(ctx, 'default-router-local-ca');
    await ensureIssuedCertificate(ctx, certNames(f).agent, f.uuid, [...LOCAL_SANS, ...(f.host ? [f.host] : [])], 'default-router-local-ca');
  } else await reconcileRouter(ctx, f);
  await syncNatsAccess(ctx, f);
  if (f.natsMode === 'none') await removeNats(ctx, f);
  else await reconcileNats(ctx, f);
}

async function reconcileRouter(ctx: AppCtx, f: FogRow): Promise<void> {
  const image = await routerImages(ctx, f);
  const upstreams = await resolveUpstreams(ctx, f);
  const names = certNames(f);
  await ensureCa(ctx, 'default-router-local-ca');
  await ensureCa(ctx, 'router-site-ca');
  const hosts = f.host ? [f.host] : [];
  await ensureIssuedCertificate(ctx, names.site, f.uuid, hosts, 'router-site-ca');
  await ensureIssuedCertificate(ctx, names.local, f.uuid, [...LOCAL_SANS, ...hosts], 'default-router-local-ca');
  await ensureIssuedCertificate(ctx, names.agent, f.uuid, [...LOCAL_SANS, ...hosts], 'default-router-local-ca');
  const secrets = [names.site, names.local, names.agent];
  for (const s of secrets) await ensureLinkedMount(ctx, s, { secretName: s }, f.uuid);
  await upsertRouterMicroservice(ctx, f, image, routerConfig(ctx, f, upstreams, secrets, await bridgesFor(ctx, f)), secrets);
}

async function routerImages(
  ctx: AppCtx,
  f: FogRow,
): Promise<{ images: Array<{ containerImage: string; archId: number }>; registryId: number }> {
  const [item] = await ctx.db
    .select()
    .from(catalogItem)
    .where(and(eq(catalogItem.name, 'Router'), eq(catalogItem.category, 'SYSTEM')))
    .limit(1);
  if (!item) throw new Error('the system catalog item Router is missing');
  const images = JSON.parse(item.images) as Array<{ containerImage: string; archId: number }>;
  if (f.archId >= 1 && !images.some((i) => i.archId === f.archId)) {
    throw new Error(
      `the Router catalog item has no image for this fog's architecture (archId ${f.archId}); add one to the catalog item, then POST /api/v3/iofog/${f.uuid}/reconcile`,
    );
  }
  return { images, registryId: item.registryId };
}

interface Upstream {
  key: string;
  host: string;
  edgeRouterPort: number;
  interRouterPort: number;
}

/**
 * Upstream interior routers: the fog's `upstreamRouters` (`default-router` | fog uuid |
 * fog name), or by default the default router (the first system fog's) plus every system fog's router.
 */
async function resolveUpstreams(ctx: AppCtx, f: FogRow): Promise<Upstream[]> {
  const systems = await ctx.db
    .select()
    .from(fog)
    .where(and(eq(fog.isSystem, true), eq(fog.routerMode, 'interior'), isNull(fog.deleteRequestedAt)))
    .orderBy(asc(fog.createdAt));
  const defaultRouter = systems[0];
  const wanted = f.upstreamRouters
    ? (JSON.parse(f.upstreamRouters) as string[])
    : [...(defaultRouter ? ['default-router'] : []), ...systems.slice(1).map((s) => s.uuid)];
  const out: Upstream[] = [];
  for (const ref of wanted) {
    let target: FogRow | undefined;
    if (ref === 'default-router') target = defaultRouter;
    else
      target = (
        await ctx.db
          .select()
          .from(fog)
          .where(or(eq(fog.uuid, ref), eq(fog.name, ref)))
          .limit(1)
      )[0];
    // An upstream that is gone (deleted or being deleted) is dropped: its downstream routers re-home to
    // the default router, so they stay on the network.
    if (!target || target.deleteRequestedAt !== null) {
      if (
        ref !== 'default-router' &&
        defaultRouter &&
        defaultRouter.uuid !== f.uuid &&
        !wanted.includes('default-router') &&
        !out.some((u) => u.key === 'default-router')
      ) {
        out.push({
          key: 'default-router',
          host: defaultRouter.host ?? '',
          edgeRouterPort: defaultRouter.edgeRouterPort ?? 45671,
          interRouterPort: defaultRouter.interRouterPort ?? 55671,
        });
      }
      continue;
    }
    if (target.uuid === f.uuid) continue;
    if (target.routerMode !== 'interior') throw new Error(`upstream router ${ref} is not an interior router`);
    if (!target.host) throw new Error(`upstream router ${ref} has no host`);
    out.push({
      key: ref === 'default-router' ? 'default-router' : target.uuid,
      host: target.host,
      edgeRouterPort: target.edgeRouterPort ?? 45671,
      interRouterPort: target.interRouterPort ?? 55671,
    });
  }
  return out;
}

/** The router configuration document the fog's router microservice starts with. */
export function routerConfig(
  ctx: AppCtx,
  f: FogRow,
  upstreams: Upstream[],
  secrets: string[],
  bridges: { tcpConnectors: Record<string, unknown>; tcpListeners: Record<string, unknown> },
) {
  const interior = f.routerMode === 'interior';
  const names = certNames(f);
  const listeners: Record<string, Record<string, unknown>> = {
    [`${f.uuid}-amqp`]: { name: `${f.uuid}-amqp`, host: '0.0.0.0', port: 5672, role: 'normal' },
    [`${f.uuid}-amqps`]: {
      name: `${f.uuid}-amqps`,
      host: '0.0.0.0',
      port: f.messagingPort,
      role: 'normal',
      authenticatePeer: true,
      saslMechanisms: 'EXTERNAL',
      sslProfile: names.local,
    },
  };
  if (interior) {
    listeners[`${f.uuid}-inter-router`] = {
      name: `${f.uuid}-inter-router`,
      host: '0.0.0.0',
      port: f.interRouterPort ?? 55671,
      role: 'inter-router',
      authenticatePeer: true,
      saslMechanisms: 'EXTERNAL',
      sslProfile: names.site,
    };
    listeners[`${f.uuid}-edge`] = {
      name: `${f.uuid}-edge`,
      host: '0.0.0.0',
      port: f.edgeRouterPort ?? 45671,
      role: 'edge',
      authenticatePeer: true,
      saslMechanisms: 'EXTERNAL',
      sslProfile: names.site,
    };
  }
  const connectors = Object.fromEntries(
    upstreams.map((u) => [
      u.key,
      {
        name: u.key,
        role: interior ? 'inter-router' : 'edge',
        host: u.host,
        port: String(interior ? u.interRouterPort : u.edgeRouterPort),
        sslProfile: names.site,
      },
    ]),
  );
  const sslProfiles: Record<string, Record<string, string>> = {
    'system-default': { name: 'system-default', caCertFile: '/etc/pki/tls/certs/ca-bundle.crt' },
  };
  for (const s of secrets)
    sslProfiles[s] = {
      name: s,
      caCertFile: `${CERT_DIR}/${s}/ca.crt`,
      certFile: `${CERT_DIR}/${s}/tls.crt`,
      privateKeyFile: `${CERT_DIR}/${s}/tls.key`,
    };
  return {
    addresses: { mc: { prefix: 'mc', distribution: 'multicast' } },
    bridges,
    connectors,
    listeners,
    logConfig: { ROUTER_CORE: { module: 'ROUTER_CORE', enable: 'error+' } },
    metadata: { id: f.uuid, mode: interior ? 'interior' : 'edge', helloMaxAgeSeconds: '3' },
    siteConfig: {
      name: f.uuid,
      namespace: ctx.config.namespace,
      platform: f.containerEngine === 'podman' ? 'podman' : f.containerEngine === 'docker' ? 'docker' : 'edgelet',
      version: ROUTER_DISTRIBUTION,
    },
    sslProfiles,
  };
}

const connectorsOf = (config: string | null): unknown => {
  try {
    return (JSON.parse(config ?? 'null') as { connectors?: unknown } | null)?.connectors ?? null;
  } catch {
    return null;
  }
};

async function upsertRouterMicroservice(
  ctx: AppCtx,
  f: FogRow,
  image: { images: Array<{ containerImage: string; archId: number }>; registryId: number },
  config: ReturnType<typeof routerConfig>,
  secrets: string[],
): Promise<void> {
  const interior = f.routerMode === 'interior';
  const ports = [f.messagingPort, ...(interior ? [f.edgeRouterPort ?? 45671, f.interRouterPort ?? 55671] : [])].map((p) => ({
    internal: p,
    external: p,
    protocol: 'tcp',
  }));
  const env = [
    { key: 'QDROUTERD_CONF', value: '/tmp/skrouterd.json' },
    { key: 'QDROUTERD_CONF_TYPE', value: 'json' },
    { key: 'SSL_PROFILE_PATH', value: CERT_DIR },
    { key: 'SKUPPER_SITE_ID', value: f.uuid },
    { key: 'SKUPPER_PLATFORM', value: ROUTER_DISTRIBUTION },
  ];
  const volumes = secrets.map((s, i) => ({
    id: i + 1,
    hostDestination: s,
    containerDestination: `${CERT_DIR}/${s}`,
    accessMode: 'ro',
    type: 'volumeMount',
  }));
  const cols = {
    images: JSON.stringify(image.images),
    registryId: image.registryId,
    config: JSON.stringify(config),
    hostNetworkMode: interior,
    isPrivileged: false,
    capAdd: JSON.stringify(['NET_RAW']),
    schedule: 0,
    ports: JSON.stringify(ports),
    env: JSON.stringify(env),
    volumeMappings: JSON.stringify(volumes),
    isRouter: true,
  };
  await withTransaction(ctx, async (tx) => {
    const app = await ensureSystemApplication(tx, f.name);
    const now = tx.clock.now();
    const [existing] = await tx.db
      .select()
      .from(microservice)
      .where(and(eq(microservice.applicationId, app.id), eq(microservice.name, 'router')))
      .limit(1);
    if (!existing) {
      await tx.db
        .insert(microservice)
        .values({ ...cols, uuid: tx.ids.uuid(), name: 'router', applicationId: app.id, fogUuid: f.uuid, createdAt: now, updatedAt: now });
      await ensureMicroserviceAccount(tx, app.id, 'router');
      await raiseFlags(tx, [f.uuid], ['microserviceList']);
      return;
    }
    const structural =
      existing.ports !== cols.ports ||
      existing.images !== cols.images ||
      existing.volumeMappings !== cols.volumeMappings ||
      existing.env !== cols.env ||
      existing.hostNetworkMode !== cols.hostNetworkMode ||
      existing.markedForDelete;
    const configOnly = !structural && existing.config !== cols.config;
    if (!structural && !configOnly) return;
    await tx.db
      .update(microservice)
      .set({ ...cols, markedForDelete: false, ...(structural ? { rebuild: true } : {}), updatedAt: now })
      .where(eq(microservice.uuid, existing.uuid));
    // New upstream links (re-homing) or a rebuilt router are a router change for the fog
    // (`routerChanged`: Edgelet ignores it, older agents re-read their router).
    const linksChanged = structural || JSON.stringify(connectorsOf(existing.config)) !== JSON.stringify(config.connectors);
    // A router change raises all three, as v3.8 does: older agents re-read their router and their list.
    await raiseFlags(
      tx,
      [f.uuid],
      linksChanged ? ['routerChanged', 'microserviceList', 'microserviceConfig'] : [structural ? 'microserviceList' : 'microserviceConfig'],
    );
  });
}

/** routerMode none or the fog is going: the router microservice goes (delivered for deletion), then its mounts and certificates. */
async function removeRouter(ctx: AppCtx, f: FogRow): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const rows = await tx.db
      .select({ ms: microservice })
      .from(microservice)
      .innerJoin(application, eq(application.id, microservice.applicationId))
      .where(
        and(
          eq(application.isSystem, true),
          eq(microservice.fogUuid, f.uuid),
          eq(microservice.isRouter, true),
          eq(microservice.markedForDelete, false),
        ),
      );
    if (rows.length)
      await removeOrMark(
        tx,
        rows.map((r) => r.ms),
        false,
      );
    await releaseNetworkRouter(tx, f);
  });
  if (f.routerMode === 'none' && f.deleteRequestedAt === null) return; // certificates are kept for a later mode change
  await dropRouterMaterial(ctx, f);
}

/**
 * Fogs without a router of their own (routerMode none) that used this fog's router go back to the
 * default router and get `routerChanged`: those naming it as `networkRouter`, and — when
 * this was a system fog's router, which may have been the default — those using the default.
 */
async function releaseNetworkRouter(tx: AppCtx, f: FogRow): Promise<void> {
  // Filtered in SQL: this runs on every reconcile of a routerMode none fog, inside a write transaction,
  // and the fleet may hold tens of thousands of such fogs (reading them all took ~70 ms per reconcile at
  // 10,000 fogs, on the event loop, with the write lock held).
  const usesThisRouter = or(eq(fog.networkRouter, f.uuid), eq(fog.networkRouter, f.name));
  const users = await tx.db
    .select({ uuid: fog.uuid, networkRouter: fog.networkRouter })
    .from(fog)
    .where(
      and(
        eq(fog.routerMode, 'none'),
        sql`${fog.uuid} <> ${f.uuid}`,
        isNull(fog.deleteRequestedAt),
        f.isSystem ? or(usesThisRouter, isNull(fog.networkRouter), eq(fog.networkRouter, 'default-router')) : usesThisRouter,
      ),
    );
  if (!users.length) return;
  const named = users.filter((o) => o.networkRouter && o.networkRouter !== 'default-router').map((o) => o.uuid);
  if (named.length) await tx.db.update(fog).set({ networkRouter: null, updatedAt: tx.clock.now() }).where(inArray(fog.uuid, named));
  await raiseFlags(
    tx,
    users.map((o) => o.uuid),
    ['routerChanged'],
  );
}

/** The fog's router certificates, their secrets and mounts (also run when the fog row is removed). */
export async function dropRouterMaterial(ctx: AppCtx, f: Pick<FogRow, 'name'>): Promise<void> {
  const names = Object.values(certNames(f as FogRow));
  await withTransaction(ctx, async (tx) => {
    const mounts = await tx.db.select({ uuid: volumeMount.uuid }).from(volumeMount).where(inArray(volumeMount.name, names));
    if (mounts.length)
      await tx.db.delete(volumeMount).where(
        inArray(
          volumeMount.uuid,
          mounts.map((m) => m.uuid),
        ),
      );
  });
  for (const n of names) {
    await deleteCertificate(ctx, n).catch((err) => {
      if (!(err instanceof ServiceError && err.code === 'NOT_FOUND')) throw err;
    });
  }
}

/**
 * The periodic sweep: re-enqueues fogs that drifted — no status yet, a spec generation
 * not reconciled, a `Failed` phase (re-armed), or a router that should exist but does not — unless
 * they already have an active task or are being deleted. Returns the fogs enqueued.
 */
export async function sweepFogPlatforms(ctx: AppCtx): Promise<{ enqueued: string[] }> {
  // The fleet may hold tens of thousands of fogs, and a statement runs synchronously on the event loop:
  // reading them all at once (fogs, statuses, tasks and routers, four whole-table reads) blocked every
  // request for ~200 ms at 10,000 fogs. The decision's inputs come in one keyset-paged query per
  // SWEEP_CHUNK fogs instead, and the event loop runs between chunks.
  const enqueued: string[] = [];
  let after = '';
  for (;;) {
    if (after) await yieldToEventLoop();
    const rows = await ctx.db
      .select({
        uuid: fog.uuid,
        specGeneration: fog.specGeneration,
        routerMode: fog.routerMode,
        observedGeneration: fogPlatformStatus.observedGeneration,
        phase: fogPlatformStatus.phase,
        hasTask: sql<number>`EXISTS (SELECT 1 FROM ${fogPlatformTask} WHERE ${fogPlatformTask.fogUuid} = ${fog.uuid} AND ${fogPlatformTask.status} <> 'failed')`,
        hasRouter: sql<number>`EXISTS (SELECT 1 FROM ${microservice} INNER JOIN ${application} ON ${application.id} = ${microservice.applicationId} WHERE ${microservice.fogUuid} = ${fog.uuid} AND ${application.isSystem} = 1 AND ${microservice.isRouter} = 1 AND ${microservice.markedForDelete} = 0)`,
      })
      .from(fog)
      .leftJoin(fogPlatformStatus, eq(fogPlatformStatus.fogUuid, fog.uuid))
      .where(and(sql`${fog.uuid} > ${after}`, isNull(fog.deleteRequestedAt)))
      .orderBy(asc(fog.uuid))
      .limit(SWEEP_CHUNK);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.uuid;
    const drifted = rows.filter((f) => {
      if (Number(f.hasTask)) return false;
      if (f.observedGeneration === null || f.observedGeneration < f.specGeneration || f.phase === 'Failed') return true;
      return f.routerMode === 'none' ? Boolean(Number(f.hasRouter)) : !Number(f.hasRouter);
    });
    if (drifted.length) {
      await withTransaction(ctx, async (tx) => {
        for (const f of drifted) await enqueueFogReconcile(tx, f.uuid, 'periodic-sweep', f.specGeneration);
      });
      enqueued.push(...drifted.map((f) => f.uuid));
    }
    if (rows.length < SWEEP_CHUNK) break;
  }
  return { enqueued };
}
