import { and, asc, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import {
  fog,
  fogHal,
  fogProvisioningKey,
  fogPublicKey,
  fogTunnel,
  fogVersionCommand,
  fogPlatformStatus,
  volumeMount,
  volumeMountFog,
} from '../../../db/schema/index';
import type { Db } from '../../../db/client';
import { InListSelect, renderOnce, ReusableSelect } from '../../../db/statements';
import { withTransaction } from '../../../db/tx';
import { WideRows } from '../../../db/wide-rows';
import type { AppCtx } from '../../context';
import { defaultRouterFog, dropRouterMaterial, platformStatusView, reconcileFog } from '../platform/fog-platform';
import { dropNatsMaterial, hubFog } from '../platform/nats-platform';
import { ServiceError, conflict, invalid, notFound } from '../../errors';
import { sha256Hex } from '../../lib/ids';
import { yieldToEventLoop } from '../../lib/yield';
import { ARCHITECTURES } from '../health/architectures';
import { raiseFlags } from '../changes/flags';
import { enqueueDownstream, enqueueFogReconcile } from '../changes/reconcile-queue';
import { auditTarget } from '../events/audit';
import { fogRowByUuid } from '../shared/fog-row';
import type { FogCreateInput, FogInput, FogResponse } from './schemas';

export type FogRow = typeof fog.$inferSelect;

export const PROVISIONING_KEY_TTL_MS = 20 * 60 * 1000;
/** How long a deleted fog waits for its agent to confirm (DELETE /agent/delete-node) before it is removed anyway. */
export const DELETE_GRACE_MS = 10 * 60 * 1000;
/** Status reports may be this many status periods late before the fog counts as UNKNOWN (upstream tolerance). */
export const STATUS_TOLERANCE = 3;

export type { FogInput } from './schemas';

/** Keys that the agent pulls with GET /agent/config: changing one raises the `config` flag. */
const AGENT_CONFIG_KEYS = [
  'networkInterface',
  'containerEngineUrl',
  'diskLimit',
  'diskDirectory',
  'memoryLimit',
  'cpuLimit',
  'logLimit',
  'logDirectory',
  'logFileCount',
  'gpsMode',
  'gpsDevice',
  'gpsScanFrequency',
  'edgeGuardFrequency',
  'statusFrequency',
  'changeFrequency',
  'watchdogEnabled',
  'latitude',
  'longitude',
  'logLevel',
  'availableDiskThreshold',
  'pruningFrequency',
  'timeZone',
] as const;

const PLATFORM_KEYS = [
  'host',
  'routerMode',
  'messagingPort',
  'interRouterPort',
  'edgeRouterPort',
  'upstreamRouters',
  'networkRouter',
  'natsMode',
  'natsServerPort',
  'natsLeafPort',
  'natsClusterPort',
  'natsMqttPort',
  'natsHttpPort',
  'jsStorageSize',
  'jsMemoryStoreSize',
  'upstreamNatsServers',
  'containerEngine',
  'bluetoothEnabled',
  'abstractedHardwareEnabled',
  'tags',
] as const;

/** The keys of a fog's own router: changing one is a router change for its agent. */
const ROUTER_KEYS = ['host', 'routerMode', 'messagingPort', 'interRouterPort', 'edgeRouterPort', 'upstreamRouters'] as const;

function toColumns(input: FogInput): Partial<typeof fog.$inferInsert> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (k === 'upstreamRouters' || k === 'upstreamNatsServers' || k === 'tags') out[k] = JSON.stringify(v);
    else if (k === 'logLevel') out[k] = String(v).toUpperCase();
    else out[k] = v;
  }
  return out as Partial<typeof fog.$inferInsert>;
}

/** Conventional interior listener ports, filled in for system fogs only. */
const SYSTEM_INTER_ROUTER_PORT = 55671;
const SYSTEM_EDGE_ROUTER_PORT = 45671;

/** Cross-field rules of a fog's platform fields, on the merged (stored + requested) values. */
function checkPlatform(merged: Omit<FogInput, 'routerMode'> & { routerMode: string }, explicitRouterMode: boolean): void {
  // `host` is required when the operator asks for an edge or interior router explicitly (and on system
  // fogs, whose interior router is implied); a fog created with the default mode (edge) may omit it —
  // its router only dials out.
  if ((explicitRouterMode || merged.isSystem) && (merged.routerMode === 'edge' || merged.routerMode === 'interior') && !merged.host) {
    throw invalid(
      `host: required when routerMode is ${merged.routerMode}${merged.isSystem ? ' (system fogs carry the interior router and the NATS server)' : ''}`,
    );
  }
  if (merged.routerMode === 'interior' && (!merged.interRouterPort || !merged.edgeRouterPort)) {
    throw invalid('interRouterPort, edgeRouterPort: required when routerMode is interior');
  }
  // A system fog hosts the network core of a Remote control plane: the default router and the NATS hub.
  if (merged.isSystem && merged.routerMode !== 'interior')
    throw invalid(`routerMode: a system fog must be interior, not ${merged.routerMode}`);
  if (merged.isSystem && merged.natsMode !== undefined && merged.natsMode !== 'server')
    throw invalid(`natsMode: a system fog must be server, not ${merged.natsMode}`);
}

async function fogByRef(tx: AppCtx, ref: string): Promise<FogRow | undefined> {
  const [f] = await tx.db
    .select()
    .from(fog)
    .where(and(or(eq(fog.uuid, ref), eq(fog.name, ref)), isNull(fog.deleteRequestedAt)))
    .limit(1);
  return f;
}

/**
 * The references of a fog's platform spec, checked when the fog is written so that a spec the
 * reconcile could never satisfy is refused up front: named upstream routers
 * must be interior (unknown → 404, other mode → 400); an edge or interior router without named upstreams
 * needs the default router unless the fog is a system fog (it becomes it); a leaf without named upstream
 * servers needs the NATS hub unless the fog is a system fog; named NATS upstreams must be servers; a
 * named `networkRouter` must be a fog with a router. Only what the request sets (or a mode it changes) is
 * checked on update; stored references that went away later are handled by the reconcile (re-homing).
 */
async function checkPlatformRefs(
  tx: AppCtx,
  f: {
    uuid: string;
    isSystem: boolean;
    routerMode: string;
    natsMode: string;
    upstreamRouters?: string[];
    upstreamNatsServers?: string[];
    networkRouter?: string;
  },
  check: { routers: boolean; nats: boolean; networkRouter: boolean },
): Promise<void> {
  if (check.routers && f.routerMode !== 'none') {
    if (f.upstreamRouters !== undefined) {
      for (const ref of f.upstreamRouters) {
        const target = ref === 'default-router' ? await defaultRouterFog(tx) : await fogByRef(tx, ref);
        if (!target) throw notFound(`upstreamRouters: router ${ref}`);
        if (target.uuid === f.uuid) throw invalid(`upstreamRouters: ${ref} is this fog`);
        if (target.routerMode !== 'interior')
          throw invalid(`upstreamRouters: ${ref} is not an interior router (routerMode ${target.routerMode})`);
      }
    } else if (!f.isSystem && !(await defaultRouterFog(tx))) {
      throw new ServiceError(
        'NOT_FOUND',
        'default-router not found: no system fog provides it yet. Create the system fog first ({"name": …, "isSystem": true, "host": "<address agents reach>", "archId": 1}), or name upstreamRouters',
      );
    }
  }
  if (check.nats && f.natsMode === 'leaf') {
    if (f.upstreamNatsServers !== undefined) {
      for (const ref of f.upstreamNatsServers) {
        const target = ref === 'default-nats-hub' ? await hubFog(tx) : await fogByRef(tx, ref);
        if (!target) throw notFound(`upstreamNatsServers: NATS server ${ref}`);
        if (target.uuid === f.uuid) throw invalid(`upstreamNatsServers: ${ref} is this fog`);
        if (target.natsMode !== 'server') throw invalid(`upstreamNatsServers: ${ref} is not a NATS server (natsMode ${target.natsMode})`);
      }
    } else if (!f.isSystem && !(await hubFog(tx))) {
      throw new ServiceError(
        'NOT_FOUND',
        'default-nats-hub not found: no system fog provides it yet. Create the system fog first ({"name": …, "isSystem": true, "host": "<address agents reach>", "archId": 1}), or name upstreamNatsServers or set natsMode none',
      );
    }
  }
  if (check.networkRouter && f.routerMode === 'none' && f.networkRouter) {
    const target = f.networkRouter === 'default-router' ? await defaultRouterFog(tx) : await fogByRef(tx, f.networkRouter);
    if (!target) throw notFound(`networkRouter: router ${f.networkRouter}`);
    if (target.routerMode === 'none') throw invalid(`networkRouter: fog ${f.networkRouter} has no router (routerMode none)`);
  }
}

const parseList = (text: string | null): string[] => {
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
};

/**
 * The routers a fog's router connects to, as v3.8 shows them: a router created without named upstreams
 * connects to the default router, so it reads `["default-router"]` — except on a system fog, whose
 * router is (or stands beside) the default router itself.
 */
function upstreamRoutersView(row: FogRow): string[] {
  const named = parseList(row.upstreamRouters);
  return named.length === 0 && row.routerMode !== 'none' && !row.isSystem ? ['default-router'] : named;
}

type FogVolumeMounts = FogResponse['volumeMounts'];
type PlatformStatusView = ReturnType<typeof platformStatusView>;

/** The fog as the API shows it; the platform status and linked mounts are read by the caller (one query per page, not per fog). */
export function toFogResponse(row: FogRow, extra: { platformStatus: PlatformStatusView; volumeMounts: FogVolumeMounts }): FogResponse {
  const arch = ARCHITECTURES.find((a) => a.id === row.archId) ?? ARCHITECTURES[0];
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  // Times and sizes the agent has not reported yet are 0, as upstream's model reads them (never null).
  const body: FogResponse = {
    uuid: row.uuid,
    name: row.name,
    location: row.location,
    description: row.description,
    gpsMode: row.gpsMode,
    latitude: row.latitude,
    longitude: row.longitude,
    gpsStatus: row.gpsStatus,
    daemonStatus: row.daemonStatus,
    securityStatus: row.securityStatus,
    warningMessage: row.warningMessage,
    lastActive: row.lastActive ?? 0,
    daemonOperatingDuration: row.daemonOperatingDuration,
    daemonLastStart: row.daemonLastStart ?? 0,
    memoryUsage: row.memoryUsage,
    diskUsage: row.diskUsage,
    cpuUsage: row.cpuUsage,
    memoryViolation: row.memoryViolation,
    diskViolation: row.diskViolation,
    cpuViolation: row.cpuViolation,
    systemTotalCpu: row.systemTotalCpu,
    systemAvailableDisk: row.systemAvailableDisk ?? 0,
    systemAvailableMemory: row.systemAvailableMemory ?? 0,
    repositoryCount: row.repositoryCount,
    repositoryStatus: row.repositoryStatus,
    // Reported by the agent: how many volume mounts it has applied, and when it last changed them.
    activeVolumeMounts: row.activeVolumeMounts,
    volumeMountLastUpdate: row.volumeMountLastUpdate ?? 0,
    volumeMounts: extra.volumeMounts,
    systemTime: row.systemTime ?? 0,
    lastStatusTime: row.lastStatusTime ?? 0,
    lastCommandTime: row.lastCommandTime ?? 0,
    ipAddress: row.ipAddress,
    ipAddressExternal: row.ipAddressExternal,
    networkInterface: row.networkInterface,
    containerEngine: row.containerEngine,
    containerEngineUrl: row.containerEngineUrl,
    deploymentType: row.deploymentType,
    diskLimit: row.diskLimit,
    diskDirectory: row.diskDirectory,
    memoryLimit: row.memoryLimit,
    cpuLimit: row.cpuLimit,
    logLimit: row.logLimit,
    logDirectory: row.logDirectory,
    logFileCount: row.logFileCount,
    statusFrequency: row.statusFrequency,
    changeFrequency: row.changeFrequency,
    gpsDevice: row.gpsDevice,
    gpsScanFrequency: row.gpsScanFrequency,
    edgeGuardFrequency: row.edgeGuardFrequency,
    watchdogEnabled: row.watchdogEnabled,
    pruningFrequency: row.pruningFrequency,
    availableDiskThreshold: row.availableDiskThreshold,
    logLevel: row.logLevel,
    timeZone: row.timeZone,
    bluetoothEnabled: row.bluetoothEnabled,
    abstractedHardwareEnabled: row.abstractedHardwareEnabled,
    version: row.version,
    isReadyToUpgrade: row.isReadyToUpgrade,
    isReadyToRollback: row.isReadyToRollback,
    tunnel: row.tunnelStatus,
    isSystem: row.isSystem,
    archId: row.archId,
    arch: { ...arch },
    availableRuntimes: parseList(row.availableRuntimes),
    host: row.host,
    routerMode: row.routerMode as FogResponse['routerMode'],
    messagingPort: row.messagingPort,
    interRouterPort: row.interRouterPort,
    edgeRouterPort: row.edgeRouterPort,
    upstreamRouters: upstreamRoutersView(row),
    // A fog without a router of its own uses the default one unless it names another, and v3.8 shows so.
    networkRouter: row.routerMode === 'none' ? (row.networkRouter ?? 'default-router') : row.networkRouter,
    natsMode: row.natsMode as FogResponse['natsMode'],
    natsServerPort: row.natsServerPort,
    natsLeafPort: row.natsLeafPort,
    natsClusterPort: row.natsClusterPort,
    natsMqttPort: row.natsMqttPort,
    natsHttpPort: row.natsHttpPort,
    jsStorageSize: row.jsStorageSize,
    jsMemoryStoreSize: row.jsMemoryStoreSize,
    upstreamNatsServers: parseList(row.upstreamNatsServers),
    tags: parseList(row.tags),
    platformStatus: extra.platformStatus as FogResponse['platformStatus'],
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
  // A fog whose deletion was asked for shows that, whatever its last reconcile said.
  if (row.deleteRequestedAt !== null) {
    body.platformStatus = {
      phase: 'Deleting',
      generation: row.specGeneration,
      observedGeneration: row.specGeneration,
      lastError: null,
      lastTransitionAt: iso(row.deleteRequestedAt),
      conditions: [],
    };
  }
  return body;
}

/** The volume mounts linked to each of `uuids` (all fogs when undefined). */
const mountsOf = (db: Db) =>
  db
    .select({
      fogUuid: volumeMountFog.fogUuid,
      name: volumeMount.name,
      version: volumeMount.version,
      configMapName: volumeMount.configMapName,
      secretName: volumeMount.secretName,
    })
    .from(volumeMountFog)
    .innerJoin(volumeMount, eq(volumeMount.uuid, volumeMountFog.volumeMountUuid));
const mountsOfFogs = InListSelect.from((db, fogs) =>
  mountsOf(db).where(inArray(volumeMountFog.fogUuid, fogs)).orderBy(asc(volumeMount.name)),
);
const statusesOfFogs = InListSelect.from((db, fogs) => db.select().from(fogPlatformStatus).where(inArray(fogPlatformStatus.fogUuid, fogs)));

async function volumeMountsOf(ctx: AppCtx, uuids?: string[]): Promise<Map<string, FogVolumeMounts>> {
  const rows = uuids ? await mountsOfFogs.all(ctx.db, uuids) : await mountsOf(ctx.db).orderBy(asc(volumeMount.name));
  const out = new Map<string, FogVolumeMounts>();
  for (const { fogUuid, ...m } of rows) out.set(fogUuid, [...(out.get(fogUuid) ?? []), m]);
  return out;
}

/** GET /iofog/{uuid}. */
export async function getFog(ctx: AppCtx, uuid: string): Promise<FogResponse> {
  const row = await requireFog(ctx, uuid);
  const [[status], mounts] = await Promise.all([
    ctx.db.select().from(fogPlatformStatus).where(eq(fogPlatformStatus.fogUuid, uuid)).limit(1),
    volumeMountsOf(ctx, [uuid]),
  ]);
  return toFogResponse(row, { platformStatus: platformStatusView(row, status), volumeMounts: mounts.get(uuid) ?? [] });
}

export async function requireFog(ctx: AppCtx, uuid: string): Promise<FogRow> {
  const row = await fogRowByUuid(ctx.db, uuid);
  if (!row) throw notFound(`Fog ${uuid}`);
  return row;
}

export async function createFog(ctx: AppCtx, input: FogCreateInput): Promise<{ uuid: string }> {
  const uuid = ctx.ids.uuid();
  await withTransaction(ctx, async (tx) => {
    const dup = await tx.db.select({ uuid: fog.uuid }).from(fog).where(eq(fog.name, input.name)).limit(1);
    if (dup.length) throw conflict(`A fog named ${input.name} already exists`);
    // The first fog of a control plane becomes its system fog when it can carry the network core (a host,
    // no contrary mode asked for): edge fogs need its default router and NATS hub.
    const first = (await tx.db.select({ uuid: fog.uuid }).from(fog).limit(1)).length === 0;
    const isSystem =
      input.isSystem ??
      (first && Boolean(input.host) && (input.routerMode ?? 'interior') === 'interior' && (input.natsMode ?? 'server') === 'server');
    const routerMode = input.routerMode ?? (isSystem ? 'interior' : 'edge');
    const natsMode = input.natsMode ?? (isSystem ? 'server' : 'leaf');
    const ports = isSystem
      ? {
          interRouterPort: input.interRouterPort ?? SYSTEM_INTER_ROUTER_PORT,
          edgeRouterPort: input.edgeRouterPort ?? SYSTEM_EDGE_ROUTER_PORT,
        }
      : {};
    checkPlatform({ ...input, ...ports, isSystem, routerMode, natsMode }, input.routerMode !== undefined);
    await checkPlatformRefs(
      tx,
      {
        uuid,
        isSystem,
        routerMode,
        natsMode,
        upstreamRouters: input.upstreamRouters,
        upstreamNatsServers: input.upstreamNatsServers,
        networkRouter: input.networkRouter ?? undefined,
      },
      { routers: true, nats: true, networkRouter: true },
    );
    const now = tx.clock.now();
    // Ready to upgrade from the start, as upstream: `version/upgrade` must work before the first status report.
    await tx.db.insert(fog).values({
      ...toColumns(input),
      ...ports,
      uuid,
      name: input.name,
      archId: input.archId,
      isSystem,
      routerMode,
      natsMode,
      isReadyToUpgrade: true,
      createdAt: now,
      updatedAt: now,
    });
    await enqueueFogReconcile(tx, uuid, 'spec-changed', 1);
    if (routerMode === 'interior') await enqueueDownstream(tx, uuid);
    auditTarget(tx, uuid);
  });
  return { uuid };
}

export interface FogFilter {
  key: string;
  value: string;
  condition: 'has' | 'equals';
}

const FILTERABLE = new Set([
  'uuid',
  'name',
  'location',
  'description',
  'daemonStatus',
  'ipAddress',
  'ipAddressExternal',
  'version',
  'routerMode',
  'natsMode',
  'containerEngine',
  'archId',
  'isSystem',
  'host',
  'tags',
]);

/** Fogs read, presented and filtered per page: big enough to amortise the queries, small enough that a page never holds the event loop for long. */
const LIST_PAGE = 50;

// A page of the fleet in name order (the name is unique and indexed): the first, and the one after a name.
// Rendered once; the rows come as one JSON text each (db/wide-rows.ts).
const fogListRows = new WideRows(fog);
const fogListPages = renderOnce((db) => {
  const selection = fogListRows.selection(db);
  const limit = sql.placeholder('limit');
  return {
    first: ReusableSelect.from(db.select(selection).from(fog).orderBy(asc(fog.name)).limit(limit)),
    after: ReusableSelect.from(
      db
        .select(selection)
        .from(fog)
        .where(gt(fog.name, sql.placeholder('after')))
        .orderBy(asc(fog.name))
        .limit(limit),
    ),
  };
});

/**
 * The fleet as `GET /iofog-list` shows it, in name order, one page at a time with the event loop free between
 * pages (at 10,000 fogs one read of everything held every agent request for seconds). `offset` and `limit`
 * count fogs after the filters.
 */
export async function* fogPages(
  ctx: AppCtx,
  filters: FogFilter[],
  window: { offset?: number; limit?: number } = {},
): AsyncGenerator<FogResponse[]> {
  for (const f of filters) {
    if (!FILTERABLE.has(f.key)) throw invalid(`filters: unknown key "${f.key}" (one of ${[...FILTERABLE].join(', ')})`);
  }
  let skip = window.offset ?? 0;
  let left = window.limit ?? Number.POSITIVE_INFINITY;
  let after: string | undefined;
  while (left > 0) {
    const pages = fogListPages(ctx.db);
    const selected =
      after === undefined
        ? await pages.first.all(ctx.db, { limit: LIST_PAGE })
        : await pages.after.all(ctx.db, { after, limit: LIST_PAGE });
    const rows = fogListRows.rows(ctx.db, selected as Array<Record<string, unknown>>);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.name;
    const uuids = rows.map((r) => r.uuid);
    const [statusRows, mounts] = await Promise.all([statusesOfFogs.all(ctx.db, uuids), volumeMountsOf(ctx, uuids)]);
    const statuses = new Map(statusRows.map((st) => [st.fogUuid, st]));
    let page = rows
      .map((r) => toFogResponse(r, { platformStatus: platformStatusView(r, statuses.get(r.uuid)), volumeMounts: mounts.get(r.uuid) ?? [] }))
      .filter((f) =>
        filters.every(({ key, value, condition }) => {
          const v = (f as Record<string, unknown>)[key];
          const text = Array.isArray(v) ? v.join(',') : String(v ?? '');
          return condition === 'equals' ? text === value : text.toLowerCase().includes(value.toLowerCase());
        }),
      );
    if (skip > 0) {
      const dropped = Math.min(skip, page.length);
      page = page.slice(dropped);
      skip -= dropped;
    }
    if (page.length > left) page = page.slice(0, left);
    left -= page.length;
    if (page.length > 0) yield page;
    if (rows.length < LIST_PAGE) return;
    await yieldToEventLoop();
  }
}

/** The whole (filtered) list at once, for callers inside the Controller (templating filters). */
export async function listFogs(ctx: AppCtx, filters: FogFilter[]): Promise<FogResponse[]> {
  const out: FogResponse[] = [];
  for await (const page of fogPages(ctx, filters)) out.push(...page);
  return out;
}

export async function updateFog(ctx: AppCtx, uuid: string, given: FogInput): Promise<void> {
  const current = await requireFog(ctx, uuid);
  if (current.deleteRequestedAt !== null) throw new ServiceError('CONFLICT', `Fog ${uuid} is being deleted`);
  // What GET shows for defaults it fills in (`upstreamRouters: ["default-router"]`, a routerless fog's
  // `networkRouter: "default-router"`), sent back as is, leaves the stored (unset) value alone.
  const input = { ...given };
  if (input.upstreamRouters && JSON.stringify(input.upstreamRouters) === JSON.stringify(upstreamRoutersView(current)))
    delete input.upstreamRouters;
  if (input.networkRouter === 'default-router' && current.routerMode === 'none' && current.networkRouter === null)
    delete input.networkRouter;
  const merged = {
    host: current.host ?? undefined,
    interRouterPort: current.interRouterPort ?? undefined,
    edgeRouterPort: current.edgeRouterPort ?? undefined,
    ...input,
    routerMode: input.routerMode ?? current.routerMode,
  };
  if (input.isSystem !== undefined && input.isSystem !== current.isSystem) throw invalid('isSystem: immutable after creation');
  // The system-fog rules apply to the modes a request sets (a fog stored before they existed keeps working).
  merged.isSystem = current.isSystem && (input.routerMode !== undefined || input.natsMode !== undefined);
  merged.natsMode = input.natsMode ?? (current.natsMode as FogInput['natsMode']);
  // Sending the stored mode back (a client editing the fog's own GET body) is not asking for it anew.
  checkPlatform(merged, input.routerMode !== undefined && input.routerMode !== current.routerMode);
  const cols = toColumns(input);
  // Lists are stored as JSON text (an unset one as null): compare what they hold, so sending a fog's own
  // GET body back is no change.
  const differs = (k: string) => {
    if (!(k in cols)) return false;
    const want = (cols as Record<string, unknown>)[k];
    const have = (current as Record<string, unknown>)[k];
    if (k === 'upstreamRouters' || k === 'upstreamNatsServers' || k === 'tags')
      return want !== JSON.stringify(parseList(have as string | null));
    return want !== have;
  };
  const configChanged = AGENT_CONFIG_KEYS.some(differs);
  const routerChanged = ROUTER_KEYS.some(differs);
  const platformChanged = PLATFORM_KEYS.some(differs);
  await withTransaction(ctx, async (tx) => {
    if (input.name && input.name !== current.name) {
      const dup = await tx.db
        .select({ uuid: fog.uuid })
        .from(fog)
        .where(and(eq(fog.name, input.name), ne(fog.uuid, uuid)))
        .limit(1);
      if (dup.length) throw conflict(`A fog named ${input.name} already exists`);
    }
    const routerModeChanged = merged.routerMode !== current.routerMode;
    const natsModeChanged = merged.natsMode !== current.natsMode;
    await checkPlatformRefs(
      tx,
      {
        uuid,
        isSystem: current.isSystem,
        routerMode: merged.routerMode,
        natsMode: merged.natsMode ?? current.natsMode,
        upstreamRouters: input.upstreamRouters ?? (current.upstreamRouters ? parseList(current.upstreamRouters) : undefined),
        upstreamNatsServers:
          input.upstreamNatsServers ?? (current.upstreamNatsServers ? parseList(current.upstreamNatsServers) : undefined),
        networkRouter: input.networkRouter ?? undefined,
      },
      {
        routers: input.upstreamRouters !== undefined || routerModeChanged,
        nats: input.upstreamNatsServers !== undefined || natsModeChanged,
        networkRouter: input.networkRouter !== undefined || routerModeChanged,
      },
    );
    // An interior router other fogs name as their upstream cannot become an edge router: edge routers accept no links.
    if (current.routerMode === 'interior' && merged.routerMode === 'edge') {
      const users = (
        await tx.db
          .select({ name: fog.name, up: fog.upstreamRouters })
          .from(fog)
          .where(and(ne(fog.uuid, uuid), isNull(fog.deleteRequestedAt)))
      ).filter((o) => o.up && parseList(o.up).some((r) => r === uuid || r === current.name));
      if (users.length)
        throw invalid(
          `routerMode: fog ${current.name} is the upstream router of ${users.map((u) => u.name).join(', ')}; it cannot become an edge router`,
        );
    }
    await tx.db
      .update(fog)
      .set({ ...cols, ...(platformChanged ? { specGeneration: current.specGeneration + 1 } : {}), updatedAt: tx.clock.now() })
      .where(eq(fog.uuid, uuid));
    if (configChanged) await raiseFlags(tx, [uuid], ['config']);
    // A router change (v3.8 updateRouter): the agent re-reads its router, its microservice list and their
    // configuration at once, without waiting for the reconcile to rewrite the router microservice.
    if (routerChanged && (current.routerMode !== 'none' || merged.routerMode !== 'none'))
      await raiseFlags(tx, [uuid], ['routerChanged', 'microserviceList', 'microserviceConfig']);
    if (platformChanged || (input.name !== undefined && input.name !== current.name)) {
      await enqueueFogReconcile(tx, uuid, 'spec-changed', current.specGeneration + (platformChanged ? 1 : 0));
      // Its host or ports are other routers' upstream connectors.
      if (platformChanged && (current.routerMode === 'interior' || merged.routerMode === 'interior')) await enqueueDownstream(tx, uuid);
    }
  });
}

/**
 * Deletes a fog. A fog with a provisioned agent gets `deleteNode`; the agent confirms with
 * DELETE /agent/delete-node, which removes the row, and if it never does the fog-status job removes it
 * after DELETE_GRACE_MS. A fog without an agent key (never provisioned, or deprovisioned) has nobody to
 * confirm: it is removed at once, so its name can be reused right away.
 */
export async function deleteFog(ctx: AppCtx, uuid: string): Promise<void> {
  const current = await requireFog(ctx, uuid);
  if (current.deleteRequestedAt !== null) return;
  const hasAgent = await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    // Marked in the same transaction as the key is read: a provisioning that commits after this refuses a
    // fog being deleted, so a fog judged agent-less cannot gain an agent before it goes.
    await tx.db.update(fog).set({ deleteRequestedAt: now, updatedAt: now }).where(eq(fog.uuid, uuid));
    const [key] = await tx.db.select({ fogUuid: fogPublicKey.fogUuid }).from(fogPublicKey).where(eq(fogPublicKey.fogUuid, uuid)).limit(1);
    if (current.routerMode === 'interior') await enqueueDownstream(tx, uuid);
    if (!key) return false;
    await raiseFlags(tx, [uuid], ['deleteNode']);
    await enqueueFogReconcile(tx, uuid, 'delete', current.specGeneration);
    return true;
  });
  if (hasAgent) return;
  // The platform teardown the reconcile worker would do (routerless fogs on this router go back to the
  // default one), then the row. If the teardown fails, the row still goes: what is left is named after
  // the fog and removeFog drops it too.
  await reconcileFog(ctx, uuid, true).catch((err) =>
    ctx.logger.warn('platform teardown of a removed fog failed', { fogUuid: uuid, err: String(err) }),
  );
  await removeFog(ctx, uuid);
}

/** Removes the fog row and everything that hangs off it. */
export async function removeFog(ctx: AppCtx, uuid: string): Promise<boolean> {
  const [f] = await ctx.db.select({ name: fog.name }).from(fog).where(eq(fog.uuid, uuid)).limit(1);
  // Its router certificates and mounts are named after it; they go with it.
  if (f) {
    await dropRouterMaterial(ctx, f).catch((err) =>
      ctx.logger.warn('router certificates of a removed fog not cleaned', { fogUuid: uuid, err: String(err) }),
    );
    await dropNatsMaterial(ctx, f).catch((err) =>
      ctx.logger.warn('NATS material of a removed fog not cleaned', { fogUuid: uuid, err: String(err) }),
    );
  }
  const removed = await withTransaction(ctx, async (tx) => (await tx.db.delete(fog).where(eq(fog.uuid, uuid))).rowsAffected > 0);
  ctx.agentKeys.invalidate(uuid);
  ctx.agentActivity.forget(uuid);
  return removed;
}

const KEY_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A fresh single-use provisioning key (stored hashed), valid 20 minutes. */
export async function createProvisioningKey(ctx: AppCtx, uuid: string): Promise<{ key: string; expirationTime: number }> {
  const current = await requireFog(ctx, uuid);
  if (current.deleteRequestedAt !== null) throw new ServiceError('CONFLICT', `Fog ${uuid} is being deleted`);
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const key = [...bytes].map((b) => KEY_ALPHABET[b % KEY_ALPHABET.length]).join('');
  const keyHash = await sha256Hex(key);
  const now = ctx.clock.now();
  const expirationTime = now + PROVISIONING_KEY_TTL_MS;
  await withTransaction(ctx, async (tx) => {
    await tx.db.insert(fogProvisioningKey).values({ keyHash, fogUuid: uuid, expiresAt: expirationTime, createdAt: now });
  });
  return { key, expirationTime };
}

export async function queueVersionCommand(ctx: AppCtx, uuid: string, command: 'upgrade' | 'rollback', semver?: string): Promise<void> {
  const current = await requireFog(ctx, uuid);
  if (command === 'upgrade' && !current.isReadyToUpgrade)
    throw invalid('versionCommand: the agent is not ready to upgrade (isReadyToUpgrade is false)');
  if (command === 'rollback' && !current.isReadyToRollback)
    throw invalid('versionCommand: the agent is not ready to roll back (isReadyToRollback is false)');
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db
      .insert(fogVersionCommand)
      .values({ fogUuid: uuid, command, semver: semver ?? null, createdAt: now })
      .onConflictDoUpdate({ target: fogVersionCommand.fogUuid, set: { command, semver: semver ?? null, createdAt: now } });
    await raiseFlags(tx, [uuid], ['version']);
  });
}

export async function queueCommand(ctx: AppCtx, uuid: string, flag: 'reboot' | 'prune'): Promise<void> {
  await requireFog(ctx, uuid);
  await withTransaction(ctx, (tx) => raiseFlags(tx, [uuid], [flag]));
}

export async function getTunnel(ctx: AppCtx, uuid: string) {
  await requireFog(ctx, uuid);
  const [t] = await ctx.db.select().from(fogTunnel).where(eq(fogTunnel.fogUuid, uuid)).limit(1);
  if (!t) return { username: '', host: '', remotePort: 0, localPort: 22, status: 'closed' as const };
  return {
    username: t.username,
    host: t.host,
    remotePort: t.remotePort,
    localPort: t.localPort,
    status: t.closed ? ('closed' as const) : ('open' as const),
  };
}

/**
 * Opens or closes the SSH reverse tunnel. Opening needs the relay's connection details, which the
 * tunnel relay configuration provides; until one is configured (`host` set on the tunnel row), open is refused.
 */
export async function setTunnel(ctx: AppCtx, uuid: string, action: 'open' | 'close'): Promise<void> {
  await requireFog(ctx, uuid);
  const [t] = await ctx.db.select().from(fogTunnel).where(eq(fogTunnel.fogUuid, uuid)).limit(1);
  if (action === 'open' && !t?.host) throw invalid('action: no tunnel relay is configured for this fog');
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    if (t)
      await tx.db
        .update(fogTunnel)
        .set({ closed: action === 'close', updatedAt: now })
        .where(eq(fogTunnel.fogUuid, uuid));
    else await tx.db.insert(fogTunnel).values({ fogUuid: uuid, closed: true, updatedAt: now });
    await raiseFlags(tx, [uuid], ['tunnel']);
  });
}

/**
 * What the agent reported about its hardware or USB devices; null when it reported nothing (the Java
 * agent's legacy HAL, which Edgelet never sends — v3.8 answers such a fog with 200 and an empty body).
 */
export async function getHal(ctx: AppCtx, uuid: string, kind: 'hw' | 'usb'): Promise<{ info: string } | null> {
  await requireFog(ctx, uuid);
  const [h] = await ctx.db.select().from(fogHal).where(eq(fogHal.fogUuid, uuid)).limit(1);
  const info = h?.[kind];
  return info === undefined || info === null ? null : { info };
}
