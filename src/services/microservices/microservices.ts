import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import {
  application,
  catalogItem,
  fog,
  microservice,
  microserviceStatus,
  registry,
  natsUser,
  natsAccount,
  wsSession,
} from '../../../db/schema/index';
import type { Db } from '../../../db/client';
import { ReusableSelect, ReusableStatement, inListSlots, inListValues, renderOnce } from '../../../db/statements';
import { isPg } from '../../../db/dialect';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { ServiceError, conflict, forbidden, invalid, notFound } from '../../errors';
import { raiseFlags } from '../changes/flags';
import { auditTarget } from '../events/audit';
import {
  agentServiceAccounts,
  checkMicroserviceRole,
  dropMicroserviceAccounts,
  ensureMicroserviceAccount,
  renameMicroserviceAccount,
} from '../rbac/objects';
import { listRules } from '../nats/auth';
import { prepareWorkloadNats, writeWorkloadNats, type PreparedNats } from '../nats/workload-users';
import { slug } from '../nats/rules';
import { enqueueNatsFogs } from '../platform/fog-platform';
import { checkMountMappings, linkMountsToFog, resolveEnvSource } from '../config/resources';
import { fogRowByUuid } from '../fogs/fog-row';
import type { z } from '@hono/zod-openapi';
import type { ImageSchema, MicroserviceInput, MicroserviceResponse, PortSchema, VolumeSchema } from './schemas';
import type { ControllerRegisterInput } from '../agent/schemas';

export type MicroserviceRow = typeof microservice.$inferSelect;
type AppRow = typeof application.$inferSelect;
type FogRow = typeof fog.$inferSelect;

/** External ports the Edgelet host keeps for itself (local API, debugging, DNS). */
export const RESERVED_PORTS = [54321, 54322, 53];

export type Image = z.infer<typeof ImageSchema>;
export type PortMapping = z.infer<typeof PortSchema>;
/** As stored: `id` is the mapping's position, given when the list is written. */
export type VolumeMapping = z.infer<typeof VolumeSchema> & { id?: number };
/** One of `value`, `valueFromSecret` or `valueFromConfigMap` (`name/key`; resolved when delivered to the agent). */
export type EnvVar = NonNullable<MicroserviceInput['env']>[number];
export type { MicroserviceInput };

/** Every env entry that reads a secret or config map must name an existing key (400 otherwise). */
async function checkEnvSources(ctx: AppCtx, env: EnvVar[] | undefined): Promise<void> {
  for (const [i, e] of (env ?? []).entries()) {
    if (e.valueFromSecret !== undefined) await resolveEnvSource(ctx, 'secret', e.valueFromSecret, `env[${i}].valueFromSecret`);
    if (e.valueFromConfigMap !== undefined) await resolveEnvSource(ctx, 'configMap', e.valueFromConfigMap, `env[${i}].valueFromConfigMap`);
  }
}

const json = (v: unknown) => JSON.stringify(v);
const parse = <T>(text: string | null, fallback: T): T => {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

// ---- reading ----

export async function requireApplication(ctx: AppCtx, name: string): Promise<AppRow> {
  const [app] = await ctx.db.select().from(application).where(eq(application.name, name)).limit(1);
  if (!app) throw notFound(`Application ${name}`);
  return app;
}

export async function requireMicroservice(ctx: AppCtx, uuid: string): Promise<MicroserviceRow & { app: AppRow }> {
  const [row] = await ctx.db
    .select({ ms: microservice, app: application })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .where(eq(microservice.uuid, uuid))
    .limit(1);
  if (!row) throw notFound(`Microservice ${uuid}`);
  return { ...row.ms, app: row.app };
}

/**
 * The exec state of each microservice from its open exec sessions: ACTIVE when one has both ends, else
 * PENDING while an operator waits for the agent, INACTIVE without a session.
 */
async function execStatusOf(ctx: AppCtx, uuids: string[]): Promise<Map<string, MicroserviceResponse['execStatus']>> {
  const rows = await ctx.db
    .select({ uuid: wsSession.microserviceUuid, sessionId: wsSession.sessionId, status: wsSession.status })
    .from(wsSession)
    .where(and(eq(wsSession.kind, 'exec'), inArray(wsSession.microserviceUuid, uuids)))
    .orderBy(asc(wsSession.createdAt));
  const out = new Map<string, MicroserviceResponse['execStatus']>();
  for (const r of rows) {
    if (!r.uuid || out.get(r.uuid)?.status === 'ACTIVE') continue;
    out.set(r.uuid, { status: r.status, execSessionId: r.sessionId });
  }
  return out;
}

export async function presentMicroservices(ctx: AppCtx, rows: Array<MicroserviceRow & { app: AppRow }>): Promise<MicroserviceResponse[]> {
  if (rows.length === 0) return [];
  const uuids = rows.map((r) => r.uuid);
  const fogUuids = [...new Set(rows.map((r) => r.fogUuid).filter((u): u is string => Boolean(u)))];
  const [statuses, fogs, execs] = await Promise.all([
    ctx.db.select().from(microserviceStatus).where(inArray(microserviceStatus.microserviceUuid, uuids)),
    fogUuids.length ? ctx.db.select({ uuid: fog.uuid, name: fog.name }).from(fog).where(inArray(fog.uuid, fogUuids)) : Promise.resolve([]),
    execStatusOf(ctx, uuids),
  ]);
  const statusOf = new Map(statuses.map((s) => [s.microserviceUuid, s]));
  const fogName = new Map(fogs.map((f) => [f.uuid, f.name]));
  const accounts = await agentServiceAccounts(ctx, rows);
  return rows.map((r) => {
    const s = statusOf.get(r.uuid);
    return {
      uuid: r.uuid,
      name: r.name,
      config: r.config,
      // Upstream stores '{}' when none are given; operators never see null.
      annotations: r.annotations ?? '{}',
      application: r.app.name,
      applicationId: r.applicationId,
      isActivated: !r.stopped,
      iofogUuid: r.fogUuid,
      agentName: r.fogUuid ? (fogName.get(r.fogUuid) ?? null) : null,
      images: parse<Image[]>(r.images, []),
      registryId: r.registryId,
      catalogItemId: r.catalogItemId,
      hostNetworkMode: r.hostNetworkMode,
      isPrivileged: r.isPrivileged,
      pidMode: r.pidMode,
      ipcMode: r.ipcMode,
      cpuSetCpus: r.cpuSetCpus,
      runAsUser: r.runAsUser,
      platform: r.platform,
      runtime: r.runtime,
      memoryLimit: r.memoryLimit,
      logSize: r.logSize,
      schedule: r.schedule,
      env: parse<EnvVar[]>(r.env, []),
      extraHosts: parse<Array<{ name: string; address: string }>>(r.extraHosts, []),
      cmd: parse<string[]>(r.cmd, []),
      cdiDevices: parse<string[]>(r.cdiDevices, []),
      capAdd: parse<string[]>(r.capAdd, []),
      capDrop: parse<string[]>(r.capDrop, []),
      healthCheck: parse<MicroserviceResponse['healthCheck']>(r.healthCheck, {}),
      // Upstream always names the protocol; mappings stored without one are TCP.
      ports: parse<PortMapping[]>(r.ports, []).map((p) => ({ internal: p.internal, external: p.external, protocol: p.protocol ?? 'tcp' })),
      volumeMappings: parse<VolumeMapping[]>(r.volumeMappings, []).map((v, i) => ({
        id: v.id ?? i + 1,
        hostDestination: v.hostDestination,
        containerDestination: v.containerDestination,
        accessMode: v.accessMode,
        type: v.type === 'volume' || v.type === 'volumeMount' ? v.type : 'bind',
      })),
      natsConfig: { natsAccess: r.natsAccess, ...(r.natsRule ? { natsRule: r.natsRule } : {}) },
      isRouter: r.isRouter,
      isNats: r.isNats,
      isController: r.isController,
      rebuild: r.rebuild,
      serviceAccount: ((a) => (a ? { name: a.name, roleRef: a.roleRef } : null))(accounts.get(`${r.applicationId}/${r.name}`)),
      status: {
        status: r.markedForDelete ? 'MARKED_FOR_DELETION' : r.stopped ? 'STOPPED' : (s?.status ?? 'QUEUED'),
        percentage: s?.percentage ?? 0,
        containerId: s?.containerId ?? '',
        startTime: s?.startTime ?? 0,
        operatingDuration: s?.operatingDuration ?? 0,
        cpuUsage: Number(s?.cpuUsage ?? 0),
        memoryUsage: Number(s?.memoryUsage ?? 0),
        ipAddress: s?.ipAddress ?? '',
        healthStatus: s?.healthStatus ?? '',
        errorMessage: s?.errorMessage ?? '',
        execSessionIds: parse<string[]>(s?.execSessionIds ?? '[]', []),
      },
      execStatus: execs.get(r.uuid) ?? { status: 'INACTIVE', execSessionId: '' },
      createdAt: new Date(r.createdAt).toISOString(),
      updatedAt: new Date(r.updatedAt).toISOString(),
    };
  });
}

export async function listMicroservices(ctx: AppCtx, opts: { system: boolean; applicationName?: string }) {
  const conds = [eq(application.isSystem, opts.system)];
  if (opts.applicationName) conds.push(eq(application.name, opts.applicationName));
  const rows = await ctx.db
    .select({ ms: microservice, app: application })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .where(and(...conds))
    .orderBy(asc(application.name), asc(microservice.name));
  return presentMicroservices(
    ctx,
    rows.map((r) => ({ ...r.ms, app: r.app })),
  );
}

// ---- validation ----

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw invalid(`${what}: must be a lower-case DNS label (letters, digits, "-"), 1-63 characters`);
}

async function resolveFog(ctx: AppCtx, input: MicroserviceInput): Promise<FogRow | undefined> {
  if (input.iofogUuid) {
    const f = await fogRowByUuid(ctx.db, input.iofogUuid);
    if (!f) throw invalid(`iofogUuid: no fog ${input.iofogUuid}`);
    return f;
  }
  if (input.agentName) {
    const [f] = await ctx.db.select().from(fog).where(eq(fog.name, input.agentName)).limit(1);
    if (!f) throw invalid(`agentName: no fog named ${input.agentName}`);
    return f;
  }
  return undefined;
}

/** The image the agent of `archId` runs, or undefined. Arch 0 (auto) takes the first image. */
export function imageFor(images: Image[], archId: number): string | undefined {
  if (archId === 0) return images[0]?.containerImage;
  return images.find((i) => i.archId === archId)?.containerImage;
}

function checkImages(images: Image[] | undefined, target: FogRow | undefined, field = 'images'): void {
  if (!images) return;
  if (images.length === 0) throw invalid(`${field}: at least one image is required`);
  if (new Set(images.map((i) => i.archId)).size !== images.length) throw invalid(`${field}: archId must be unique`);
  if (target && target.archId !== 0 && !imageFor(images, target.archId)) {
    throw invalid(`${field}: no image for the architecture of fog ${target.name} (archId ${target.archId})`);
  }
}

function checkRuntime(runtime: string | undefined, target: FogRow | undefined): void {
  if (!runtime || !target) return;
  const available = parse<string[]>(target.availableRuntimes, []);
  // Fogs that have not reported yet cannot be checked; their agent rejects an unknown runtime itself.
  if (available.length > 0 && !available.includes(runtime)) {
    throw invalid(`runtime: "${runtime}" is not available on fog ${target.name} (available: ${available.join(', ')})`);
  }
}

function checkPorts(ports: PortMapping[] | undefined): void {
  if (!ports) return;
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    if (RESERVED_PORTS.includes(p.external))
      throw invalid(`ports[${i}].external: port ${p.external} is reserved (${RESERVED_PORTS.join(', ')})`);
    const key = `${p.external}/${p.protocol ?? 'tcp'}`;
    if (seen.has(key)) throw invalid(`ports[${i}].external: port ${key} is mapped twice`);
    seen.add(key);
  });
}

/** External ports must be free on the fog (other microservices on the same host). */
async function checkPortsFree(
  ctx: AppCtx,
  fogUuid: string | null | undefined,
  ports: PortMapping[] | undefined,
  self?: string,
): Promise<void> {
  if (!fogUuid || !ports?.length) return;
  const others = await ctx.db
    .select({ uuid: microservice.uuid, name: microservice.name, ports: microservice.ports })
    .from(microservice)
    .where(eq(microservice.fogUuid, fogUuid));
  const used = new Map<string, string>();
  for (const o of others) {
    if (o.uuid === self) continue;
    for (const p of parse<PortMapping[]>(o.ports, [])) used.set(`${p.external}/${p.protocol ?? 'tcp'}`, o.name);
  }
  ports.forEach((p, i) => {
    const owner = used.get(`${p.external}/${p.protocol ?? 'tcp'}`);
    if (owner) throw invalid(`ports[${i}].external: port ${p.external} is already used by microservice ${owner} on this fog`);
  });
}

async function checkRegistry(ctx: AppCtx, registryId: number | undefined): Promise<void> {
  if (registryId === undefined) return;
  const [r] = await ctx.db.select({ id: registry.id }).from(registry).where(eq(registry.id, registryId)).limit(1);
  if (!r) throw invalid(`registryId: no registry ${registryId}`);
}

/**
 * The service account of a microservice is system-managed and immutable from this side: a user-supplied
 * `type: serviceAccount` entry is dropped (operator-api §3.3), never stored or sent to the agent. The
 * account reaches the agent as the `serviceAccount` object of its microservice (agent-api §4.1) — not
 * as a volume mapping, because Edgelet reads any volume type it does not know as a host bind mount
 * (its microservice parser maps everything but `volume`/`volumeMount` to BIND), so a `serviceAccount`
 * mapping would make it bind-mount a host path named after the account.
 */
function normalizeVolumes(list: VolumeMapping[] | undefined): VolumeMapping[] | undefined {
  if (!list) return undefined;
  const kept = list.map((v, i) => [v, i] as const).filter(([v]) => v.type !== 'serviceAccount');
  return kept.map(([v, i], n) => {
    const type = v.type ?? 'bind';
    if (type === 'volume' && !/^[a-zA-Z0-9_.-]/.test(v.hostDestination))
      throw invalid(`volumeMappings[${i}].hostDestination: a volume name must start with a letter, digit, "_", "." or "-"`);
    if (type === 'bind' && !v.hostDestination.startsWith('/'))
      throw invalid(`volumeMappings[${i}].hostDestination: a bind mount needs an absolute host path`);
    return { id: n + 1, hostDestination: v.hostDestination, containerDestination: v.containerDestination, accessMode: v.accessMode, type };
  });
}

/**
 * The stored config text. Upstream clients send JSON text, sometimes with its quotes escaped (`{\\"a\\":1}`);
 * upstream unescapes those and stores whatever string it gets, so we do the same for text that is not
 * JSON as sent (JSON text is kept byte for byte). An object is stored as its JSON text.
 */
function configText(c: MicroserviceInput['config']): string | undefined {
  if (c === undefined) return undefined;
  if (typeof c !== 'string') return JSON.stringify(c);
  try {
    JSON.parse(c);
    return c;
  } catch {
    return c.split('\\"').join('"');
  }
}

/** The node controller registers its config as JSON text (agent contract). */
function checkConfig(text: string | undefined): void {
  if (text === undefined) return;
  try {
    JSON.parse(text);
  } catch {
    throw invalid('config: must be a JSON document (object or JSON text)');
  }
}

/** GET answers null for these when nothing is set; sent back, null leaves them as they are. */
function dropNullRefs<T extends MicroserviceInput>(input: T): T {
  const out = { ...input };
  for (const k of ['iofogUuid', 'agentName', 'catalogItemId', 'serviceAccount'] as const) if (out[k] === null) delete out[k];
  return out;
}

function columns(input: MicroserviceInput): Partial<typeof microservice.$inferInsert> {
  const out: Partial<typeof microservice.$inferInsert> = {};
  const copy = [
    'registryId',
    'catalogItemId',
    'annotations',
    'hostNetworkMode',
    'isPrivileged',
    'pidMode',
    'ipcMode',
    'cpuSetCpus',
    'runAsUser',
    'platform',
    'runtime',
    'memoryLimit',
    'logSize',
    'schedule',
  ] as const;
  for (const k of copy) if (input[k] !== undefined) (out as Record<string, unknown>)[k] = input[k];
  const cfg = configText(input.config);
  if (cfg !== undefined) out.config = cfg;
  const jsonCols = ['images', 'env', 'extraHosts', 'cmd', 'cdiDevices', 'capAdd', 'capDrop', 'healthCheck', 'ports'] as const;
  for (const k of jsonCols) if (input[k] !== undefined) (out as Record<string, unknown>)[k] = json(input[k]);
  const vols = normalizeVolumes(input.volumeMappings);
  if (vols) out.volumeMappings = json(vols);
  if (input.natsConfig) {
    out.natsAccess = input.natsConfig.natsAccess;
    // natsAccess false clears the rule (§4.9).
    out.natsRule = input.natsConfig.natsAccess ? (input.natsConfig.natsRule ?? null) : null;
  }
  return out;
}

/** natsConfig checks (§4.9): the user rule must exist; the workload needs a NATS server to reach. */
async function checkNats(ctx: AppCtx, nats: MicroserviceInput['natsConfig'], target: FogRow | undefined): Promise<void> {
  if (!nats?.natsAccess) return;
  if (nats.natsRule !== undefined) {
    const rules = await listRules(ctx, 'user');
    if (!rules.some((r) => (r as { name: string }).name === nats.natsRule))
      throw invalid(`natsConfig.natsRule: no NATS user rule named ${nats.natsRule}`);
  }
  if (target && target.natsMode !== 'none') return;
  const [hub] = await ctx.db
    .select({ uuid: fog.uuid })
    .from(fog)
    .where(and(eq(fog.isSystem, true), eq(fog.natsMode, 'server')))
    .limit(1);
  if (!hub)
    throw invalid(
      'natsConfig.natsAccess: the microservice has no NATS server to reach (its fog has natsMode none and there is no NATS hub)',
    );
}

// ---- writing ----

/** Validates a create input against the database; returns what the insert needs. */
export async function prepareCreate(
  ctx: AppCtx,
  given: MicroserviceInput & { name: string },
): Promise<{ target?: FogRow; cols: Partial<typeof microservice.$inferInsert>; mounts: string[] }> {
  let input = dropNullRefs(given);
  checkName('name', input.name);
  if (input.catalogItemId !== undefined && input.catalogItemId !== null) {
    const [item] = await ctx.db.select().from(catalogItem).where(eq(catalogItem.id, input.catalogItemId)).limit(1);
    if (!item) throw invalid(`catalogItemId: no catalog item ${input.catalogItemId}`);
    const itemImages = parse<Image[]>(item.images, []);
    if (
      input.images &&
      JSON.stringify([...input.images].sort((a, b) => a.archId - b.archId)) !==
        JSON.stringify([...itemImages].sort((a, b) => a.archId - b.archId))
    ) {
      throw invalid('images: must match the catalog item when catalogItemId is given (or be omitted)');
    }
    input = { ...input, images: itemImages, registryId: item.registryId };
  }
  if (!input.images) throw invalid('images: required (one image per architecture), or catalogItemId');
  const target = await resolveFog(ctx, input);
  checkImages(input.images, target);
  checkRuntime(input.runtime, target);
  checkPorts(input.ports);
  await checkRegistry(ctx, input.registryId);
  if (input.schedule !== undefined && (input.schedule < 6 || input.schedule > 100))
    throw invalid('schedule: user microservices take 6-100');
  await checkPortsFree(ctx, target?.uuid, input.ports);
  await checkMicroserviceRole(ctx, input.serviceAccount?.roleRef);
  await checkEnvSources(ctx, input.env);
  await checkNats(ctx, input.natsConfig, target);
  const mounts = await checkMountMappings(ctx, input.volumeMappings);
  return { target, cols: columns(input), mounts };
}

/** Inserts a validated microservice into `app` (inside the caller's transaction) and raises its fog's flags. */
export async function insertMicroservice(
  tx: AppCtx,
  app: AppRow,
  input: MicroserviceInput & { name: string },
  prepared: Awaited<ReturnType<typeof prepareCreate>>,
  nats?: PreparedNats,
): Promise<string> {
  const dup = await tx.db
    .select({ uuid: microservice.uuid })
    .from(microservice)
    .where(and(eq(microservice.applicationId, app.id), eq(microservice.name, input.name)))
    .limit(1);
  if (dup.length) throw conflict(`Microservice ${input.name} already exists in application ${app.name}`);
  const uuid = tx.ids.uuid();
  const now = tx.clock.now();
  await tx.db.insert(microservice).values({
    ...prepared.cols,
    uuid,
    name: input.name,
    applicationId: app.id,
    fogUuid: prepared.target?.uuid ?? null,
    createdAt: now,
    updatedAt: now,
  });
  // Its NATS user and creds (prepared before the transaction) are written with it; the fogs' NATS
  // configuration (leaf remotes, resolver bundles) follows in the fog reconcile.
  if (input.natsConfig?.natsAccess && prepared.target) {
    await writeWorkloadNats(tx, nats, app, { uuid, name: input.name }, prepared.target.uuid);
    await enqueueNatsFogs(tx, [prepared.target.uuid]);
  }
  await ensureMicroserviceAccount(tx, app.id, input.name, input.serviceAccount?.roleRef);
  await linkMountsToFog(tx, prepared.mounts, prepared.target?.uuid);
  if (prepared.target) await raiseFlags(tx, [prepared.target.uuid], ['microserviceList', 'microserviceConfig']);
  return uuid;
}

export async function createMicroservice(
  ctx: AppCtx,
  input: MicroserviceInput & { name: string; application: string },
): Promise<{ uuid: string; name: string }> {
  const app = await requireApplication(ctx, input.application);
  if (app.isSystem) throw invalid(`application: ${app.name} is a system application`);
  const prepared = await prepareCreate(ctx, input);
  const nats = await prepareNatsOf(ctx, app, [{ input, prepared }]);
  const uuid = await withTransaction(ctx, async (tx) => {
    const id = await insertMicroservice(tx, app, input, prepared, nats);
    auditTarget(tx, id);
    return id;
  });
  return { uuid, name: input.name };
}

/** Keys and signed JWTs for the NATS-enabled workloads among `items` that run on a fog (none: undefined). */
export async function prepareNatsOf(
  ctx: AppCtx,
  app: { id?: number; name: string; natsRule: string | null },
  items: Array<{ input: MicroserviceInput & { name: string }; prepared: Awaited<ReturnType<typeof prepareCreate>> }>,
): Promise<PreparedNats | undefined> {
  const workloads = items
    .filter((i) => i.input.natsConfig?.natsAccess && i.prepared.target)
    .map((i) => ({ name: i.input.name, natsRule: i.prepared.cols.natsRule ?? null }));
  return workloads.length ? prepareWorkloadNats(ctx, app, workloads) : undefined;
}

/** Fields whose change needs the container re-created (not just a config signal). */
const REBUILD_KEYS = [
  'images',
  'registryId',
  'hostNetworkMode',
  'isPrivileged',
  'pidMode',
  'ipcMode',
  'cpuSetCpus',
  'runAsUser',
  'platform',
  'runtime',
  'memoryLimit',
  'env',
  'extraHosts',
  'cmd',
  'cdiDevices',
  'capAdd',
  'capDrop',
  'healthCheck',
  'ports',
  'volumeMappings',
] as const;

/**
 * Validates an update (reads only) and returns the write to run inside a transaction, so callers
 * that update several microservices can validate all of them before writing any.
 */
export async function prepareUpdate(
  ctx: AppCtx,
  uuid: string,
  given: MicroserviceInput,
  opts: { system: boolean },
): Promise<(tx: AppCtx) => Promise<void>> {
  const input = dropNullRefs(given);
  const current = await requireMicroservice(ctx, uuid);
  if (!opts.system && current.isController) throw invalid('The controller system microservice is managed through /microservices/system');
  if (current.app.isSystem !== opts.system) throw notFound(`${opts.system ? 'System microservice' : 'Microservice'} ${uuid}`);
  if (input.application !== undefined && input.application !== current.app.name)
    throw invalid('application: a microservice cannot change application');
  if (input.name !== undefined && input.name !== current.name) checkName('name', input.name);
  const moveTarget = input.iofogUuid || input.agentName ? await resolveFog(ctx, input) : undefined;
  const targetUuid = moveTarget?.uuid ?? current.fogUuid;
  const target = targetUuid ? await fogRowByUuid(ctx.db, targetUuid) : undefined;
  checkImages(input.images ?? parse<Image[]>(current.images, []), target);
  checkRuntime(input.runtime ?? (current.runtime || undefined), target);
  checkPorts(input.ports);
  await checkRegistry(ctx, input.registryId);
  if (input.schedule !== undefined && !opts.system && (input.schedule < 6 || input.schedule > 100))
    throw invalid('schedule: user microservices take 6-100');
  await checkPortsFree(ctx, targetUuid, input.ports ?? parse<PortMapping[]>(current.ports, []), uuid);
  await checkMicroserviceRole(ctx, input.serviceAccount?.roleRef);
  await checkEnvSources(ctx, input.env);
  await checkNats(ctx, input.natsConfig, target);
  const mounts = await checkMountMappings(ctx, input.volumeMappings ?? parse<VolumeMapping[]>(current.volumeMappings, []));
  const cols = columns(input);
  const natsChanged =
    (input.natsConfig !== undefined &&
      (input.natsConfig.natsAccess !== current.natsAccess || (cols.natsRule ?? null) !== current.natsRule)) ||
    (current.natsAccess && moveTarget !== undefined && moveTarget.uuid !== current.fogUuid);
  if (current.isController) cols.schedule = 0;
  // A port without a protocol is TCP: a client sending back the ports GET showed changes nothing.
  const samePorts = (a: string | null | undefined, b: string | null | undefined) =>
    JSON.stringify(parse<PortMapping[]>(a ?? null, []).map((p) => [p.internal, p.external, p.protocol ?? 'tcp'])) ===
    JSON.stringify(parse<PortMapping[]>(b ?? null, []).map((p) => [p.internal, p.external, p.protocol ?? 'tcp']));
  const differs = (k: (typeof REBUILD_KEYS)[number]) =>
    k in cols &&
    (k === 'ports'
      ? !samePorts(cols.ports, current.ports)
      : (cols as Record<string, unknown>)[k] !== (current as Record<string, unknown>)[k]);
  const needsRebuild = input.rebuild === true || REBUILD_KEYS.some(differs);
  const moved = moveTarget !== undefined && moveTarget.uuid !== current.fogUuid;
  // Enabling NATS access: the user and creds are written with the update, as on create.
  const natsName = input.name ?? current.name;
  const nats =
    input.natsConfig?.natsAccess && !current.natsAccess && targetUuid
      ? await prepareWorkloadNats(ctx, current.app, [{ name: natsName, natsRule: cols.natsRule ?? null }])
      : undefined;
  return async (tx) => {
    if (input.name !== undefined && input.name !== current.name) {
      const dup = await tx.db
        .select({ uuid: microservice.uuid })
        .from(microservice)
        .where(and(eq(microservice.applicationId, current.applicationId), eq(microservice.name, input.name)))
        .limit(1);
      if (dup.length) throw conflict(`Microservice ${input.name} already exists in application ${current.app.name}`);
    }
    await tx.db
      .update(microservice)
      .set({
        ...cols,
        ...(input.name ? { name: input.name } : {}),
        ...(moved ? { fogUuid: moveTarget!.uuid } : {}),
        rebuild: needsRebuild || current.rebuild,
        updatedAt: tx.clock.now(),
      })
      .where(eq(microservice.uuid, uuid));
    const name = input.name ?? current.name;
    if (name !== current.name) await renameMicroserviceAccount(tx, current.applicationId, current.name, name);
    const accountChanged = await ensureMicroserviceAccount(tx, current.applicationId, name, input.serviceAccount?.roleRef);
    // Volume mounts the microservice maps are linked to the fog it runs on (auto-link, §3.3).
    await linkMountsToFog(tx, mounts, moved ? moveTarget!.uuid : current.fogUuid);
    await writeWorkloadNats(tx, nats, current.app, { uuid, name: natsName }, targetUuid);
    if (natsChanged)
      await enqueueNatsFogs(
        tx,
        [current.fogUuid, moveTarget?.uuid].filter((u): u is string => Boolean(u)),
      );
    if (moved) {
      await tx.db.delete(microserviceStatus).where(eq(microserviceStatus.microserviceUuid, uuid));
      await raiseFlags(
        tx,
        [current.fogUuid, moveTarget!.uuid].filter((u): u is string => Boolean(u)),
        ['microserviceList', 'microserviceConfig'],
      );
    } else if (current.fogUuid) {
      // A changed service account changes what the agent mints for the workload (§5.4: microserviceList).
      await raiseFlags(tx, [current.fogUuid], accountChanged ? ['microserviceList', 'microserviceConfig'] : ['microserviceConfig']);
    }
  };
}

export async function updateMicroservice(ctx: AppCtx, uuid: string, input: MicroserviceInput, opts: { system: boolean }): Promise<void> {
  const apply = await prepareUpdate(ctx, uuid, input, opts);
  await withTransaction(ctx, apply);
}

export async function deleteMicroservice(ctx: AppCtx, uuid: string, opts: { system: boolean; withCleanup?: boolean }): Promise<void> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.isController && !opts.system) throw forbidden('The controller system microservice cannot be deleted through the user API');
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  await withTransaction(ctx, async (tx) => {
    await removeOrMark(tx, [current], opts.withCleanup ?? false);
  });
}

/**
 * Microservices on a provisioned fog are marked for deletion and delivered with `delete: true`
 * until the agent reports them gone; anywhere else they are removed at once.
 */
export async function removeOrMark(tx: AppCtx, rows: MicroserviceRow[], withCleanup: boolean): Promise<void> {
  const fogUuids = [...new Set(rows.map((r) => r.fogUuid).filter((u): u is string => Boolean(u)))];
  const live = new Set(
    fogUuids.length
      ? (await tx.db.select({ uuid: fog.uuid, status: fog.daemonStatus }).from(fog).where(inArray(fog.uuid, fogUuids)))
          .filter((f) => f.status !== 'NOT_PROVISIONED' && f.status !== 'DEPROVISIONED')
          .map((f) => f.uuid)
      : [],
  );
  const now = tx.clock.now();
  for (const r of rows) {
    if (r.fogUuid && live.has(r.fogUuid)) {
      await tx.db
        .update(microservice)
        .set({ markedForDelete: true, deleteWithCleanup: withCleanup, updatedAt: now })
        .where(eq(microservice.uuid, r.uuid));
    } else {
      await tx.db.delete(microservice).where(eq(microservice.uuid, r.uuid));
      await dropMicroserviceAccounts(tx, [r]);
    }
  }
  if (fogUuids.length) await raiseFlags(tx, fogUuids, ['microserviceList']);
  // NATS users of workloads that go are revoked by their fogs' reconcile.
  const natsFogs = rows.filter((r) => r.natsAccess && r.fogUuid).map((r) => r.fogUuid!);
  if (natsFogs.length) await enqueueNatsFogs(tx, natsFogs);
}

export async function setStopped(ctx: AppCtx, uuid: string, stopped: boolean): Promise<void> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem) throw invalid('System microservices cannot be started or stopped');
  if (current.stopped === stopped) return;
  await withTransaction(ctx, async (tx) => {
    await tx.db.update(microservice).set({ stopped, updatedAt: tx.clock.now() }).where(eq(microservice.uuid, uuid));
    if (current.fogUuid) await raiseFlags(tx, [current.fogUuid], ['microserviceList']);
  });
}

export async function markRebuild(ctx: AppCtx, uuid: string, opts: { system: boolean }): Promise<void> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  await withTransaction(ctx, async (tx) => {
    await tx.db.update(microservice).set({ rebuild: true, updatedAt: tx.clock.now() }).where(eq(microservice.uuid, uuid));
    if (current.fogUuid) await raiseFlags(tx, [current.fogUuid], ['microserviceConfig']);
  });
}

export async function setConfig(ctx: AppCtx, uuid: string, config: string, opts: { system: boolean }): Promise<void> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  await withTransaction(ctx, async (tx) => {
    await tx.db.update(microservice).set({ config, updatedAt: tx.clock.now() }).where(eq(microservice.uuid, uuid));
    if (current.fogUuid) await raiseFlags(tx, [current.fogUuid], ['microserviceConfig']);
  });
}

export async function addPortMapping(ctx: AppCtx, uuid: string, port: PortMapping, opts: { system: boolean }): Promise<PortMapping> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  const ports = parse<PortMapping[]>(current.ports, []);
  if (ports.some((p) => p.internal === port.internal)) throw invalid(`internal: port ${port.internal} is already mapped`);
  const next = [...ports, { internal: port.internal, external: port.external, protocol: port.protocol ?? 'tcp' }];
  await updateMicroservice(ctx, uuid, { ports: next }, opts);
  return next[next.length - 1]!;
}

export async function removePortMapping(ctx: AppCtx, uuid: string, internal: number, opts: { system: boolean }): Promise<void> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  const ports = parse<PortMapping[]>(current.ports, []);
  if (!ports.some((p) => p.internal === internal)) throw notFound(`Port mapping ${internal}`);
  await updateMicroservice(ctx, uuid, { ports: ports.filter((p) => p.internal !== internal) }, opts);
}

export async function addVolumeMapping(ctx: AppCtx, uuid: string, v: VolumeMapping, opts: { system: boolean }): Promise<{ id: number }> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  if (v.type === 'serviceAccount')
    throw invalid('type: serviceAccount mappings are managed by the Controller from the microservice serviceAccount and cannot be added');
  const list = parse<VolumeMapping[]>(current.volumeMappings, []);
  const next = [...list, v];
  await updateMicroservice(ctx, uuid, { volumeMappings: next }, opts);
  return { id: next.length };
}

export async function removeVolumeMapping(ctx: AppCtx, uuid: string, id: number, opts: { system: boolean }): Promise<void> {
  const current = await requireMicroservice(ctx, uuid);
  if (current.app.isSystem !== opts.system) throw notFound(`Microservice ${uuid}`);
  const list = parse<VolumeMapping[]>(current.volumeMappings, []);
  if (!list.some((v) => v.id === id)) throw notFound(`Volume mapping ${id}`);
  await updateMicroservice(ctx, uuid, { volumeMappings: list.filter((v) => v.id !== id) }, opts);
}

// ---- the agent's view ----

// The agent's microservice pull selects every column of two tables: rendered once (db/statements.ts).
const agentPullStatements = renderOnce((db) => {
  const base = () =>
    db
      .select({ ms: microservice, app: application })
      .from(microservice)
      .innerJoin(application, eq(application.id, microservice.applicationId));
  const order = [asc(microservice.schedule), asc(microservice.name)] as const;
  return {
    all: ReusableSelect.from(
      base()
        .where(eq(microservice.fogUuid, sql.placeholder('fogUuid')))
        .orderBy(...order),
    ),
    one: ReusableSelect.from(
      base()
        .where(and(eq(microservice.fogUuid, sql.placeholder('fogUuid')), eq(microservice.uuid, sql.placeholder('uuid'))))
        .orderBy(...order),
    ),
  };
});

/**
 * GET /agent/microservices (agent-api §2.10, §4.1): the fog's complete desired set — microservices of
 * activated applications (system ones always), with the image for the fog's architecture. `rebuild`
 * is delivered once: it is reset after the list is built.
 */
export async function agentMicroservices(ctx: AppCtx, fogUuid: string, opts: { only?: string } = {}) {
  const f = await fogRowByUuid(ctx.db, fogUuid);
  if (!f) throw new ServiceError('AGENT_FOG_NOT_FOUND', 'Fog not found');
  const rows = opts.only
    ? await agentPullStatements(ctx.db).one.all(ctx.db, { fogUuid, uuid: opts.only })
    : await agentPullStatements(ctx.db).all.all(ctx.db, { fogUuid });
  const out = [];
  const rebuilt: string[] = [];
  const accounts = await agentServiceAccounts(
    ctx,
    rows.map((r) => r.ms),
  );
  const resolveEnv = envResolver(ctx, fogUuid);
  const nats = await natsDelivery(
    ctx,
    f,
    rows.filter((r) => r.ms.natsAccess).map((r) => r.ms.uuid),
  );
  for (const { ms, app } of rows) {
    if (!app.isSystem && (!app.isActivated || ms.stopped) && !ms.markedForDelete) continue;
    const image = imageFor(parse<Image[]>(ms.images, []), f.archId);
    if (!image) continue;
    if (ms.rebuild) rebuilt.push(ms.uuid);
    out.push({
      uuid: ms.uuid,
      name: ms.name,
      application: app.name,
      imageId: image,
      config: ms.config,
      annotations: ms.annotations,
      rebuild: ms.rebuild,
      hostNetworkMode: ms.hostNetworkMode,
      isPrivileged: ms.isPrivileged,
      cpuSetCpus: ms.cpuSetCpus,
      memoryLimit: ms.memoryLimit,
      healthCheck: parse<Record<string, unknown>>(ms.healthCheck, {}),
      pidMode: ms.pidMode,
      ipcMode: ms.ipcMode,
      runAsUser: ms.runAsUser,
      platform: ms.platform,
      runtime: ms.runtime,
      logSize: ms.logSize,
      registryId: ms.registryId,
      portMappings: parse<PortMapping[]>(ms.ports, []).map((p) => ({
        internal: p.internal,
        external: p.external,
        protocol: p.protocol ?? 'tcp',
      })),
      volumeMappings: [
        ...parse<VolumeMapping[]>(ms.volumeMappings, []).map((v) => ({
          hostDestination: v.hostDestination,
          containerDestination: v.containerDestination,
          accessMode: v.accessMode,
          type: v.type ?? 'bind',
        })),
        ...(nats.get(ms.uuid)?.mapping ?? []),
      ],
      delete: ms.markedForDelete,
      deleteWithCleanup: ms.deleteWithCleanup,
      env: [...(await resolveEnv(parse<EnvVar[]>(ms.env, []))), ...(nats.get(ms.uuid)?.env(ms.hostNetworkMode) ?? [])],
      extraHosts: parse<Array<{ name: string; address: string }>>(ms.extraHosts, []).map((h) => `${h.name}:${h.address}`),
      cmd: parse<string[]>(ms.cmd, []),
      cdiDevices: parse<string[]>(ms.cdiDevices, []),
      capAdd: parse<string[]>(ms.capAdd, []),
      capDrop: parse<string[]>(ms.capDrop, []),
      isRouter: ms.isRouter,
      isNats: ms.isNats,
      isController: ms.isController,
      schedule: ms.schedule,
      serviceAccount: accounts.get(`${ms.applicationId}/${ms.name}`) ?? null,
      isSystem: app.isSystem,
    });
  }
  // Only the full list is the agent's pull of its desired state; a single lookup leaves `rebuild` alone.
  if (rebuilt.length && !opts.only) {
    await withTransaction(ctx, async (tx) => {
      await tx.db.update(microservice).set({ rebuild: false }).where(inArray(microservice.uuid, rebuilt));
    });
  }
  return out;
}

/**
 * Env entries as the agent takes them: `{key, value}`, with `valueFromSecret` / `valueFromConfigMap`
 * resolved (each source read once per call). A reference that no longer resolves — deleting a used
 * source is refused, so only through a race — is sent as an empty value and logged.
 */
function envResolver(ctx: AppCtx, fogUuid: string) {
  const cache = new Map<string, Promise<string>>();
  const lookup = (kind: 'secret' | 'configMap', ref: string) => {
    const k = `${kind}:${ref}`;
    let p = cache.get(k);
    if (!p) cache.set(k, (p = resolveEnvSource(ctx, kind, ref, 'env')));
    return p;
  };
  return async (env: EnvVar[]) => {
    const out: Array<{ key: string; value: string }> = [];
    for (const e of env) {
      let value = e.value ?? '';
      const ref = e.valueFromSecret ?? e.valueFromConfigMap;
      if (ref !== undefined) {
        try {
          value = await lookup(e.valueFromSecret !== undefined ? 'secret' : 'configMap', ref);
        } catch (err) {
          ctx.logger.warn('env source of a microservice no longer resolves; sending an empty value', {
            fogUuid,
            key: e.key,
            ref,
            err: String(err),
          });
          value = '';
        }
      }
      out.push({ key: e.key, value });
    }
    return out;
  };
}

/** One microservice of this fog (agent-api §2.11). */
export async function agentMicroservice(ctx: AppCtx, fogUuid: string, uuid: string) {
  const [found] = await agentMicroservices(ctx, fogUuid, { only: uuid });
  if (!found) throw notFound('Microservice');
  return found;
}

const MS_STATES = new Set([
  'QUEUED',
  'PULLING',
  'CREATING',
  'CREATED',
  'STARTING',
  'RUNNING',
  'UPDATING',
  'RESTARTING',
  'EXITING',
  'STUCK_IN_RESTART',
  'FAILED',
  'MARKED_FOR_DELETION',
  'DELETING',
  'DELETED',
  'STOPPING',
  'STOPPED',
  'UNKNOWN',
]);
const GONE = new Set(['DELETED', 'UNKNOWN', 'STOPPING', 'DELETING', 'MARKED_FOR_DELETION', 'STOPPED']);

const STATUS_COLUMNS = [
  'status',
  'percentage',
  'containerId',
  'startTime',
  'operatingDuration',
  'cpuUsage',
  'memoryUsage',
  'ipAddress',
  'healthStatus',
  'errorMessage',
  'execSessionIds',
  'updatedAt',
] as const satisfies ReadonlyArray<keyof typeof microserviceStatus.$inferInsert>;
type StatusColumn = (typeof STATUS_COLUMNS)[number];

// Every status report upserts one row per running microservice: the statement is rendered once
// (db/statements.ts) instead of on every row.
const upsertStatusStatement = renderOnce((db: Db) => {
  const values = Object.fromEntries(
    STATUS_COLUMNS.map((c) => [c, sql.placeholder(c)]),
  ) as unknown as typeof microserviceStatus.$inferInsert;
  return ReusableStatement.from(
    db
      .insert(microserviceStatus)
      .values({ ...values, microserviceUuid: sql.placeholder('microserviceUuid') as unknown as string })
      .onConflictDoUpdate({ target: microserviceStatus.microserviceUuid, set: values })
      .toSQL(),
  );
});

/**
 * Stores the microservice statuses of one PUT /agent/status (inside its transaction). Entries for
 * microservices of other fogs or unknown ids are ignored. Microservices marked for deletion are
 * removed once the agent reports them gone (or no longer reports them).
 */
export async function storeMicroserviceStatuses(
  tx: AppCtx,
  fogUuid: string,
  entries: Array<Record<string, unknown>>,
  prefetched?: Array<{ uuid: string; marked: boolean }>,
): Promise<void> {
  const owned =
    prefetched ??
    (await tx.db
      .select({ uuid: microservice.uuid, marked: microservice.markedForDelete })
      .from(microservice)
      .where(eq(microservice.fogUuid, fogUuid)));
  if (owned.length === 0) return;
  const byId = new Map(entries.map((e) => [String(e.id), e]));
  const now = tx.clock.now();
  const str = (v: unknown, d = '') => (v === undefined || v === null ? d : String(v));
  const int = (v: unknown) =>
    typeof v === 'number' && Number.isFinite(v)
      ? Math.round(v)
      : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
        ? Math.round(Number(v))
        : undefined;
  const gone: string[] = [];
  for (const ms of owned) {
    const e = byId.get(ms.uuid);
    if (ms.marked && (!e || GONE.has(str(e.status)))) {
      gone.push(ms.uuid);
      continue;
    }
    if (!e) continue;
    const status = MS_STATES.has(str(e.status)) ? str(e.status) : 'UNKNOWN';
    const values: Record<StatusColumn, unknown> = {
      status,
      percentage: int(e.percentage) ?? 0,
      containerId: str(e.containerId),
      startTime: int(e.startTime) ?? null,
      operatingDuration: int(e.operatingDuration) ?? 0,
      cpuUsage: str(e.cpuUsage, '0'),
      memoryUsage: str(e.memoryUsage, '0'),
      ipAddress: str(e.ipAddress),
      healthStatus: str(e.healthStatus),
      errorMessage: str(e.errorMessage),
      execSessionIds: JSON.stringify(Array.isArray(e.execSessionIds) ? e.execSessionIds.map(String) : []),
      updatedAt: now,
    };
    await upsertStatusStatement(tx.db).run(tx.db, { microserviceUuid: ms.uuid, ...values });
  }
  if (gone.length) {
    const removed = await tx.db
      .delete(microservice)
      .where(inArray(microservice.uuid, gone))
      .returning({ applicationId: microservice.applicationId, name: microservice.name });
    await dropMicroserviceAccounts(tx, removed);
  }
}

// ---- system application and the node-local controller ----

export const systemAppName = (fogName: string) =>
  `system-${fogName}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63);

/** The fog's system application (`system-{fogName}`), created on first need inside the caller's transaction. */
export async function ensureSystemApplication(tx: AppCtx, fogName: string): Promise<AppRow> {
  const name = systemAppName(fogName);
  const [existing] = await tx.db.select().from(application).where(eq(application.name, name)).limit(1);
  if (existing) return existing;
  const now = tx.clock.now();
  const [created] = await tx.db
    .insert(application)
    .values({
      name,
      description: `System microservices of fog ${fogName}`,
      isActivated: true,
      isSystem: true,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return created!;
}

export type { ControllerRegisterInput };

/**
 * POST /agent/controller/register (agent-api §2.17): a system fog registers its node-local Controller
 * as the `isController` microservice of its system application. Idempotent upsert by uuid.
 */
export async function registerNodeController(ctx: AppCtx, fogUuid: string, input: ControllerRegisterInput): Promise<{ uuid: string }> {
  const f = await fogRowByUuid(ctx.db, fogUuid);
  if (!f) throw new ServiceError('AGENT_FOG_NOT_FOUND', 'Fog not found');
  if (!f.isSystem) throw forbidden('Only system fogs can register a controller');
  checkImages(input.images, f);
  checkRuntime(input.runtime, f);
  checkPorts(input.ports);
  checkConfig(input.config);
  if (input.registryId !== undefined) {
    const [r] = await ctx.db.select({ id: registry.id }).from(registry).where(eq(registry.id, input.registryId)).limit(1);
    if (!r) throw notFound(`Registry ${input.registryId}`);
  }
  const [other] = await ctx.db
    .select({ uuid: microservice.uuid, fogUuid: microservice.fogUuid, isController: microservice.isController })
    .from(microservice)
    .where(eq(microservice.uuid, input.uuid))
    .limit(1);
  if (other && (other.fogUuid !== fogUuid || !other.isController)) throw invalid('uuid: already used by another microservice');
  const cols = columns({ ...input, name: undefined, schedule: 0, volumeMappings: input.volumeMappings });
  await withTransaction(ctx, async (tx) => {
    const app = await ensureSystemApplication(tx, f.name);
    const now = tx.clock.now();
    if (other) {
      await tx.db
        .update(microservice)
        .set({ ...cols, schedule: 0, updatedAt: now })
        .where(eq(microservice.uuid, input.uuid));
    } else {
      const existingByName = await tx.db
        .select({ uuid: microservice.uuid })
        .from(microservice)
        .where(and(eq(microservice.applicationId, app.id), eq(microservice.name, input.name ?? 'controller')))
        .limit(1);
      if (existingByName.length) await tx.db.delete(microservice).where(eq(microservice.uuid, existingByName[0]!.uuid));
      await tx.db.insert(microservice).values({
        ...cols,
        uuid: input.uuid,
        name: input.name ?? 'controller',
        applicationId: app.id,
        fogUuid,
        isController: true,
        schedule: 0,
        createdAt: now,
        updatedAt: now,
      });
      await ensureMicroserviceAccount(tx, app.id, input.name ?? 'controller');
    }
    await raiseFlags(tx, [fogUuid], ['microserviceList', 'microserviceConfig']);
  });
  return { uuid: input.uuid };
}

/** The microservices of several fogs in one query (status group commit). */
export async function microservicesOfFogs(tx: AppCtx, fogUuids: string[]): Promise<Map<string, Array<{ uuid: string; marked: boolean }>>> {
  const out = new Map<string, Array<{ uuid: string; marked: boolean }>>();
  for (let i = 0; i < fogUuids.length; i += 512) {
    const chunk = fogUuids.slice(i, i + 512);
    const slots = inListSlots(chunk.length);
    const rows = await microservicesOfFogsStatement(tx.db, slots).all(tx.db, inListValues('fog', chunk, slots));
    for (const r of rows) out.set(r.fogUuid!, [...(out.get(r.fogUuid!) ?? []), { uuid: r.uuid, marked: r.marked }]);
  }
  return out;
}

// Run by every status group commit with the batch's fogs: one rendered text per IN-list size
// (padded to a power of two up to the 512-fog chunk, so at most 10) instead of one rendering per batch.
const ownedStatements = new Map<string, ReusableSelect<{ uuid: string; fogUuid: string | null; marked: boolean }>>();
function microservicesOfFogsStatement(db: Db, slots: number) {
  const key = `${isPg(db) ? 'pg' : 'sqlite'}:${slots}`;
  let stmt = ownedStatements.get(key);
  if (!stmt) {
    const fogs = Array.from({ length: slots }, (_, i) => sql.placeholder(`fog${i}`));
    stmt = ReusableSelect.from(
      db
        .select({ uuid: microservice.uuid, fogUuid: microservice.fogUuid, marked: microservice.markedForDelete })
        .from(microservice)
        .where(inArray(microservice.fogUuid, fogs)),
    );
    ownedStatements.set(key, stmt);
  }
  return stmt;
}

/**
 * What a NATS-enabled workload gets from the agent (platform §4.9), once its user and creds exist:
 * the creds mount at /etc/nats/creds and `NATS_CREDS_PATH` / `NATS_SERVER_URL` — the fog's own NATS
 * (`nats.default.svc.bridge.local` on the bridge network, `localhost` with host networking), else the hub.
 */
async function natsDelivery(ctx: AppCtx, f: FogRow, msUuids: string[]) {
  const out = new Map<
    string,
    {
      mapping: Array<{ hostDestination: string; containerDestination: string; accessMode: string; type: string }>;
      env: (hostNetwork: boolean) => Array<{ key: string; value: string }>;
    }
  >();
  if (msUuids.length === 0) return out;
  const users = await ctx.db
    .select({ ms: natsUser.microserviceUuid, name: natsUser.name, creds: natsUser.credsSecretName, account: natsAccount.name })
    .from(natsUser)
    .innerJoin(natsAccount, eq(natsAccount.id, natsUser.accountId))
    .where(inArray(natsUser.microserviceUuid, msUuids));
  const [hub] =
    f.natsMode === 'none'
      ? await ctx.db
          .select()
          .from(fog)
          .where(and(eq(fog.isSystem, true), eq(fog.natsMode, 'server')))
          .orderBy(asc(fog.createdAt))
          .limit(1)
      : [];
  for (const u of users) {
    if (!u.ms || !u.creds) continue;
    const credsPath = `/etc/nats/creds/${slug(u.account, 64)}/${slug(u.name, 64)}.creds`;
    out.set(u.ms, {
      mapping: [{ hostDestination: u.creds, containerDestination: '/etc/nats/creds', accessMode: 'ro', type: 'volumeMount' }],
      env: (hostNetwork) => [
        { key: 'NATS_CREDS_PATH', value: credsPath },
        {
          key: 'NATS_SERVER_URL',
          value:
            f.natsMode !== 'none'
              ? `nats://${hostNetwork ? 'localhost' : 'nats.default.svc.bridge.local'}:${f.natsServerPort}`
              : hub
                ? `nats://${hub.host}:${hub.natsServerPort}`
                : '',
        },
      ],
    });
  }
  return out;
}

/** Default node-debug image (operator-api §2.4); multi-arch, so the same reference serves every arch. */
export const DEFAULT_DEBUG_IMAGE = 'ghcr.io/eclipse-iofog/debugger';

/**
 * POST /iofog/:uuid/exec (platform §6.3): the node-debug system microservice `debug` in `system-{fog}`
 * — host network, privileged, host PID and IPC, schedule 0 — whose shell the operator then opens on
 * `WS /microservices/system/exec/{uuid}`. Idempotent: a second call keeps the microservice and applies
 * a new image (rebuild). Sets `microserviceList` and `execSessions`.
 */
export async function provisionDebugMicroservice(ctx: AppCtx, fogUuid: string, image: string | undefined): Promise<{ uuid: string }> {
  const f = await fogRowByUuid(ctx.db, fogUuid);
  if (!f) throw notFound(`Fog ${fogUuid}`);
  const archIds = f.archId >= 1 && f.archId <= 4 ? [f.archId] : [1, 2, 3, 4];
  const images = json(archIds.map((archId) => ({ containerImage: image ?? DEFAULT_DEBUG_IMAGE, archId })));
  return withTransaction(ctx, async (tx) => {
    const app = await ensureSystemApplication(tx, f.name);
    const now = tx.clock.now();
    const [existing] = await tx.db
      .select({ uuid: microservice.uuid, images: microservice.images })
      .from(microservice)
      .where(and(eq(microservice.applicationId, app.id), eq(microservice.name, 'debug')))
      .limit(1);
    let uuid: string;
    if (existing) {
      uuid = existing.uuid;
      const changed = existing.images !== images;
      await tx.db
        .update(microservice)
        .set({ images, markedForDelete: false, fogUuid, ...(changed ? { rebuild: true } : {}), updatedAt: now })
        .where(eq(microservice.uuid, uuid));
    } else {
      uuid = tx.ids.uuid();
      await tx.db.insert(microservice).values({
        uuid,
        name: 'debug',
        applicationId: app.id,
        fogUuid,
        images,
        hostNetworkMode: true,
        isPrivileged: true,
        pidMode: 'host',
        ipcMode: 'host',
        schedule: 0,
        createdAt: now,
        updatedAt: now,
      });
      await ensureMicroserviceAccount(tx, app.id, 'debug');
    }
    await raiseFlags(tx, [fogUuid], ['microserviceList', 'execSessions']);
    return { uuid };
  });
}

/** DELETE /iofog/:uuid/exec: removes the node-debug microservice (404 when there is none). */
export async function removeDebugMicroservice(ctx: AppCtx, fogUuid: string): Promise<void> {
  const [f] = await ctx.db.select({ name: fog.name }).from(fog).where(eq(fog.uuid, fogUuid)).limit(1);
  if (!f) throw notFound(`Fog ${fogUuid}`);
  await withTransaction(ctx, async (tx) => {
    const rows = await tx.db
      .select({ ms: microservice })
      .from(microservice)
      .innerJoin(application, eq(application.id, microservice.applicationId))
      .where(
        and(
          eq(application.isSystem, true),
          eq(microservice.fogUuid, fogUuid),
          eq(microservice.name, 'debug'),
          eq(microservice.markedForDelete, false),
        ),
      );
    if (rows.length === 0) throw notFound(`Debug microservice on fog ${fogUuid}`);
    await removeOrMark(
      tx,
      rows.map((r) => r.ms),
      false,
    );
    await raiseFlags(tx, [fogUuid], ['execSessions']);
  });
}
