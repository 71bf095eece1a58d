import type { Job } from '../src/jobs/types';
import { drainFogTasks } from '../src/services/platform/fog-platform';
import { processServiceTasks } from '../src/services/platform/services';

/**
 * Fog platform reconcile: every second on Node/Deno/Bun (every minute on Workers), a turn
 * that works through the fog task queue for up to RECONCILE_TURN_MS (leased tasks, exclusive across
 * instances) and one service task (a service's fan-out to the routers that carry it). Upstream claims one
 * fog task every 3 s, which takes hours for a change that touches every fog; a turn drains hundreds, with
 * the event loop free between tasks and a stop as soon as requests are waiting.
 */
export const RECONCILE_TURN_MS = 800;

export const platformReconcileWorkerJob: Job = {
  name: 'platform-reconcile-worker',
  schedule: '* * * * *',
  serverSchedule: '* * * * * *',
  run: async (ctx) => {
    const fogs = await drainFogTasks(ctx, { budgetMs: RECONCILE_TURN_MS, concurrency: ctx.config.reconcileConcurrency });
    return {
      reconciled: fogs.reconciled.length,
      failed: fogs.failed,
      ...(fogs.stoppedBy === 'empty' ? {} : { stoppedBy: fogs.stoppedBy }),
      services: await processServiceTasks(ctx, 1),
    };
  },
};
