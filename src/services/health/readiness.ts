import { ping } from '../../../db/dialect';
import type { AppCtx } from '../../context';

export interface Readiness {
  ready: boolean;
  reason?: string;
}

const DB_TIMEOUT_MS = 5000;

/** Readiness: accepting traffic, the database answers `SELECT 1` within 5 s, signing keys are loaded. */
export async function checkReadiness(ctx: AppCtx): Promise<Readiness> {
  if (!ctx.state.accepting) return { ready: false, reason: 'Controller is shutting down' };
  if (!ctx.keys.ready) return { ready: false, reason: 'Token signing keys are not loaded' };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ping(ctx.store.db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), DB_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    const timedOut = (err as Error).message === 'timeout';
    return { ready: false, reason: timedOut ? 'Database did not answer within 5 s' : 'Database is unavailable' };
  } finally {
    if (timer) clearTimeout(timer);
  }
  return { ready: true };
}
