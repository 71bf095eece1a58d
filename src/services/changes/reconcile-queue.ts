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

/** Fogs per statement when a change enqueues many at once (well under SQLite's bound-parameter limit). */
const ENQUEUE_CHUNK = 500;

/**
 * `enqueueFogReconcile` for many fogs at once, with the same rules, as two set-based statements per chunk.
 * A change that touches the whole fleet (an interior router, the NATS hub) enqueues every fog: one
 * select-then-write per fog was three statements each, 30,000 for 10,000 fogs, all on the event loop
 * inside the operator's transaction.
 */
export async function enqueueFogsReconcile(
  tx: CoreDeps & StorageDeps,
  fogs: Array<{ uuid: string; gen: number }>,
  reason: Exclude<TaskReason, 'delete' | 'manual-retry'>,
): Promise<void> {
  if (!tx.inTx) throw new Error('enqueueFogsReconcile must run inside withTransaction');
  const now = tx.clock.now();
  for (let i = 0; i < fogs.length; i += ENQUEUE_CHUNK) {
    const chunk = fogs.slice(i, i + ENQUEUE_CHUNK);
    const failed = sql`${fogPlatformTask.status} = 'failed'`;
    await tx.db
      .insert(fogPlatformTask)
      .values(chunk.map((f) => ({ fogUuid: f.uuid, reason, specGeneration: f.gen, status: 'pending', createdAt: now, updatedAt: now })))
      .onConflictDoUpdate({
        target: fogPlatformTask.fogUuid,
        set: {
          reason: sql`CASE WHEN ${fogPlatformTask.reason} = 'delete' THEN 'delete' ELSE excluded.reason END`,
          specGeneration: sql`CASE WHEN excluded.spec_generation > ${fogPlatformTask.specGeneration} THEN excluded.spec_generation ELSE ${fogPlatformTask.specGeneration} END`,
          // A failed task starts over (attempts, backoff and error reset), as a single enqueue does.
          attempts: sql`CASE WHEN ${failed} THEN 0 ELSE ${fogPlatformTask.attempts} END`,
          nextAttemptAt: sql`CASE WHEN ${failed} THEN NULL ELSE ${fogPlatformTask.nextAttemptAt} END`,
          lastError: sql`CASE WHEN ${failed} THEN NULL ELSE ${fogPlatformTask.lastError} END`,
          status: sql`CASE WHEN ${fogPlatformTask.status} = 'in_progress' THEN 'in_progress' ELSE 'pending' END`,
          updatedAt: now,
        },
      });
    await tx.db
      .insert(fogPlatformStatus)
      .values(chunk.map((f) => ({ fogUuid: f.uuid, phase: 'Pending', lastTransitionAt: now })))
      .onConflictDoUpdate({
        target: fogPlatformStatus.fogUuid,
        set: {
          phase: sql`CASE WHEN ${fogPlatformStatus.phase} = 'Deleting' THEN 'Deleting' ELSE 'Pending' END`,
          lastTransitionAt: now,
        },
      });
  }
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
  await enqueueFogsReconcile(tx, others, 'upstream-changed');
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
  const wanted = new Set(fogUuids);
  await enqueueFogsReconcile(
    tx,
    rows.filter((r) => (fogUuids.length === 0 ? r.natsMode !== 'none' : wanted.has(r.uuid) || r.natsMode === 'server')),
    'nats-changed',
  );
}
