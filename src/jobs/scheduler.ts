import { Cron } from 'croner';
import type { AppCtx } from '../context';
import { errorFields } from '../lib/logger';
import { runTick } from './runner';
import type { Job } from './types';

/**
 * How every job's schedule is read: in UTC whatever the host's time zone. utcOffset 0 rather than
 * timezone 'UTC': the same times, without croner converting every date through Intl.DateTimeFormat
 * (≈ 6 ms per next-run computation on this machine, for every tick of every job, and at start-up).
 */
export const CRON_TIME = { utcOffset: 0 } as const;

/**
 * Schedules jobs with croner on Node, Deno and Bun. `protect` skips a tick while the previous run
 * of the same job is still going; the DB lease makes each tick run on one instance only.
 */
export function startScheduler(ctx: AppCtx, jobs: Job[]): { stop(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  const crons = jobs.map(
    (job) =>
      new Cron(job.serverSchedule ?? job.schedule, { name: job.name, protect: true, ...CRON_TIME }, async (self: Cron) => {
        const tick = (self.currentRun() ?? new Date()).getTime();
        const p = runTick(ctx, job, tick).catch((err) => ctx.logger.error('job tick failed', { job: job.name, ...errorFields(err) }));
        running.add(p);
        try {
          await p;
        } finally {
          running.delete(p);
        }
      }),
  );
  return {
    async stop() {
      for (const c of crons) c.stop();
      await Promise.allSettled([...running]);
    },
  };
}
