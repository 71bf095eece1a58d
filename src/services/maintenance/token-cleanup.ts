import { inArray, lt } from 'drizzle-orm';
import { agentJtiBatch, authRefreshToken, jobRun } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { yieldToEventLoop } from '../../lib/yield';
import { pruneLoginFailures } from '../auth/login';

const JOB_HISTORY_MS = 7 * 24 * 3600 * 1000;
/**
 * Used-token-id batches deleted per transaction. A batch is a quarter second of one instance's agent
 * requests (~9 KB at 10,000 agents), so a 5-minute run has ~1,200 per instance; deleting them all in
 * one statement walks every overflow page synchronously on the event loop.
 */
const JTI_DELETE_CHUNK = 20;

/**
 * Deletes login-failure counts that no longer lock or count, refresh-token records past their expiry (a used token must stay until then, so that
 * its reuse is still recognised), batches of used agent-token ids past their last token's expiry
 * (a few at a time, with the event loop running between), and job-run history older than a week.
 */
export async function cleanupExpiredTokens(ctx: AppCtx): Promise<{ refreshTokens: number; agentJtiBatches: number; jobRuns: number }> {
  const now = ctx.clock.now();
  const { refreshTokens, jobRuns } = await withTransaction(ctx, async (tx) => {
    const tokens = await tx.db.delete(authRefreshToken).where(lt(authRefreshToken.expiresAt, now));
    const runs = await tx.db.delete(jobRun).where(lt(jobRun.tick, now - JOB_HISTORY_MS));
    await pruneLoginFailures(tx);
    return { refreshTokens: tokens.rowsAffected, jobRuns: runs.rowsAffected };
  });
  let agentJtiBatches = 0;
  for (;;) {
    const ids = (
      await ctx.db.select({ id: agentJtiBatch.id }).from(agentJtiBatch).where(lt(agentJtiBatch.expiresAt, now)).limit(JTI_DELETE_CHUNK)
    ).map((r) => r.id);
    if (ids.length === 0) break;
    agentJtiBatches += await withTransaction(
      ctx,
      async (tx) => (await tx.db.delete(agentJtiBatch).where(inArray(agentJtiBatch.id, ids))).rowsAffected,
    );
    if (ids.length < JTI_DELETE_CHUNK) break;
    await yieldToEventLoop();
  }
  return { refreshTokens, agentJtiBatches, jobRuns };
}
