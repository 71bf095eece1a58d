import type { Job } from '../src/jobs/types';
import { cleanupExpiredTokens } from '../src/services/maintenance/token-cleanup';

export const tokenCleanupJob: Job = {
  name: 'token-cleanup',
  schedule: '*/5 * * * *',
  serverSchedule: '52 */5 * * * *',
  run: (ctx) => cleanupExpiredTokens(ctx),
};
