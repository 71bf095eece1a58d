import { eq } from 'drizzle-orm';
import { application, fog, microservice, microserviceStatus, wsSession } from '../../../db/schema/index';
import type { StorageDeps } from '../../context';
import { invalid } from '../../errors';
import type { SessionKind, SessionTarget } from './session';

// What a session upgrade names, checked before the handshake completes: the microservice or fog a user
// wants to reach must be running, and an agent may only join a session of its own fog. Each refusal is a
// 400 whose message the route sends as the WebSocket close reason.

/** The microservice a user session targets: it must exist on the side of the path (system or not) and run. */
export async function runningMicroservice(ctx: StorageDeps, uuid: string, system: boolean): Promise<{ fogUuid: string }> {
  const [row] = await ctx.db
    .select({ fogUuid: microservice.fogUuid, isSystem: application.isSystem, status: microserviceStatus.status })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .leftJoin(microserviceStatus, eq(microserviceStatus.microserviceUuid, microservice.uuid))
    .where(eq(microservice.uuid, uuid))
    .limit(1);
  if (!row || row.isSystem !== system) throw invalid(`Microservice ${uuid} not found`);
  if (row.status !== 'RUNNING' || !row.fogUuid) throw invalid('Microservice is not running');
  return { fogUuid: row.fogUuid };
}

/** The fog a user's fog-log session targets: it must exist and run. */
export async function runningFog(ctx: StorageDeps, uuid: string): Promise<{ fogUuid: string }> {
  const [row] = await ctx.db.select({ daemonStatus: fog.daemonStatus }).from(fog).where(eq(fog.uuid, uuid)).limit(1);
  if (!row) throw invalid(`Fog ${uuid} not found`);
  if (row.daemonStatus !== 'RUNNING') throw invalid('Fog is not running');
  return { fogUuid: uuid };
}

/**
 * The session row an agent of `fogUuid` asks to join: its resource (the fog itself, or a microservice
 * that runs on the fog) must be the agent's, and the row must be of the kind, target and resource the
 * path names.
 */
export async function sessionForAgent(
  ctx: StorageDeps,
  fogUuid: string,
  ask: { sessionId: string; kind: SessionKind; target: SessionTarget; resource: string },
) {
  if (ask.target === 'fog') {
    if (ask.resource !== fogUuid) throw invalid('Fog UUID mismatch');
  } else {
    const [ms] = await ctx.db
      .select({ fogUuid: microservice.fogUuid })
      .from(microservice)
      .where(eq(microservice.uuid, ask.resource))
      .limit(1);
    if (!ms || ms.fogUuid !== fogUuid) throw invalid('Microservice not found or not associated with this agent');
  }
  const [row] = await ctx.db.select().from(wsSession).where(eq(wsSession.sessionId, ask.sessionId)).limit(1);
  if (!row) throw invalid('Session not found');
  const resource = ask.target === 'fog' ? row.fogUuid : row.microserviceUuid;
  if (row.kind !== ask.kind || row.target !== ask.target || resource !== ask.resource) throw invalid('Session mismatch');
  if (row.fogUuid !== fogUuid) throw invalid('Session mismatch');
  return row;
}
