import type { Job } from '../src/jobs/types';
import { processFogTasks } from '../src/services/platform/fog-platform';
import { processServiceTasks } from '../src/services/platform/services';

/**
 * Fog platform reconcile: every 3 s on Node/Deno/Bun (every minute on Workers), claims at
 * most one fog task and one service task (leased, exclusive across instances): a fog's router platform,
 * a service's fan-out to the routers that carry it.
 */
export const platformReconcileWorkerJob: Job = {
  name: 'platform-reconcile-worker',
  schedule: '* * * * *',
  serverSchedule: '2-59/3 * * * * *',
  run: async (ctx) => ({ ...(await processFogTasks(ctx, 1)), services: await processServiceTasks(ctx, 1) }),
};
