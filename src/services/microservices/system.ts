import { and, eq } from 'drizzle-orm';
import { application, fog, microservice, registry } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { forbidden, invalid, notFound, ServiceError } from '../../errors';
import type { ControllerRegisterInput } from '../agent/schemas';
import { raiseFlags } from '../changes/flags';
import { fogRowByUuid } from '../shared/fog-row';
import { ensureMicroserviceAccount } from '../rbac/objects';
import { columns } from './columns';
import { removeOrMark } from './crud';
import { json, type AppRow } from './rows';
import { checkConfig, checkImages, checkPorts, checkRuntime } from './validation';

// System microservices: each fog's system application, the node-local Controller a system fog registers,
// and the node-debug microservice behind `iofog/:uuid/exec`.

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
 * POST /agent/controller/register: a system fog registers its node-local Controller
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

/** Default node-debug image (upstream's); multi-arch, so the same reference serves every arch. */
export const DEFAULT_DEBUG_IMAGE = 'ghcr.io/eclipse-iofog/debugger';

/**
 * POST /iofog/:uuid/exec: the node-debug system microservice `debug` in `system-{fog}`
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
