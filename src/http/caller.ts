import type { Actor, RequestCtx } from '../context';
import { ServiceError } from '../errors';

// Who is calling, for handlers behind an `agent` or a user access rule. The auth middleware sets these
// before any such handler runs; a handler reached without one (a route declared with the wrong access)
// answers 401 instead of failing on an undefined.

/** The fog whose agent token authenticated this request. */
export function agentOf(ctx: Pick<RequestCtx, 'agent'>): { fogUuid: string } {
  if (!ctx.agent) throw new ServiceError('AUTH_REQUIRED', 'This route needs an agent token');
  return ctx.agent;
}

/** The signed-in user making this request. */
export function userOf(ctx: Pick<RequestCtx, 'actor'>): Actor {
  if (!ctx.actor) throw new ServiceError('AUTH_REQUIRED', 'This route needs a signed-in user');
  return ctx.actor;
}
