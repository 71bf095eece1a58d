import type { AppCtx } from '../context';

/** A background job: a thin module in workers/ that calls services. */
export interface Job {
  name: string;
  /** Five-field cron expression (UTC), the same string in croner and in wrangler.toml `[triggers] crons`. */
  schedule: string;
  run(ctx: AppCtx): Promise<Record<string, unknown> | void>;
}
