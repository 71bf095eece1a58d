import type { Job } from '../src/jobs/types';
import { heartbeat } from '../src/services/cluster/cluster';

/** Every replica refreshes its own `/cluster/controllers` row: per instance, every 30 s. */
export const controllerHeartbeatJob: Job = {
  name: 'controller-heartbeat',
  schedule: '* * * * *',
  serverSchedule: '10,40 * * * * *',
  perInstance: true,
  run: (ctx) => heartbeat(ctx),
};
