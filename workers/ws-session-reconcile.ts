import type { Job } from '../src/jobs/types';

/**
 * Stale exec/log session rows: rows no instance will finish — a crashed replica's
 * sessions, halves that both went away — are deleted and their fog's session flag is set, once a
 * minute across instances (the per-instance timers end the sessions they hold themselves).
 */
export const wsSessionReconcileJob: Job = {
  name: 'ws-session-reconcile',
  schedule: '* * * * *',
  serverSchedule: '22 * * * * *',
  run: (ctx) => ctx.sessions.reconcile(),
};
