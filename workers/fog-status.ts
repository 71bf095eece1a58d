import type { Job } from '../src/jobs/types';
import { updateFogLiveness } from '../src/services/fogs/status-job';

/** Every 30 s on Node/Deno/Bun (upstream's period); every minute from a Workers cron trigger. */
export const fogStatusJob: Job = {
  name: 'fog-status',
  schedule: '* * * * *',
  serverSchedule: '*/30 * * * * *',
  run: (ctx) => updateFogLiveness(ctx),
};
