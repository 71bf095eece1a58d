import { and, eq, inArray, lt, or } from 'drizzle-orm';
import { wsSession } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx, StorageDeps } from '../../context';
import { raiseFlags } from '../changes/flags';
import { flagOf, type SessionKind, type TailConfig } from './session';

// The `ws_session` rows seen from outside one instance: what an agent lists to find the sessions it must
// join, and the reconcile that deletes rows no instance will finish.

/** The fog's sessions of one kind whose user is connected, oldest first. */
async function connectedRows(ctx: StorageDeps, fogUuid: string, kind: SessionKind) {
  const rows = await ctx.db
    .select()
    .from(wsSession)
    .where(and(eq(wsSession.fogUuid, fogUuid), eq(wsSession.kind, kind), eq(wsSession.userConnected, true)));
  rows.sort((a, b) => a.createdAt - b.createdAt);
  return rows;
}

/** GET /agent/exec/sessions: the exec sessions the fog's agent should join. */
export async function listAgentExecSessions(ctx: StorageDeps, fogUuid: string) {
  return (await connectedRows(ctx, fogUuid, 'exec')).map((r) => ({
    microserviceUuid: r.microserviceUuid,
    sessionId: r.sessionId,
    status: r.status,
    agentConnected: r.agentConnected,
  }));
}

/** GET /agent/logs/sessions: the log sessions (of a microservice or of the fog itself) the agent should join. */
export async function listAgentLogSessions(ctx: StorageDeps, fogUuid: string) {
  return (await connectedRows(ctx, fogUuid, 'log')).map((r) => ({
    ...(r.target === 'fog' ? { iofogUuid: r.fogUuid } : { microserviceUuid: r.microserviceUuid }),
    sessionId: r.sessionId,
    tailConfig: r.tailConfig ? (JSON.parse(r.tailConfig) as TailConfig) : null,
    status: r.status,
    agentConnected: r.agentConnected,
  }));
}

/**
 * The stale-row reconcile: rows no instance will finish — older than their state's limit with
 * no session here, or with neither half connected — are deleted and the fog is told.
 */
export async function reconcileSessionRows(ctx: AppCtx, isLocal: (sessionId: string) => boolean): Promise<{ deleted: number }> {
  const now = ctx.clock.now();
  const c = ctx.config.ws;
  const rows = await ctx.db
    .select({
      sessionId: wsSession.sessionId,
      kind: wsSession.kind,
      target: wsSession.target,
      fogUuid: wsSession.fogUuid,
      status: wsSession.status,
      updatedAt: wsSession.updatedAt,
      userConnected: wsSession.userConnected,
      agentConnected: wsSession.agentConnected,
    })
    .from(wsSession)
    .where(
      or(
        lt(wsSession.updatedAt, now - Math.min(c.execPendingMs, c.logPendingMs)),
        and(eq(wsSession.userConnected, false), eq(wsSession.agentConnected, false)),
      ),
    );
  const stale = rows.filter((r) => {
    if (isLocal(r.sessionId)) return false;
    if (!r.userConnected && !r.agentConnected) return true;
    const limit =
      r.status === 'PENDING'
        ? r.kind === 'exec'
          ? c.execPendingMs
          : c.logPendingMs
        : r.kind === 'exec'
          ? c.execMaxDurationMs
          : c.logIdleMs;
    return now - r.updatedAt > limit;
  });
  if (stale.length === 0) return { deleted: 0 };
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(wsSession).where(
      inArray(
        wsSession.sessionId,
        stale.map((r) => r.sessionId),
      ),
    );
    for (const kind of ['exec', 'log'] as const) {
      for (const target of ['microservice', 'fog'] as const) {
        const fogs = stale.filter((r) => r.kind === kind && r.target === target).map((r) => r.fogUuid);
        if (fogs.length) await raiseFlags(tx, fogs, [flagOf(kind, target)]);
      }
    }
  });
  return { deleted: stale.length };
}
