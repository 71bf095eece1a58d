import { and, asc, eq, isNull, lt, lte, or } from 'drizzle-orm';
import { application, fog, microservice, service, servicePlatformTask } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import { claimOldestPg, isPg } from '../../../db/dialect';
import type { AppCtx } from '../../context';
import { conflict, invalid, notFound } from '../../errors';
import { errorFields } from '../../lib/logger';
import { auditTarget } from '../events/audit';
import { enqueueFogReconcile } from '../changes/reconcile-queue';
import { defaultRouterFog, MAX_ATTEMPTS } from './fog-platform';
import type { ServiceInput, ServiceViewT } from './schemas';

/**
 * Services: router TCP bridges. A service is a `tcpConnector` on the router of the fog
 * where the traffic exits (the target microservice's or agent's fog; the default router for k8s/external)
 * and a `tcpListener` where consumers connect (the `defaultBridge` router and every fog tagged for one of
 * the service's tags). Writes persist the service `pending` and enqueue a service task in the same
 * transaction; the worker resolves the routers, enqueues their fog reconciles (which recompute the
 * bridges from scratch) and marks the service `ready` — or `failed` after 10 attempts.
 */

type ServiceRow = typeof service.$inferSelect;
type FogRow = typeof fog.$inferSelect;

export type { ServiceInput } from './schemas';

export const FORBIDDEN_SERVICE_NAMES = [
  'controller',
  'router',
  'router-internal',
  'docker',
  'podman',
  'kubernetes',
  'nats',
  'nats-headless',
];
export const SERVICE_TAG_KEY = 'service.iofog.org/tag';
const LEASE_MS = 300_000;
const BACKOFF_BASE_MS = 5_000;

export interface BridgeTarget {
  fog: FogRow;
  host: string;
  processId: string;
}

async function fogByRef(ctx: AppCtx, ref: string): Promise<FogRow | undefined> {
  const [f] = await ctx.db
    .select()
    .from(fog)
    .where(or(eq(fog.uuid, ref), eq(fog.name, ref)))
    .limit(1);
  return f;
}

/** Where the service's traffic exits: the connector's router fog, host and process id. */
export async function connectorTarget(ctx: AppCtx, s: Pick<ServiceRow, 'type' | 'resource' | 'targetPort'>): Promise<BridgeTarget> {
  if (s.type === 'microservice') {
    const [appName, msName] = s.resource.includes('/') ? s.resource.split('/', 2) : [undefined, undefined];
    const [row] = await ctx.db
      .select({ ms: microservice, app: application })
      .from(microservice)
      .innerJoin(application, eq(application.id, microservice.applicationId))
      .where(appName ? and(eq(application.name, appName), eq(microservice.name, msName!)) : eq(microservice.uuid, s.resource))
      .limit(1);
    if (!row) throw invalid(`resource: no microservice ${s.resource} (give its uuid or "application/microservice")`);
    if (!row.ms.fogUuid) throw invalid(`resource: microservice ${s.resource} is not placed on a fog`);
    const f = (await fogByRef(ctx, row.ms.fogUuid))!;
    if (f.routerMode === 'none') throw invalid(`SERVICE_REQUIRES_ROUTER: fog ${f.name} of microservice ${s.resource} has routerMode none`);
    const host =
      f.routerMode === 'interior'
        ? '127.0.0.1'
        : row.ms.hostNetworkMode
          ? 'edgelet.default.svc.bridge.local'
          : `${row.app.name}.${row.ms.name}`;
    return { fog: f, host, processId: row.ms.uuid };
  }
  if (s.type === 'agent') {
    const f = await fogByRef(ctx, s.resource);
    if (!f) throw invalid(`resource: no fog ${s.resource}`);
    if (f.routerMode === 'none') throw invalid(`SERVICE_REQUIRES_ROUTER: fog ${f.name} has routerMode none`);
    return {
      fog: f,
      host: f.routerMode === 'interior' ? '127.0.0.1' : 'edgelet.default.svc.bridge.local',
      processId: `${s.resource}-local-${s.targetPort}`,
    };
  }
  const hub = await defaultRouterFog(ctx);
  if (!hub) throw invalid('defaultBridge: there is no default router yet (the first system fog with an interior router provides it)');
  return { fog: hub, host: s.resource, processId: `${s.resource}-${s.type}-${s.targetPort}` };
}

const tagsOf = (f: FogRow) => new Set(JSON.parse(f.tags) as string[]);

/** The router fog of a service's `defaultBridge` (`default-router` or a fog uuid/name). */
async function bridgeFog(ctx: AppCtx, defaultBridge: string): Promise<FogRow> {
  const bridge = defaultBridge === 'default-router' ? await defaultRouterFog(ctx) : await fogByRef(ctx, defaultBridge);
  if (!bridge)
    throw invalid(
      defaultBridge === 'default-router' ? 'defaultBridge: there is no default router yet' : `defaultBridge: no fog ${defaultBridge}`,
    );
  if (bridge.routerMode === 'none') throw invalid(`defaultBridge: fog ${bridge.name} has no router`);
  return bridge;
}

/**
 * Where consumers connect (v3.8 service distribution): the `defaultBridge` router, every fog tagged
 * `service.iofog.org/tag: all` (it carries every service), and every fog tagged for one of the service's
 * tags. A service tag `all` is an ordinary tag: it matches the fogs tagged `all`, not every fog.
 */
export async function listenerFogs(ctx: AppCtx, s: Pick<ServiceRow, 'defaultBridge' | 'tags'>): Promise<FogRow[]> {
  const out = new Map<string, FogRow>();
  const bridge = await bridgeFog(ctx, s.defaultBridge);
  out.set(bridge.uuid, bridge);
  const tags = ['all', ...(JSON.parse(s.tags) as string[])];
  const all = await ctx.db.select().from(fog);
  for (const f of all) {
    if (f.routerMode === 'none' || f.deleteRequestedAt !== null) continue;
    const ft = tagsOf(f);
    if (tags.some((t) => ft.has(`${SERVICE_TAG_KEY}: ${t}`) || ft.has(`${SERVICE_TAG_KEY}:${t}`))) out.set(f.uuid, f);
  }
  return [...out.values()];
}

/** The bridges section of a fog's router configuration, computed from scratch. */
export async function bridgesFor(ctx: AppCtx, f: FogRow) {
  const tcpConnectors: Record<string, Record<string, string>> = {};
  const tcpListeners: Record<string, Record<string, string>> = {};
  for (const s of await ctx.db.select().from(service).orderBy(asc(service.name))) {
    try {
      const target = await connectorTarget(ctx, s);
      if (target.fog.uuid === f.uuid)
        tcpConnectors[`${s.name}-connector`] = {
          name: `${s.name}-connector`,
          host: target.host,
          port: String(s.targetPort),
          address: s.name,
          processId: target.processId,
        };
      if ((await listenerFogs(ctx, s)).some((l) => l.uuid === f.uuid))
        tcpListeners[`${s.name}-listener`] = { name: `${s.name}-listener`, port: String(s.bridgePort), address: s.name };
    } catch {
      // A service that does not resolve right now is reported on the service (provisioningStatus), not here.
    }
  }
  return { tcpConnectors, tcpListeners };
}

async function affectedFogs(ctx: AppCtx, s: ServiceRow): Promise<string[]> {
  const target = await connectorTarget(ctx, s);
  return [...new Set([target.fog.uuid, ...(await listenerFogs(ctx, s)).map((f) => f.uuid)])];
}

// ---- API ----

export function serviceView(s: ServiceRow): ServiceViewT {
  return {
    name: s.name,
    type: s.type,
    resource: s.resource,
    targetPort: s.targetPort,
    servicePort: s.servicePort,
    bridgePort: s.bridgePort,
    defaultBridge: s.defaultBridge,
    tags: JSON.parse(s.tags) as string[],
    k8sType: s.k8sType,
    serviceEndpoint: s.serviceEndpoint,
    provisioningStatus: s.provisioningStatus as 'pending' | 'ready' | 'failed',
    provisioningError: s.provisioningError,
  };
}

export async function listServices(ctx: AppCtx) {
  return (await ctx.db.select().from(service).orderBy(asc(service.name))).map(serviceView);
}

async function requireService(ctx: AppCtx, name: string): Promise<ServiceRow> {
  const [s] = await ctx.db.select().from(service).where(eq(service.name, name)).limit(1);
  if (!s) throw notFound(`Service ${name}`);
  return s;
}

export async function getService(ctx: AppCtx, name: string) {
  return serviceView(await requireService(ctx, name));
}

function bridgeRange(ctx: AppCtx): [number, number] {
  return ctx.config.bridgePorts;
}

/** Validates a service against the fleet; returns the host consumers reach it on (its bridge router's). */
async function check(ctx: AppCtx, input: ServiceInput): Promise<string | null> {
  if (FORBIDDEN_SERVICE_NAMES.includes(input.name)) throw invalid(`name: ${input.name} is reserved`);
  if (input.k8sType !== undefined) throw invalid('k8sType: needs a Kubernetes control plane');
  if ((input.type === 'k8s' || input.type === 'external') && (input.defaultBridge ?? 'default-router') !== 'default-router')
    throw invalid(`defaultBridge: must be default-router for ${input.type} services`);
  const row = {
    type: input.type,
    resource: input.resource,
    targetPort: input.targetPort,
    defaultBridge: input.defaultBridge ?? 'default-router',
    tags: JSON.stringify(input.tags ?? []),
  };
  await connectorTarget(ctx, row);
  await listenerFogs(ctx, row);
  return (await bridgeFog(ctx, row.defaultBridge)).host;
}

/** Tasks are enqueued in the caller's transaction, remembering the fogs the service reached before. */
async function enqueueServiceTask(tx: AppCtx, name: string, reason: string, previousFogs: string[]): Promise<void> {
  const now = tx.clock.now();
  const [t] = await tx.db.select().from(servicePlatformTask).where(eq(servicePlatformTask.serviceName, name)).limit(1);
  if (!t) {
    await tx.db
      .insert(servicePlatformTask)
      .values({ serviceName: name, reason, fogUuids: JSON.stringify(previousFogs), status: 'pending', createdAt: now, updatedAt: now });
    return;
  }
  const fogs = [...new Set([...(JSON.parse(t.fogUuids) as string[]), ...previousFogs])];
  await tx.db
    .update(servicePlatformTask)
    .set({
      reason,
      fogUuids: JSON.stringify(fogs),
      status: t.status === 'in_progress' ? 'in_progress' : 'pending',
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      updatedAt: now,
    })
    .where(eq(servicePlatformTask.serviceName, name));
}

export async function createService(ctx: AppCtx, input: ServiceInput) {
  const endpoint = await check(ctx, input);
  const [lo, hi] = bridgeRange(ctx);
  await withTransaction(ctx, async (tx) => {
    const [dup] = await tx.db.select({ name: service.name }).from(service).where(eq(service.name, input.name)).limit(1);
    if (dup) throw conflict(`Service ${input.name} already exists`);
    const used = new Set((await tx.db.select({ p: service.bridgePort }).from(service)).map((r) => r.p));
    let port = lo;
    while (port <= hi && used.has(port)) port++;
    if (port > hi) throw invalid(`bridgePort: no free port left in ${lo}-${hi} (BRIDGE_PORTS_RANGE)`);
    const now = tx.clock.now();
    await tx.db.insert(service).values({
      name: input.name,
      type: input.type,
      resource: input.resource,
      targetPort: input.targetPort,
      // Outside Kubernetes consumers reach the service on its bridge router: that host and the bridge port
      // (v3.8 fills both; a given servicePort only matters to a Kubernetes control plane).
      servicePort: port,
      serviceEndpoint: endpoint,
      bridgePort: port,
      defaultBridge: input.defaultBridge ?? 'default-router',
      tags: JSON.stringify(input.tags ?? []),
      provisioningStatus: 'pending',
      createdAt: now,
      updatedAt: now,
    });
    await enqueueServiceTask(tx, input.name, 'created', []);
    auditTarget(tx, input.name);
  });
  return getService(ctx, input.name);
}

export async function updateService(ctx: AppCtx, name: string, input: Partial<ServiceInput>) {
  const current = await requireService(ctx, name);
  if (input.name !== undefined && input.name !== name) throw invalid(`name: must be ${name} (services cannot be renamed)`);
  const merged: ServiceInput = {
    name,
    type: (input.type ?? current.type) as ServiceInput['type'],
    resource: input.resource ?? current.resource,
    targetPort: input.targetPort ?? current.targetPort,
    defaultBridge: input.defaultBridge ?? current.defaultBridge,
    servicePort: input.servicePort ?? current.servicePort ?? undefined,
    k8sType: input.k8sType,
    tags: input.tags ?? (JSON.parse(current.tags) as string[]),
  };
  const endpoint = await check(ctx, merged);
  const before = await affectedFogs(ctx, current).catch(() => [] as string[]);
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db
      .update(service)
      .set({
        type: merged.type,
        resource: merged.resource,
        targetPort: merged.targetPort,
        defaultBridge: merged.defaultBridge!,
        servicePort: current.bridgePort,
        serviceEndpoint: endpoint,
        tags: JSON.stringify(merged.tags),
        provisioningStatus: 'pending',
        provisioningError: null,
        updatedAt: tx.clock.now(),
      })
      .where(eq(service.name, name));
    if (r.rowsAffected === 0) throw notFound(`Service ${name}`);
    await enqueueServiceTask(tx, name, 'updated', before);
  });
  return getService(ctx, name);
}

export async function deleteService(ctx: AppCtx, name: string): Promise<void> {
  const current = await requireService(ctx, name);
  const before = await affectedFogs(ctx, current).catch(() => [] as string[]);
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db.delete(service).where(eq(service.name, name));
    if (r.rowsAffected === 0) throw notFound(`Service ${name}`);
    await enqueueServiceTask(tx, name, 'deleted', before);
  });
}

export async function reconcileServiceNow(ctx: AppCtx, name: string) {
  const current = await requireService(ctx, name);
  await withTransaction(ctx, async (tx) => {
    await tx.db
      .update(service)
      .set({ provisioningStatus: 'pending', provisioningError: null, updatedAt: tx.clock.now() })
      .where(eq(service.name, name));
    await enqueueServiceTask(tx, name, 'manual-retry', []);
  });
  return serviceView({ ...current, provisioningStatus: 'pending', provisioningError: null });
}

// ---- worker ----

async function claim(ctx: AppCtx) {
  const now = ctx.clock.now();
  if (isPg(ctx.db)) {
    return claimOldestPg(ctx.db, servicePlatformTask, {
      key: servicePlatformTask.serviceName,
      eligible: and(
        or(eq(servicePlatformTask.status, 'pending'), eq(servicePlatformTask.status, 'in_progress')),
        or(isNull(servicePlatformTask.nextAttemptAt), lte(servicePlatformTask.nextAttemptAt, now)),
        or(isNull(servicePlatformTask.claimedAt), lt(servicePlatformTask.claimedAt, now - LEASE_MS)),
      ),
      orderBy: servicePlatformTask.updatedAt,
      set: { status: 'in_progress', leaderUuid: ctx.controllerUuid, claimedAt: now, updatedAt: now },
    });
  }
  const candidates = await ctx.db
    .select()
    .from(servicePlatformTask)
    .where(
      and(
        or(eq(servicePlatformTask.status, 'pending'), eq(servicePlatformTask.status, 'in_progress')),
        or(isNull(servicePlatformTask.nextAttemptAt), lte(servicePlatformTask.nextAttemptAt, now)),
        or(isNull(servicePlatformTask.claimedAt), lt(servicePlatformTask.claimedAt, now - LEASE_MS)),
      ),
    )
    .orderBy(asc(servicePlatformTask.updatedAt))
    .limit(8);
  for (const t of candidates) {
    const won = await withTransaction(ctx, async (tx) => {
      const r = await tx.db
        .update(servicePlatformTask)
        .set({ status: 'in_progress', leaderUuid: ctx.controllerUuid, claimedAt: now, updatedAt: now })
        .where(and(eq(servicePlatformTask.serviceName, t.serviceName), eq(servicePlatformTask.updatedAt, t.updatedAt)));
      return r.rowsAffected > 0;
    });
    if (won) return { ...t, updatedAt: now };
  }
  return undefined;
}

/** One tick: at most `max` service tasks — resolve the routers, enqueue their fog reconciles, mark the service. */
export async function processServiceTasks(ctx: AppCtx, max = 1): Promise<{ ready: string[]; failed: string[] }> {
  const ready: string[] = [];
  const failed: string[] = [];
  for (let i = 0; i < max; i++) {
    const task = await claim(ctx);
    if (!task) break;
    const [s] = await ctx.db.select().from(service).where(eq(service.name, task.serviceName)).limit(1);
    try {
      const now = await (s ? affectedFogs(ctx, s) : Promise.resolve([] as string[]));
      const fogs = [...new Set([...(JSON.parse(task.fogUuids) as string[]), ...now])];
      await withTransaction(ctx, async (tx) => {
        const gens = fogs.length ? await tx.db.select({ uuid: fog.uuid, gen: fog.specGeneration }).from(fog) : [];
        for (const g of gens) if (fogs.includes(g.uuid)) await enqueueFogReconcile(tx, g.uuid, 'service-changed', g.gen);
        const [current] = await tx.db
          .select()
          .from(servicePlatformTask)
          .where(eq(servicePlatformTask.serviceName, task.serviceName))
          .limit(1);
        if (current && current.updatedAt === task.updatedAt)
          await tx.db.delete(servicePlatformTask).where(eq(servicePlatformTask.serviceName, task.serviceName));
        else if (current)
          await tx.db
            .update(servicePlatformTask)
            .set({ status: 'pending', leaderUuid: null, claimedAt: null })
            .where(eq(servicePlatformTask.serviceName, task.serviceName));
        if (s)
          await tx.db
            .update(service)
            .set({ provisioningStatus: 'ready', provisioningError: null, updatedAt: tx.clock.now() })
            .where(eq(service.name, task.serviceName));
      });
      ready.push(task.serviceName);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      ctx.logger.warn('service reconcile failed', { service: task.serviceName, ...errorFields(err) });
      const attempts = task.attempts + 1;
      const giveUp = attempts >= MAX_ATTEMPTS;
      await withTransaction(ctx, async (tx) => {
        const now = tx.clock.now();
        await tx.db
          .update(servicePlatformTask)
          .set({
            status: giveUp ? 'failed' : 'pending',
            attempts,
            lastError: message.slice(0, 2000),
            nextAttemptAt: giveUp ? null : now + BACKOFF_BASE_MS * 2 ** (attempts - 1),
            leaderUuid: null,
            claimedAt: null,
            updatedAt: now,
          })
          .where(eq(servicePlatformTask.serviceName, task.serviceName));
        if (s)
          await tx.db
            .update(service)
            .set({ provisioningStatus: giveUp ? 'failed' : 'pending', provisioningError: message.slice(0, 2000), updatedAt: now })
            .where(eq(service.name, task.serviceName));
      }).catch((e) =>
        ctx.logger.warn('could not record the service reconcile failure; the lease expires and the task is retried', {
          service: task.serviceName,
          ...errorFields(e),
        }),
      );
      failed.push(task.serviceName);
    }
  }
  return { ready, failed };
}
