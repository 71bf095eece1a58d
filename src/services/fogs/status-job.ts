import { and, inArray, isNotNull, lt, notInArray, sql } from 'drizzle-orm';
import { fog } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { DELETE_GRACE_MS, STATUS_TOLERANCE } from './fogs';

const NOT_REPORTING = ['UNKNOWN', 'NOT_PROVISIONED', 'DEPROVISIONED'];

/**
 * Marks fogs UNKNOWN whose last status report is older than STATUS_TOLERANCE × statusFrequency
 * (a fresh report restores the reported status), and removes fogs whose deletion the agent never
 * confirmed within DELETE_GRACE_MS.
 */
export async function updateFogLiveness(ctx: AppCtx): Promise<{ markedUnknown: number; removed: number }> {
  const now = ctx.clock.now();
  const stale = await ctx.db
    .select({ uuid: fog.uuid })
    .from(fog)
    .where(
      and(
        notInArray(fog.daemonStatus, NOT_REPORTING),
        isNotNull(fog.lastStatusTime),
        sql`${fog.lastStatusTime} < ${now} - ${fog.statusFrequency} * ${STATUS_TOLERANCE * 1000}`,
      ),
    );
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
        .where(and(inArray(fog.uuid, ids), notInArray(fog.daemonStatus, NOT_REPORTING), sql`${fog.lastStatusTime} < ${now} - ${fog.statusFrequency} * ${STATUS_TOLERANCE * 1000}`));
      markedUnknown += res.rowsAffected;
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
