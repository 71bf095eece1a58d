import { and, eq, inArray } from 'drizzle-orm';
import { catalogItem, fog, microservice, microserviceStatus } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { conflict, forbidden, invalid, notFound } from '../../errors';
import { raiseFlags } from '../changes/flags';
import { linkMountsToFog, checkMountMappings } from '../config/resources';
import { auditTarget } from '../events/audit';
import { prepareWorkloadNats, writeWorkloadNats, type PreparedNats } from '../nats/workload-users';
import { enqueueNatsFogs } from '../changes/reconcile-queue';
import { checkMicroserviceRole, dropMicroserviceAccounts, ensureMicroserviceAccount, renameMicroserviceAccount } from '../rbac/objects';
import { fogRowByUuid } from '../shared/fog-row';
import { columns, dropNullRefs } from './columns';
import {
  parse,
  requireApplication,
  requireMicroservice,
  type AppRow,
  type FogRow,
  type Image,
  type MicroserviceInput,
  type MicroserviceRow,
  type PortMapping,
  type VolumeMapping,
} from './rows';
import {
  checkEnvSources,
  checkImages,
  checkName,
  checkNats,
  checkPorts,
  checkPortsFree,
  checkRegistry,
  checkRuntime,
  resolveFog,
} from './validation';

// Creating, updating, deleting, stopping and rebuilding microservices: validate first (reads only), then
// one short transaction that writes the row, its service account, NATS user and the fogs' change flags.

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
    // Volume mounts the microservice maps are linked to the fog it runs on, so the agent receives them.
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
      // A changed service account changes what the agent mints for the workload, which it only re-reads with the list.
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
