import type { Job } from '../src/jobs/types';
import { cleanupEvents } from '../src/services/events/audit';

/** Audit-log retention: daily, keeps EVENT_RETENTION_DAYS days. */
export const eventCleanupJob: Job = {
  name: 'event-cleanup',
  schedule: '17 3 * * *',
  serverSchedule: '37 17 3 * * *',
  run: (ctx) => cleanupEvents(ctx),
};
