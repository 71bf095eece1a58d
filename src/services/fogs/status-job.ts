import { and, eq, inArray, isNotNull, lt, notInArray, or, sql } from 'drizzle-orm';
import { application, fog, microservice, microserviceStatus } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { DELETE_GRACE_MS, STATUS_TOLERANCE } from './fogs';
import { yieldToEventLoop } from '../../lib/yield';

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
    // The plain bound (the shortest tolerance, 10 s periods) lets SQLite use fog_last_status_idx: a healthy
    // fleet's rows are then not read at all by this query.
    .where(and(lt(fog.lastStatusTime, now - 10 * STATUS_TOLERANCE * 1000), inArray(fog.daemonStatus, REPORTING), silentSince(now)));
  const expired = await ctx.db
    .select({ uuid: fog.uuid })
    .from(fog)
    .where(and(isNotNull(fog.deleteRequestedAt), lt(fog.deleteRequestedAt, now - DELETE_GRACE_MS)));
  if (stale.length === 0 && expired.length === 0) return { markedUnknown: 0, removed: 0 };
  // One short transaction per 500 fogs, with the event loop running between them: a whole fleet going
  // silent at once (a site's uplink) is thousands of fogs, and one transaction over all of them held the
  // write lock and the event loop for ~80 ms at 6,500 fogs. Each chunk re-checks its fogs, so a partial
  // run is as correct as a whole one; the next tick picks up what a failed chunk left.
  const result = { markedUnknown: 0, removed: 0 };
  for (let i = 0; i < stale.length; i += 500) {
    if (i > 0) await yieldToEventLoop();
    const ids = stale.slice(i, i + 500).map((r) => r.uuid);
    result.markedUnknown += await withTransaction(ctx, async (tx) => {
      // Re-check inside the transaction: a report may have arrived since the read above.
      const res = await tx.db
        .update(fog)
        .set({ daemonStatus: 'UNKNOWN', updatedAt: now })
        .where(and(inArray(fog.uuid, ids), inArray(fog.daemonStatus, REPORTING), silentSince(now)));
      // What the silent agent last said about its microservices is no longer known either.
      const owned = tx.db.select({ uuid: microservice.uuid }).from(microservice).where(inArray(microservice.fogUuid, ids));
      await tx.db
        .update(microserviceStatus)
        .set({ status: 'UNKNOWN', cpuUsage: '0', memoryUsage: '0', execSessionIds: '[]', updatedAt: now })
        .where(and(inArray(microserviceStatus.microserviceUuid, owned), notInArray(microserviceStatus.status, ['STOPPED'])));
      return res.rowsAffected;
    });
  }
  for (let i = 0; i < expired.length; i += 500) {
    if (i > 0 || stale.length) await yieldToEventLoop();
    const ids = expired.slice(i, i + 500).map((r) => r.uuid);
    result.removed += await withTransaction(ctx, async (tx) => (await tx.db.delete(fog).where(inArray(fog.uuid, ids))).rowsAffected);
    // Per chunk, right after its commit: a later chunk's failure must not leave these keys usable.
    for (const uuid of ids) {
      ctx.agentKeys.invalidate(uuid);
      ctx.agentActivity.forget(uuid);
    }
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
    .where(
      and(
        or(eq(application.isActivated, false), eq(microservice.stopped, true)),
        eq(application.isSystem, false),
        inArray(microserviceStatus.status, ACTIVE_LOOKING),
      ),
    );
  if (rows.length === 0) return { markedStopped: 0 };
  const now = ctx.clock.now();
  const markedStopped = await withTransaction(ctx, async (tx) => {
    let n = 0;
    for (let i = 0; i < rows.length; i += 500) {
      const res = await tx.db
        .update(microserviceStatus)
        .set({ status: 'STOPPED', cpuUsage: '0', memoryUsage: '0', updatedAt: now })
        .where(
          and(
            inArray(
              microserviceStatus.microserviceUuid,
              rows.slice(i, i + 500).map((r) => r.uuid),
            ),
            inArray(microserviceStatus.status, ACTIVE_LOOKING),
          ),
        );
      n += res.rowsAffected;
    }
    return n;
  });
  return { markedStopped };
}
