import type { Job } from '../src/jobs/types';
import { processFogTasks } from '../src/services/platform/fog-platform';

/**
 * Fog platform reconcile (platform §6.5): every 3 s on Node/Deno/Bun (every minute on Workers), claims at
 * most one fog task (leased, exclusive across instances) and reconciles that fog's router platform.
 */
export const platformReconcileWorkerJob: Job = {
  name: 'platform-reconcile-worker',
  schedule: '* * * * *',
  serverSchedule: '*/3 * * * * *',
  run: (ctx) => processFogTasks(ctx, 1),
};
