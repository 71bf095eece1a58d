import type { AppCtx } from '../context';

/** A background job: a thin module in workers/ that calls services. */
export interface Job {
  name: string;
  /** Five-field cron expression (UTC), the same string in croner and in wrangler.toml `[triggers] crons`. */
  schedule: string;
  /**
   * Optional schedule for the long-running servers (croner, six fields with seconds): finer than a
   * minute, and/or at its own second so jobs do not all start at :00 on the one event loop. It must
   * run in every minute `schedule` names (tests/unit/workers.test.ts). Workers cron triggers cannot
   * fire more often than once a minute; there the job runs on `schedule`.
   */
  serverSchedule?: string;
  /**
   * Run on every instance (e.g. the heartbeat each replica owes) instead of once per tick across
   * instances: the lease is then taken per instance.
   */
  perInstance?: boolean;
  run(ctx: AppCtx): Promise<Record<string, unknown> | undefined>;
}
