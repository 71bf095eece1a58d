import { and, eq, isNull, sql } from 'drizzle-orm';
import { fog, fogPlatformStatus, fogPlatformTask } from '../../../db/schema/index';
import type { CoreDeps, StorageDeps } from '../../context';

// The fog platform's work queue, written inside the caller's transaction like the change flags: fog,
// service and workload changes enqueue (coalesce into) a per-fog task that the platform reconcile
// worker claims later. It sits here, below every domain that enqueues, rather than in platform/, because
// the platform reconcile itself uses microservices (system microservices) and fogs use the platform: a
// leaf module that imports nothing from those domains keeps them from importing each other in a circle.

export type Phase = 'Pending' | 'Progressing' | 'Ready' | 'Failed' | 'Deleting';
export type TaskReason =
  | 'spec-changed'
  | 'delete'
  | 'manual-retry'
  | 'periodic-sweep'
  | 'service-changed'
  | 'upstream-changed'
  | 'nats-changed';

/**
 * Enqueues (coalesces into) the fog's task and moves its status: `delete` is sticky, the highest spec
 * generation wins, `manual-retry` resets attempts and backoff.
 */
export async function enqueueFogReconcile(
  tx: CoreDeps & StorageDeps,
  fogUuid: string,
  reason: TaskReason,
  specGeneration: number,
): Promise<void> {
  if (!tx.inTx) throw new Error('enqueueFogReconcile must run inside withTransaction');
  const now = tx.clock.now();
  const [task] = await tx.db.select().from(fogPlatformTask).where(eq(fogPlatformTask.fogUuid, fogUuid)).limit(1);
  if (!task) {
    await tx.db.insert(fogPlatformTask).values({ fogUuid, reason, specGeneration, status: 'pending', createdAt: now, updatedAt: now });
  } else {
    const nextReason = task.reason === 'delete' ? 'delete' : reason;
    const reset = reason === 'manual-retry' || task.status === 'failed';
    await tx.db
      .update(fogPlatformTask)
      .set({
        reason: nextReason,
        specGeneration: Math.max(task.specGeneration, specGeneration),
        status: task.status === 'in_progress' ? 'in_progress' : 'pending',
        ...(reset ? { attempts: 0, nextAttemptAt: null, lastError: null } : {}),
        updatedAt: now,
      })
      .where(eq(fogPlatformTask.fogUuid, fogUuid));
  }
  const phase: Phase = reason === 'delete' ? 'Deleting' : 'Pending';
  await tx.db
    .insert(fogPlatformStatus)
    .values({ fogUuid, phase, lastTransitionAt: now })
    .onConflictDoUpdate({
      target: fogPlatformStatus.fogUuid,
      set: {
        phase: sql`CASE WHEN ${fogPlatformStatus.phase} = 'Deleting' THEN 'Deleting' ELSE ${phase} END`,
        lastTransitionAt: now,
        ...(reason === 'manual-retry' ? { lastError: null } : {}),
      },
    });
}

/**
 * An interior router appeared, changed or is going: every other fog with a router may use it as an
 * upstream (explicitly or as the default router), so their configurations are recomputed.
 */
export async function enqueueDownstream(tx: CoreDeps & StorageDeps, changedFogUuid: string): Promise<void> {
  const others = await tx.db
    .select({ uuid: fog.uuid, gen: fog.specGeneration })
    .from(fog)
    .where(and(sql`${fog.routerMode} <> 'none'`, sql`${fog.uuid} <> ${changedFogUuid}`, isNull(fog.deleteRequestedAt)));
  for (const o of others) await enqueueFogReconcile(tx, o.uuid, 'upstream-changed', o.gen);
}

/**
 * A workload's NATS access changed on these fogs: they (users, creds, leaf remotes and bundle) and every
 * NATS server (the server bundle lists the application accounts) are reconciled. No fogs given: every
 * fog running NATS (the hub moved).
 */
export async function enqueueNatsFogs(tx: CoreDeps & StorageDeps, fogUuids: string[]): Promise<void> {
  const rows = await tx.db
    .select({ uuid: fog.uuid, gen: fog.specGeneration, natsMode: fog.natsMode })
    .from(fog)
    .where(isNull(fog.deleteRequestedAt));
  for (const r of rows)
    if (fogUuids.length === 0 ? r.natsMode !== 'none' : fogUuids.includes(r.uuid) || r.natsMode === 'server')
      await enqueueFogReconcile(tx, r.uuid, 'nats-changed', r.gen);
}
