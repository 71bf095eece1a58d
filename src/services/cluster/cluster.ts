import { and, asc, eq, lt } from 'drizzle-orm';
import { clusterController } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { notFound } from '../../errors';
import { auditTarget } from '../events/audit';
import type { ClusterControllerT } from './schemas';

/**
 * Controller replicas (`/cluster/controllers`). Each instance
 * upserts its own row every 30 s; rows silent for longer than the inactive threshold are marked
 * inactive (never deleted automatically — an operator removes them with DELETE).
 */

type Row = typeof clusterController.$inferSelect;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function present(r: Row): ClusterControllerT {
  return {
    uuid: r.uuid,
    host: r.host,
    processId: r.processId,
    version: r.version,
    lastHeartbeat: iso(r.lastHeartbeat),
    isActive: r.isActive,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

const pid = (): number | null => (typeof process !== 'undefined' && typeof process.pid === 'number' ? process.pid : null);

/**
 * Registers or refreshes this replica. A configured CONTROLLER_HOST is (re)advertised; otherwise a
 * host an operator set with PATCH is kept. A row an operator deleted comes back on the next beat.
 */
export async function heartbeat(ctx: AppCtx): Promise<{ uuid: string; skipped?: string }> {
  if (!ctx.controllerUuidStable) return { uuid: ctx.controllerUuid, skipped: 'no stable replica id on this host: set CONTROLLER_UUID' };
  const now = ctx.clock.now();
  const host = ctx.config.cluster.host;
  await withTransaction(ctx, (tx) =>
    tx.db
      .insert(clusterController)
      .values({
        uuid: ctx.controllerUuid,
        host: host ?? null,
        processId: pid(),
        version: ctx.version,
        lastHeartbeat: now,
        isActive: true,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: clusterController.uuid,
        set: { processId: pid(), version: ctx.version, lastHeartbeat: now, isActive: true, updatedAt: now, ...(host ? { host } : {}) },
      })
      .then(() => undefined),
  );
  return { uuid: ctx.controllerUuid };
}

/** Marks replicas inactive whose last heartbeat is older than the threshold. */
export async function markInactive(ctx: AppCtx): Promise<{ inactivated: number }> {
  const cutoff = ctx.clock.now() - ctx.config.cluster.inactiveThresholdSec * 1000;
  const n = await withTransaction(ctx, async (tx) => {
    const r = await tx.db
      .update(clusterController)
      .set({ isActive: false, updatedAt: tx.clock.now() })
      .where(and(eq(clusterController.isActive, true), lt(clusterController.lastHeartbeat, cutoff)));
    return r.rowsAffected;
  });
  return { inactivated: n };
}

export async function listControllers(ctx: AppCtx, includeInactive: boolean) {
  const rows = await ctx.db
    .select()
    .from(clusterController)
    .where(includeInactive ? undefined : eq(clusterController.isActive, true))
    .orderBy(asc(clusterController.createdAt), asc(clusterController.uuid));
  return rows.map(present);
}

export async function getController(ctx: AppCtx, uuid: string) {
  const [row] = await ctx.db.select().from(clusterController).where(eq(clusterController.uuid, uuid)).limit(1);
  if (!row) throw notFound(`Cluster controller ${uuid}`);
  return present(row);
}

export async function setControllerHost(ctx: AppCtx, uuid: string, host: string | null): Promise<ClusterControllerT> {
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db.update(clusterController).set({ host, updatedAt: tx.clock.now() }).where(eq(clusterController.uuid, uuid));
    if (r.rowsAffected === 0) throw notFound(`Cluster controller ${uuid}`);
  });
  return getController(ctx, uuid);
}

/** Deleting a live replica's row is allowed: it registers again with its next heartbeat. */
export async function deleteController(ctx: AppCtx, uuid: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db.delete(clusterController).where(eq(clusterController.uuid, uuid));
    if (r.rowsAffected === 0) throw notFound(`Cluster controller ${uuid}`);
    auditTarget(tx, uuid);
  });
}
