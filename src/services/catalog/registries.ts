import { asc, eq } from 'drizzle-orm';
import { catalogItem, microservice, registry } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { invalid, notFound } from '../../errors';
import { enqueueOutbox } from '../outbox/outbox';
import { auditTarget } from '../events/audit';
import type { RegistryInput, RegistryResponse, RegistryUpdateInput } from './schemas';

export type { RegistryInput };

export const SYSTEM_REGISTRY_IDS = [1, 2];
/** Registry passwords are encrypted at rest; the AAD binds them to this use. */
export const REGISTRY_PASSWORD_AAD = 'registry-password';

type Row = typeof registry.$inferSelect;
const present = (r: Row): RegistryResponse => ({
  id: r.id,
  url: r.url,
  isPublic: r.isPublic,
  username: r.username,
  userEmail: r.userEmail,
});

export async function listRegistries(ctx: AppCtx) {
  return (await ctx.db.select().from(registry).orderBy(asc(registry.id))).map(present);
}

async function requireRegistry(ctx: AppCtx, id: number): Promise<Row> {
  const [r] = await ctx.db.select().from(registry).where(eq(registry.id, id)).limit(1);
  if (!r) throw notFound(`Registry ${id}`);
  return r;
}

export async function getRegistry(ctx: AppCtx, id: number) {
  return present(await requireRegistry(ctx, id));
}

/** Every fog learns of a registry change through the outbox (never an inline fan-out). */
export async function createRegistry(ctx: AppCtx, input: RegistryInput): Promise<{ id: number }> {
  const passwordEnc = input.password ? await ctx.vault.encrypt(input.password, REGISTRY_PASSWORD_AAD) : '';
  return withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const [row] = await tx.db
      .insert(registry)
      .values({
        url: input.url,
        isPublic: input.isPublic,
        username: input.username,
        passwordEnc,
        userEmail: input.email,
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: registry.id });
    await enqueueOutbox(tx, 'agent_propagation', `reg:${row!.id}:created:${now}`, { notifyRegistries: true });
    auditTarget(tx, row!.id);
    return { id: row!.id };
  });
}

export async function updateRegistry(ctx: AppCtx, id: number, input: RegistryUpdateInput): Promise<void> {
  await requireRegistry(ctx, id);
  if (id === 2) throw invalid('id: registry 2 (the local image cache) cannot be changed');
  const passwordEnc =
    input.password !== undefined ? (input.password ? await ctx.vault.encrypt(input.password, REGISTRY_PASSWORD_AAD) : '') : undefined;
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db
      .update(registry)
      .set({
        ...(input.url !== undefined ? { url: input.url } : {}),
        ...(input.isPublic !== undefined ? { isPublic: input.isPublic } : {}),
        ...(input.username !== undefined ? { username: input.username } : {}),
        ...(passwordEnc !== undefined ? { passwordEnc } : {}),
        ...(input.email !== undefined ? { userEmail: input.email } : {}),
        updatedAt: now,
      })
      .where(eq(registry.id, id));
    await enqueueOutbox(tx, 'agent_propagation', `reg:${id}:updated:${now}`, { notifyRegistries: true, rebuildRegistryId: id });
  });
}

export async function deleteRegistry(ctx: AppCtx, id: number): Promise<void> {
  await requireRegistry(ctx, id);
  if (SYSTEM_REGISTRY_IDS.includes(id)) throw invalid(`id: registry ${id} is built in and cannot be deleted`);
  const [user] = await ctx.db.select({ name: microservice.name }).from(microservice).where(eq(microservice.registryId, id)).limit(1);
  if (user) throw invalid(`id: registry ${id} is used by microservice ${user.name}`);
  const [item] = await ctx.db.select({ name: catalogItem.name }).from(catalogItem).where(eq(catalogItem.registryId, id)).limit(1);
  if (item) throw invalid(`id: registry ${id} is used by catalog item ${item.name}`);
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(registry).where(eq(registry.id, id));
    await enqueueOutbox(tx, 'agent_propagation', `reg:${id}:deleted`, { notifyRegistries: true });
  });
}
