import { asc, eq, inArray } from 'drizzle-orm';
import { application, fog, microservice } from '../../../db/schema/index';
import { InListSelect } from '../../../db/statements';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { conflict, invalid, notFound } from '../../errors';
import { raiseFlags } from '../changes/flags';
import { insertMicroservice, prepareCreate, prepareNatsOf, prepareUpdate, removeOrMark } from './crud';
import { presentMicroservices } from './presenter';
import { microserviceRows, requireApplication, type MicroserviceInput } from './rows';
import { checkName } from './validation';
import type { ApplicationCreateInput, ApplicationPatchInput, ApplicationResponse } from './schemas';

/** What create and replace take: the application with its microservices (the template already expanded). */
export type ApplicationInput = Omit<ApplicationCreateInput, 'template'>;

type AppRow = typeof application.$inferSelect;

// A page's microservices, in name order (a list longer than one statement takes is read in chunks, each
// in name order: merged below by application, whose order is the page's).
const microservicesOfApplications = InListSelect.from((db, apps) =>
  db
    .select({ ms: microserviceRows.selection(db), agentName: fog.name })
    .from(microservice)
    .leftJoin(fog, eq(fog.uuid, microservice.fogUuid))
    .where(inArray(microservice.applicationId, apps))
    .orderBy(asc(microservice.name)),
);

/**
 * Applications as GET shows them. Their microservices are presented in one batch (three queries for the
 * whole set, not three per application), so a page of applications costs a fixed number of reads.
 */
export async function presentApplications(ctx: AppCtx, apps: AppRow[]): Promise<ApplicationResponse[]> {
  if (apps.length === 0) return [];
  const byId = new Map(apps.map((a) => [a.id, a]));
  const selected = await microservicesOfApplications.all(ctx.db, [...byId.keys()]);
  const rows = microserviceRows.rows(
    ctx.db,
    selected.map((r) => r.ms as Record<string, unknown>),
  );
  const presented = await presentMicroservices(
    ctx,
    rows.map((m, i) => ({ ...m, app: byId.get(m.applicationId)!, agentName: selected[i]!.agentName })),
  );
  const byApp = new Map<number, typeof presented>();
  for (const m of presented) {
    const list = byApp.get(m.applicationId);
    if (list) list.push(m);
    else byApp.set(m.applicationId, [m]);
  }
  return apps.map((a) => ({
    id: a.id,
    name: a.name,
    description: a.description,
    isActivated: a.isActivated,
    isSystem: a.isSystem,
    natsConfig: { natsAccess: a.natsAccess, natsRule: a.natsRule ?? 'default-account' },
    microservices: byApp.get(a.id) ?? [],
    createdAt: new Date(a.createdAt).toISOString(),
    updatedAt: new Date(a.updatedAt).toISOString(),
  }));
}

export async function getApplication(ctx: AppCtx, name: string, system: boolean) {
  const app = await requireApplication(ctx, name);
  if (app.isSystem !== system) throw notFound(`Application ${name}`);
  return (await presentApplications(ctx, [app]))[0]!;
}

function checkMicroserviceNames(list: Array<{ name: string }>): void {
  const seen = new Set<string>();
  list.forEach((m, i) => {
    if (seen.has(m.name)) throw invalid(`microservices[${i}].name: ${m.name} appears twice`);
    seen.add(m.name);
  });
}

/** Validates every microservice up front (reads only), so the transaction holds only writes. */
async function prepareAll(ctx: AppCtx, list: Array<MicroserviceInput & { name: string }>) {
  const prepared = [];
  for (const [i, m] of list.entries()) {
    try {
      prepared.push(await prepareCreate(ctx, m));
    } catch (err) {
      if (err instanceof Error && 'code' in err && (err as { code: string }).code === 'VALIDATION_FAILED') {
        err.message = `microservices[${i}].${err.message}`;
      }
      throw err;
    }
  }
  return prepared;
}

export async function createApplication(
  ctx: AppCtx,
  input: ApplicationInput,
  opts: { defaultActivated?: boolean } = {},
): Promise<{ id: number; name: string }> {
  checkName('name', input.name);
  if (input.name.startsWith('system-')) throw invalid('name: the "system-" prefix is reserved for system applications');
  const list = (input.microservices ?? []).map((m) => ({ ...m, application: input.name }));
  checkMicroserviceNames(list);
  const prepared = await prepareAll(ctx, list);
  const nats = await prepareNatsOf(
    ctx,
    { name: input.name, natsRule: input.natsConfig?.natsRule ?? null },
    list.map((m, i) => ({ input: m, prepared: prepared[i]! })),
  );
  return withTransaction(ctx, async (tx) => {
    const dup = await tx.db.select({ id: application.id }).from(application).where(eq(application.name, input.name)).limit(1);
    if (dup.length) throw conflict(`Application ${input.name} already exists`);
    const now = tx.clock.now();
    const [app] = await tx.db
      .insert(application)
      .values({
        name: input.name,
        description: input.description ?? '',
        isActivated: input.isActivated ?? opts.defaultActivated ?? false,
        natsAccess: input.natsConfig?.natsAccess ?? false,
        natsRule: input.natsConfig?.natsRule ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    for (const [i, m] of list.entries()) await insertMicroservice(tx, app!, m, prepared[i]!, nats);
    return { id: app!.id, name: app!.name };
  });
}

/** PATCH: description, isActivated (start/stop all), natsConfig. */
export async function patchApplication(ctx: AppCtx, name: string, input: ApplicationPatchInput) {
  const app = await requireApplication(ctx, name);
  if (app.isSystem) throw notFound(`Application ${name}`);
  if (input.name !== undefined && input.name !== name) throw invalid('name: an application cannot be renamed');
  await withTransaction(ctx, async (tx) => {
    await tx.db
      .update(application)
      .set({
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.isActivated !== undefined ? { isActivated: input.isActivated } : {}),
        ...(input.natsConfig ? { natsAccess: input.natsConfig.natsAccess, natsRule: input.natsConfig.natsRule ?? null } : {}),
        updatedAt: tx.clock.now(),
      })
      .where(eq(application.id, app.id));
    if (input.isActivated !== undefined && input.isActivated !== app.isActivated) {
      const fogs = await tx.db
        .selectDistinct({ fogUuid: microservice.fogUuid })
        .from(microservice)
        .where(eq(microservice.applicationId, app.id));
      await raiseFlags(
        tx,
        fogs.map((f) => f.fogUuid).filter((u): u is string => Boolean(u)),
        ['microserviceList'],
      );
    }
  });
}

/** PUT: the application state replaces what is stored — microservices missing from it are deleted. */
export async function replaceApplication(
  ctx: AppCtx,
  name: string,
  input: Omit<ApplicationInput, 'name'> & { name?: string },
  opts: { createIfMissing?: boolean; defaultActivated?: boolean } = {},
): Promise<'created' | 'updated'> {
  // The path names the application; a body that names one must name the same.
  if (input.name !== undefined && input.name !== name) throw invalid(`name: must equal the application name in the path (${name})`);
  const [existing] = await ctx.db.select().from(application).where(eq(application.name, name)).limit(1);
  if (!existing) {
    if (!opts.createIfMissing) throw notFound(`Application ${name}`);
    await createApplication(ctx, { ...input, name }, opts);
    return 'created';
  }
  if (existing.isSystem) throw notFound(`Application ${name}`);
  const list = (input.microservices ?? []).map((m) => ({ ...m, application: name }));
  checkMicroserviceNames(list);
  const current = await ctx.db.select().from(microservice).where(eq(microservice.applicationId, existing.id));
  const byName = new Map(current.map((m) => [m.name, m]));
  // Validate every update and insert first; then write them all in one transaction (all or nothing).
  const updates: Array<(tx: AppCtx) => Promise<void>> = [];
  for (const [i, m] of list.entries()) {
    const found = byName.get(m.name);
    if (!found) continue;
    try {
      updates.push(await prepareUpdate(ctx, found.uuid, m, { system: false }));
    } catch (err) {
      if (err instanceof Error && (err as { code?: string }).code === 'VALIDATION_FAILED')
        err.message = `microservices[${i}].${err.message}`;
      throw err;
    }
  }
  const fresh = list.filter((m) => !byName.has(m.name));
  const prepared = await prepareAll(ctx, fresh);
  const nats = await prepareNatsOf(
    ctx,
    existing,
    fresh.map((m, i) => ({ input: m, prepared: prepared[i]! })),
  );
  const wanted = new Set(list.map((m) => m.name));
  await withTransaction(ctx, async (tx) => {
    await tx.db
      .update(application)
      .set({
        description: input.description ?? existing.description,
        isActivated: input.isActivated ?? existing.isActivated,
        ...(input.natsConfig ? { natsAccess: input.natsConfig.natsAccess, natsRule: input.natsConfig.natsRule ?? null } : {}),
        updatedAt: tx.clock.now(),
      })
      .where(eq(application.id, existing.id));
    for (const apply of updates) await apply(tx);
    for (const [i, m] of fresh.entries()) await insertMicroservice(tx, existing, m, prepared[i]!, nats);
    await removeOrMark(
      tx,
      current.filter((m) => !wanted.has(m.name)),
      false,
    );
    if (input.isActivated !== undefined && input.isActivated !== existing.isActivated) {
      await raiseFlags(
        tx,
        current.map((m) => m.fogUuid).filter((u): u is string => Boolean(u)),
        ['microserviceList'],
      );
    }
  });
  return 'updated';
}

export async function deleteApplication(ctx: AppCtx, name: string, system: boolean): Promise<void> {
  const app = await requireApplication(ctx, name);
  if (app.isSystem !== system) throw notFound(`Application ${name}`);
  await withTransaction(ctx, async (tx) => {
    const ms = await tx.db.select().from(microservice).where(eq(microservice.applicationId, app.id));
    const fogs = [...new Set(ms.map((m) => m.fogUuid).filter((u): u is string => Boolean(u)))];
    // The agent drops microservices that disappear from its list; the rows go with the application.
    await tx.db.delete(application).where(eq(application.id, app.id));
    await raiseFlags(tx, fogs, ['microserviceList']);
  });
}
