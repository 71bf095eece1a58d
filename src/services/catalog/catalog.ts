import { and, asc, eq, ne } from 'drizzle-orm';
import { catalogItem, microservice, registry } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { conflict, invalid, notFound } from '../../errors';
import { enqueueOutbox } from '../outbox/outbox';
import { auditTarget } from '../events/audit';
import type { CatalogItemCreateInput, CatalogItemInput, CatalogItemResponse } from './schemas';

export type { CatalogItemInput };

type Row = typeof catalogItem.$inferSelect;
type Image = CatalogItemCreateInput['images'][number];

const parse = <T>(t: string | null, d: T): T => {
  try {
    return t ? (JSON.parse(t) as T) : d;
  } catch {
    return d;
  }
};

const present = (r: Row): CatalogItemResponse => ({
  id: r.id,
  name: r.name,
  description: r.description,
  category: r.category,
  publisher: r.publisher,
  picture: r.picture,
  configExample: r.configExample,
  diskRequired: r.diskRequired,
  ramRequired: r.ramRequired,
  isPublic: r.isPublic,
  registryId: r.registryId,
  images: parse<Image[]>(r.images, []),
  inputType: parse<CatalogItemResponse['inputType']>(r.inputType, null),
  outputType: parse<CatalogItemResponse['outputType']>(r.outputType, null),
});

export async function listCatalog(ctx: AppCtx) {
  return (await ctx.db.select().from(catalogItem).orderBy(asc(catalogItem.id))).map(present);
}

async function requireItem(ctx: AppCtx, id: number): Promise<Row> {
  const [r] = await ctx.db.select().from(catalogItem).where(eq(catalogItem.id, id)).limit(1);
  if (!r) throw notFound(`Catalog item ${id}`);
  return r;
}

export async function getCatalogItem(ctx: AppCtx, id: number) {
  return present(await requireItem(ctx, id));
}

function checkImages(images: Image[] | undefined): void {
  if (!images) return;
  if (new Set(images.map((i) => i.archId)).size !== images.length) throw invalid('images: archId must be unique');
}

async function checkRegistry(ctx: AppCtx, id: number | undefined): Promise<void> {
  if (id === undefined) return;
  const [r] = await ctx.db.select({ id: registry.id }).from(registry).where(eq(registry.id, id)).limit(1);
  if (!r) throw invalid(`registryId: no registry ${id}`);
}

function columns(input: CatalogItemInput) {
  const out: Record<string, unknown> = {};
  for (const k of [
    'name',
    'description',
    'category',
    'publisher',
    'picture',
    'configExample',
    'diskRequired',
    'ramRequired',
    'isPublic',
    'registryId',
  ] as const) {
    if (input[k] !== undefined) out[k] = input[k];
  }
  if (input.images) out.images = JSON.stringify(input.images);
  if (input.inputType !== undefined) out.inputType = input.inputType === null ? null : JSON.stringify(input.inputType);
  if (input.outputType !== undefined) out.outputType = input.outputType === null ? null : JSON.stringify(input.outputType);
  return out as Partial<typeof catalogItem.$inferInsert>;
}

export async function createCatalogItem(ctx: AppCtx, input: CatalogItemCreateInput): Promise<{ id: number }> {
  checkImages(input.images);
  await checkRegistry(ctx, input.registryId);
  if (input.category === 'SYSTEM') throw invalid('category: SYSTEM is reserved for built-in items');
  return withTransaction(ctx, async (tx) => {
    const dup = await tx.db.select({ id: catalogItem.id }).from(catalogItem).where(eq(catalogItem.name, input.name)).limit(1);
    if (dup.length) throw conflict(`A catalog item named ${input.name} already exists`);
    const now = tx.clock.now();
    const [row] = await tx.db
      .insert(catalogItem)
      .values({ ...columns(input), name: input.name, createdAt: now, updatedAt: now })
      .returning({ id: catalogItem.id });
    auditTarget(tx, row!.id);
    return { id: row!.id };
  });
}

/** Image or registry changes reach the microservices built from the item through the outbox. */
export async function updateCatalogItem(ctx: AppCtx, id: number, input: CatalogItemInput): Promise<void> {
  const current = await requireItem(ctx, id);
  checkImages(input.images);
  await checkRegistry(ctx, input.registryId);
  if (input.category !== undefined && (input.category === 'SYSTEM') !== (current.category === 'SYSTEM'))
    throw invalid('category: SYSTEM cannot be set or removed');
  const cols = columns(input);
  const propagate =
    (cols.images !== undefined && cols.images !== current.images) ||
    (cols.registryId !== undefined && cols.registryId !== current.registryId);
  await withTransaction(ctx, async (tx) => {
    if (input.name && input.name !== current.name) {
      const dup = await tx.db
        .select({ id: catalogItem.id })
        .from(catalogItem)
        .where(and(eq(catalogItem.name, input.name), ne(catalogItem.id, id)))
        .limit(1);
      if (dup.length) throw conflict(`A catalog item named ${input.name} already exists`);
    }
    const now = tx.clock.now();
    await tx.db
      .update(catalogItem)
      .set({ ...cols, updatedAt: now })
      .where(eq(catalogItem.id, id));
    if (propagate) await enqueueOutbox(tx, 'agent_propagation', `cat:${id}:updated:${now}`, { rebuildCatalogItemId: id });
  });
}

export async function deleteCatalogItem(ctx: AppCtx, id: number): Promise<void> {
  const current = await requireItem(ctx, id);
  if (current.category === 'SYSTEM') throw invalid(`id: catalog item ${current.name} is a system item and cannot be deleted`);
  const [user] = await ctx.db.select({ name: microservice.name }).from(microservice).where(eq(microservice.catalogItemId, id)).limit(1);
  if (user) throw invalid(`id: catalog item ${current.name} is used by microservice ${user.name}`);
  await withTransaction(ctx, (tx) =>
    tx.db
      .delete(catalogItem)
      .where(eq(catalogItem.id, id))
      .then(() => undefined),
  );
}
