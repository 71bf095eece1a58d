import { and, eq, inArray, isNotNull, lt, notInArray, or, sql } from 'drizzle-orm';
import { application, fog, microservice, microserviceStatus } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { DELETE_GRACE_MS, STATUS_TOLERANCE } from './fogs';

const REPORTING = ['RUNNING', 'WARNING'];
/** Three missed reports, with upstream's 10 s floor on the period (CASE keeps it portable SQL). */
const silentSince = (now: number) =>
  sql`${fog.lastStatusTime} < ${now} - (CASE WHEN ${fog.statusFrequency} > 10 THEN ${fog.statusFrequency} ELSE 10 END) * ${STATUS_TOLERANCE * 1000}`;

/**
 * Marks RUNNING/WARNING fogs UNKNOWN when their last status report is older than
 * STATUS_TOLERANCE × max(statusFrequency, 10 s), and their microservices' statuses UNKNOWN too
 * (a fresh report restores both). Removes fogs whose deletion the agent never confirmed within
 * DELETE_GRACE_MS.
 */
export async function updateFogLiveness(ctx: AppCtx): Promise<{ markedUnknown: number; removed: number }> {
  const now = ctx.clock.now();
  const stale = await ctx.db
    .select({ uuid: fog.uuid })
    .from(fog)
    .where(and(inArray(fog.daemonStatus, REPORTING), isNotNull(fog.lastStatusTime), silentSince(now)));
  const expired = await ctx.db
    .select({ uuid: fog.uuid })
    .from(fog)
    .where(and(isNotNull(fog.deleteRequestedAt), lt(fog.deleteRequestedAt, now - DELETE_GRACE_MS)));
  if (stale.length === 0 && expired.length === 0) return { markedUnknown: 0, removed: 0 };
  const result = await withTransaction(ctx, async (tx) => {
    let markedUnknown = 0;
    let removed = 0;
    for (let i = 0; i < stale.length; i += 500) {
      const ids = stale.slice(i, i + 500).map((r) => r.uuid);
      // Re-check inside the transaction: a report may have arrived since the read above.
      const res = await tx.db
        .update(fog)
        .set({ daemonStatus: 'UNKNOWN', updatedAt: now })
        .where(and(inArray(fog.uuid, ids), inArray(fog.daemonStatus, REPORTING), silentSince(now)));
      markedUnknown += res.rowsAffected;
      // What the silent agent last said about its microservices is no longer known either.
      const owned = tx.db.select({ uuid: microservice.uuid }).from(microservice).where(inArray(microservice.fogUuid, ids));
      await tx.db
        .update(microserviceStatus)
        .set({ status: 'UNKNOWN', cpuUsage: '0', memoryUsage: '0', execSessionIds: '[]', updatedAt: now })
        .where(and(inArray(microserviceStatus.microserviceUuid, owned), notInArray(microserviceStatus.status, ['STOPPED'])));
    }
    for (let i = 0; i < expired.length; i += 500) {
      removed += (await tx.db.delete(fog).where(inArray(fog.uuid, expired.slice(i, i + 500).map((r) => r.uuid)))).rowsAffected;
    }
    return { markedUnknown, removed };
  });
  for (const r of expired) {
    ctx.agentKeys.invalidate(r.uuid);
    ctx.agentActivity.forget(r.uuid);
  }
  if (result.markedUnknown || result.removed) ctx.logger.info('fog liveness updated', result);
  return result;
}

const ACTIVE_LOOKING = ['RUNNING', 'STOPPING', 'DELETED', 'DELETING'];

/**
 * Microservices whose desired state is stopped (application deactivated or microservice stopped)
 * but whose last observed status still looks active are shown as STOPPED.
 */
export async function updateStoppedMicroservices(ctx: AppCtx): Promise<{ markedStopped: number }> {
  const rows = await ctx.db
    .select({ uuid: microservice.uuid })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .innerJoin(microserviceStatus, eq(microserviceStatus.microserviceUuid, microservice.uuid))
    .where(and(or(eq(application.isActivated, false), eq(microservice.stopped, true)), eq(application.isSystem, false), inArray(microserviceStatus.status, ACTIVE_LOOKING)));
  if (rows.length === 0) return { markedStopped: 0 };
  const now = ctx.clock.now();
  const markedStopped = await withTransaction(ctx, async (tx) => {
    let n = 0;
    for (let i = 0; i < rows.length; i += 500) {
      const res = await tx.db
        .update(microserviceStatus)
        .set({ status: 'STOPPED', cpuUsage: '0', memoryUsage: '0', updatedAt: now })
        .where(and(inArray(microserviceStatus.microserviceUuid, rows.slice(i, i + 500).map((r) => r.uuid)), inArray(microserviceStatus.status, ACTIVE_LOOKING)));
      n += res.rowsAffected;
    }
    return n;
  });
  return { markedStopped };
}
