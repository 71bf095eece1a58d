import type { Job } from '../src/jobs/types';
import { drainOutbox } from '../src/services/outbox/outbox';

/** Every second on Node/Deno/Bun; every minute from a Workers cron trigger. */
export const outboxDrainerJob: Job = {
  name: 'outbox-drainer',
  schedule: '* * * * *',
  serverSchedule: '* * * * * *',
  run: (ctx) => drainOutbox(ctx),
};
