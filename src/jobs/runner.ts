import { and, eq } from 'drizzle-orm';
import { jobRun } from '../../db/schema/index';
import { withTransaction } from '../../db/tx';
import type { AppCtx } from '../context';
import { errorFields } from '../lib/logger';
import type { Job } from './types';

export type TickOutcome =
  | { ran: true; result: Record<string, unknown> | undefined }
  | { ran: false; reason: 'claimed-elsewhere' | 'failed'; error?: string };

/**
 * Runs one scheduled tick of `job` if this instance wins the tick's lease. The lease is the
 * (job, tick) primary key: the first instance to insert it runs the tick, the rest skip it.
 */
export async function runTick(ctx: AppCtx, job: Job, tickMs: number): Promise<TickOutcome> {
  const tick = Math.floor(tickMs / 1000) * 1000;
  // Per-instance jobs lease (job@instance, tick): every instance runs the tick once.
  const leaseName = job.perInstance ? `${job.name}@${ctx.instanceId}` : job.name;
  const claimed = await withTransaction(
    ctx,
    async (tx) => {
      const res = await tx.db
        .insert(jobRun)
        .values({ job: leaseName, tick, owner: ctx.instanceId, startedAt: tx.clock.now() })
        .onConflictDoNothing();
      return res.rowsAffected === 1;
      // One insert that either wins the key or does nothing: correct at any isolation, so no retries.
    },
    { isolation: 'read committed' },
  );
  if (!claimed) {
    ctx.metrics.jobRuns.add(1, { job: job.name, result: 'skipped' });
    return { ran: false, reason: 'claimed-elsewhere' };
  }
  let result: Record<string, unknown> | undefined;
  let error: string | undefined;
  const started = Date.now();
  try {
    result = await job.run(ctx);
  } catch (err) {
    error = (err as Error)?.message ?? String(err);
    ctx.logger.error('job failed', { job: job.name, tick, ...errorFields(err) });
  }
  await withTransaction(ctx, (tx) =>
    tx.db
      .update(jobRun)
      .set({ finishedAt: tx.clock.now(), result: error ? `error: ${error}`.slice(0, 500) : JSON.stringify(result ?? {}).slice(0, 500) })
      .where(and(eq(jobRun.job, leaseName), eq(jobRun.tick, tick)))
      .then(() => undefined),
  ).catch((err) => ctx.logger.warn('could not record job result', { job: job.name, ...errorFields(err) }));
  ctx.metrics.jobRuns.add(1, { job: job.name, result: error ? 'error' : 'ok' });
  if (error) return { ran: false, reason: 'failed', error };
  ctx.logger.debug('job ran', { job: job.name, tick, durationMs: Date.now() - started, ...(result ?? {}) });
  return { ran: true, result };
}
