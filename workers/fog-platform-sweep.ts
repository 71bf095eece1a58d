import type { Job } from '../src/jobs/types';
import { sweepFogPlatforms } from '../src/services/platform/fog-platform';

/** Fog platform drift: every 15 minutes, fogs whose platform is not as specified are re-enqueued. */
export const fogPlatformSweepJob: Job = {
  name: 'fog-platform-sweep',
  schedule: '*/15 * * * *',
  serverSchedule: '7 */15 * * * *',
  run: (ctx) => sweepFogPlatforms(ctx),
};
