import type { Context, Liquid } from 'liquidjs';
import { ServiceError, forbidden, invalid } from '../../errors';
import { fogRowByName, fogRowByUuid } from '../shared/fog-row';
import { getFog, listFogs } from '../fogs/fogs';
import { getApplication } from '../microservices/applications';
import { stateOf, type RenderState } from './render-state';

/**
 * The filters upstream registers for body templating, with upstream's names, arguments and results:
 *
 * - `name | findAgent` → the agent as `GET /iofog/{uuid}` shows it; `"" | findAgent` → every agent, as
 *   `GET /iofog-list` lists them (potctl: `{% assign agent = "" | findAgent | first %}`). An unknown name
 *   is an error.
 * - `microservice | findMicroserviceAgent` → the agent (as `GET /iofog/{uuid}`) of a microservice object
 *   (anything with `iofogUuid`, e.g. an entry of `findApplication`'s `microservices`).
 * - `name | findApplication` → the application as `GET /application/{name}` shows it (with its
 *   microservices), without timestamps; nil when there is none.
 * - `toNumber`, `toBoolean` → the value read as JSON (`"3"` → 3, `"true"` → true), else unchanged.
 * - `toString` → the value as text.
 *
 * They only read, and only what the caller could read through the API: each checks the caller's RBAC
 * permission (`fogs:list`, `fogs:get`, `applications:get`) like the matching GET route.
 */

type FilterThis = { context: Context };

async function allow(state: RenderState, filter: string, resource: string, verb: string, resourceName?: string): Promise<void> {
  const { ctx } = state;
  const actor = ctx.actor;
  if (!actor) throw forbidden(`${filter}: only an authenticated operator can use this filter`);
  if (!(await state.waitFor(() => ctx.rbacPolicy.allows(ctx, actor, { resource, verb, resourceName })))) {
    throw forbidden(`${filter}: your roles (${actor.groups.join(', ') || 'none'}) do not grant ${resource}:${verb}`);
  }
}

/** One read per key and request, however many fields ask. */
async function cached<T>(state: RenderState, key: string, read: () => Promise<T>): Promise<T> {
  if (state.cache.has(key)) return state.cache.get(key) as T;
  const value = await state.waitFor(read);
  state.cache.set(key, value);
  return value;
}

async function agentView(state: RenderState, filter: string, row: Awaited<ReturnType<typeof fogRowByUuid>>, what: string) {
  if (!row) throw invalid(`${filter}: no agent ${what}`);
  await allow(state, filter, 'fogs', 'get', row.uuid);
  return cached(state, `fog:${row.uuid}`, () => getFog(state.ctx, row.uuid));
}

async function findAgent(this: FilterThis, name: unknown) {
  const state = stateOf(this.context);
  if (name === '') {
    await allow(state, 'findAgent', 'fogs', 'list');
    return cached(state, 'fogs', () => listFogs(state.ctx, []));
  }
  if (typeof name !== 'string') throw invalid('findAgent: expects an agent name (or "" for every agent)');
  const row = await cached(state, `fog-name:${name}`, () => fogRowByName(state.ctx.db, name));
  return agentView(state, 'findAgent', row, `named ${name}`);
}

async function findMicroserviceAgent(this: FilterThis, microservice: unknown) {
  const state = stateOf(this.context);
  const uuid = microservice !== null && typeof microservice === 'object' ? (microservice as { iofogUuid?: unknown }).iofogUuid : undefined;
  if (typeof uuid !== 'string' || uuid === '') throw invalid('findMicroserviceAgent: expects a microservice with an iofogUuid');
  const row = await cached(state, `fog-uuid:${uuid}`, () => fogRowByUuid(state.ctx.db, uuid));
  return agentView(state, 'findMicroserviceAgent', row, `with uuid ${uuid}`);
}

async function findApplication(this: FilterThis, name: unknown) {
  const state = stateOf(this.context);
  if (typeof name !== 'string') throw invalid('findApplication: expects an application name');
  await allow(state, 'findApplication', 'applications', 'get', name);
  return cached(state, `app:${name}`, async () => {
    try {
      const { createdAt: _c, updatedAt: _u, ...app } = await getApplication(state.ctx, name, false);
      return app;
    } catch (err) {
      if (err instanceof ServiceError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  });
}

/** Upstream's toNumber and toBoolean are one function: JSON.parse, or the value unchanged. */
function fromJson(value: unknown): unknown {
  try {
    return JSON.parse(value as string);
  } catch {
    return value;
  }
}

function toText(value: unknown): unknown {
  try {
    if (typeof value === 'string') return value;
    if ((value as { toString?: unknown }).toString) return String(value);
    return JSON.stringify(value);
  } catch {
    return value;
  }
}

export function registerFilters(engine: Liquid): void {
  engine.registerFilter('findAgent', findAgent);
  engine.registerFilter('findMicroserviceAgent', findMicroserviceAgent);
  engine.registerFilter('findApplication', findApplication);
  engine.registerFilter('toNumber', fromJson);
  engine.registerFilter('toBoolean', fromJson);
  engine.registerFilter('toString', toText);
}
