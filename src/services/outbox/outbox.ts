import { and, asc, eq, gt, inArray, isNull, lt } from 'drizzle-orm';
import { catalogItem, fog, microservice, reconcileOutbox } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { errorFields } from '../../lib/logger';
import { raiseFlags } from '../changes/flags';

/** agent_propagation payload: fan-out of a registry or catalog change to fogs. */
export interface PropagationPayload {
  /** Raise `registries` on every fog. */
  notifyRegistries?: boolean;
  /** Microservices using this registry / catalog item get `rebuild` + `microserviceConfig` on their fogs. */
  rebuildRegistryId?: number;
  rebuildCatalogItemId?: number;
  /** Cursor: last fog uuid handled by `notifyRegistries` (chunks of 100). */
  progress?: string;
}

export const PROPAGATION_CHUNK = 100;
export const DRAIN_BATCH = 32;
const MAX_ATTEMPTS = 20;

/**
 * Enqueues outbox work inside the caller's transaction. Same key: an unprocessed row takes the new
 * payload; a processed one is reopened.
 */
export async function enqueueOutbox(
  tx: AppCtx,
  kind: 'agent_propagation',
  idempotencyKey: string,
  payload: PropagationPayload,
): Promise<void> {
  if (!tx.inTx) throw new Error('enqueueOutbox must run inside withTransaction');
  const now = tx.clock.now();
  const text = JSON.stringify(payload);
  await tx.db
    .insert(reconcileOutbox)
    .values({ kind, payload: text, idempotencyKey, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: reconcileOutbox.idempotencyKey,
      set: { payload: text, processedAt: null, attempts: 0, lastError: null, updatedAt: now },
    });
}

/** One drain tick: up to DRAIN_BATCH unprocessed rows, each in its own short transaction. */
export async function drainOutbox(ctx: AppCtx): Promise<{ processed: number; failed: number; pending: number }> {
  const rows = await ctx.db
    .select()
    .from(reconcileOutbox)
    .where(and(isNull(reconcileOutbox.processedAt), lt(reconcileOutbox.attempts, MAX_ATTEMPTS)))
    .orderBy(asc(reconcileOutbox.id))
    .limit(DRAIN_BATCH);
  let processed = 0;
  let failed = 0;
  let pending = 0;
  for (const row of rows) {
    try {
      const done = await step(ctx, row.id, row.kind, JSON.parse(row.payload) as PropagationPayload);
      if (done) processed++;
      else pending++;
    } catch (err) {
      failed++;
      ctx.logger.warn('outbox row failed; will retry', { id: row.id, kind: row.kind, ...errorFields(err) });
      await withTransaction(ctx, (tx) =>
        tx.db
          .update(reconcileOutbox)
          .set({ attempts: row.attempts + 1, lastError: String((err as Error)?.message ?? err).slice(0, 500), updatedAt: tx.clock.now() })
          .where(eq(reconcileOutbox.id, row.id))
          .then(() => undefined),
      ).catch((recordErr) =>
        ctx.logger.error('could not record an outbox failure; the row will be retried as is', { id: row.id, ...errorFields(recordErr) }),
      );
    }
  }
  return { processed, failed, pending };
}

/** Performs one chunk of a row; returns true when the row is finished. */
async function step(ctx: AppCtx, id: number, kind: string, p: PropagationPayload): Promise<boolean> {
  if (kind !== 'agent_propagation') throw new Error(`unknown outbox kind ${kind}`);
  return withTransaction(ctx, async (tx) => {
    // Rebuilds first (few fogs), then the all-fog registries notification in chunks.
    if (p.rebuildRegistryId !== undefined || p.rebuildCatalogItemId !== undefined) {
      const cond =
        p.rebuildRegistryId !== undefined
          ? eq(microservice.registryId, p.rebuildRegistryId)
          : eq(microservice.catalogItemId, p.rebuildCatalogItemId!);
      const affected = await tx.db.select({ uuid: microservice.uuid, fogUuid: microservice.fogUuid }).from(microservice).where(cond);
      if (affected.length) {
        // Microservices made from a catalog item follow its images and registry.
        const item =
          p.rebuildCatalogItemId !== undefined
            ? (await tx.db.select().from(catalogItem).where(eq(catalogItem.id, p.rebuildCatalogItemId)).limit(1))[0]
            : undefined;
        await tx.db
          .update(microservice)
          .set({ rebuild: true, ...(item ? { images: item.images, registryId: item.registryId } : {}) })
          .where(
            inArray(
              microservice.uuid,
              affected.map((a) => a.uuid),
            ),
          );
        await raiseFlags(
          tx,
          affected.map((a) => a.fogUuid).filter((u): u is string => Boolean(u)),
          ['microserviceConfig'],
        );
      }
      p = { ...p, rebuildRegistryId: undefined, rebuildCatalogItemId: undefined };
    }
    if (p.notifyRegistries) {
      const chunk = await tx.db
        .select({ uuid: fog.uuid })
        .from(fog)
        .where(p.progress ? gt(fog.uuid, p.progress) : undefined)
        .orderBy(asc(fog.uuid))
        .limit(PROPAGATION_CHUNK);
      await raiseFlags(
        tx,
        chunk.map((f) => f.uuid),
        ['registries'],
      );
      if (chunk.length === PROPAGATION_CHUNK) {
        await tx.db
          .update(reconcileOutbox)
          .set({ payload: JSON.stringify({ ...p, progress: chunk[chunk.length - 1]!.uuid }), updatedAt: tx.clock.now() })
          .where(eq(reconcileOutbox.id, id));
        return false;
      }
    }
    await tx.db
      .update(reconcileOutbox)
      .set({ processedAt: tx.clock.now(), payload: JSON.stringify({ ...p, progress: undefined }), updatedAt: tx.clock.now() })
      .where(eq(reconcileOutbox.id, id));
    return true;
  });
}
