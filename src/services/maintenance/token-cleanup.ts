import { lt } from 'drizzle-orm';
import { agentJtiBatch, authRefreshToken, jobRun } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';

const JOB_HISTORY_MS = 7 * 24 * 3600 * 1000;

/**
 * Deletes refresh-token records past their expiry (a used token must stay until then, so that
 * its reuse is still recognised), batches of used agent-token ids past their last token's expiry, and job-run
 * history older than a week.
 */
export async function cleanupExpiredTokens(ctx: AppCtx): Promise<{ refreshTokens: number; agentJtiBatches: number; jobRuns: number }> {
  const now = ctx.clock.now();
  return withTransaction(ctx, async (tx) => {
    const tokens = await tx.db.delete(authRefreshToken).where(lt(authRefreshToken.expiresAt, now));
    const jtis = await tx.db.delete(agentJtiBatch).where(lt(agentJtiBatch.expiresAt, now));
    const runs = await tx.db.delete(jobRun).where(lt(jobRun.tick, now - JOB_HISTORY_MS));
    return { refreshTokens: tokens.rowsAffected, agentJtiBatches: jtis.rowsAffected, jobRuns: runs.rowsAffected };
  });
}
