import type { Job } from '../src/jobs/types';
import { updateStoppedMicroservices } from '../src/services/fogs/status-job';

/** Same cadence as fog-status: every 30 s on Node/Deno/Bun, every minute on Workers. */
export const stoppedAppStatusJob: Job = {
  name: 'stopped-app-status',
  schedule: '* * * * *',
  serverSchedule: '15,45 * * * * *',
  run: (ctx) => updateStoppedMicroservices(ctx),
};
