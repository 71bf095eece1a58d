import type { Job } from '../src/jobs/types';
import { markInactive } from '../src/services/cluster/cluster';

/** Replicas silent for CONTROLLER_INACTIVE_THRESHOLD_SECONDS are shown inactive: every 10 min. */
export const controllerCleanupJob: Job = {
  name: 'controller-cleanup',
  schedule: '*/10 * * * *',
  serverSchedule: '25 */10 * * * *',
  run: (ctx) => markInactive(ctx),
};
