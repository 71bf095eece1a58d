import type { Job } from '../src/jobs/types';
import { updateFogLiveness } from '../src/services/fogs/status-job';

/** Every minute (the finest schedule Workers cron triggers allow). */
export const fogStatusJob: Job = {
  name: 'fog-status',
  schedule: '* * * * *',
  run: (ctx) => updateFogLiveness(ctx),
};
