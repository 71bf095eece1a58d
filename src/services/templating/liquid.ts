import type { AppCtx, RequestCtx } from '../../context';
import { ServiceError, invalid } from '../../errors';
import { FilterFailure, RENDER_LIMITS, RenderState, type Limits } from './render-state';

export { RENDER_LIMITS } from './render-state';

/**
 * Liquid templating of request bodies, as upstream potctl users expect: on the routes that declare it,
 * every string holding `{{ … }}` or `{% … %}` is rendered with `{ self: <body> }` (plus, for template
 * deploys, the template's variables) and a few filters that read the fleet (./filters.ts).
 *
 * Where we part from upstream, on purpose:
 * - A template that does not render is a 400 naming the field and the Liquid error; upstream writes
 *   the error text into the field and carries on.
 * - Rendering is bounded per request (./render-state.ts): in work (template steps — the time limit
 *   that does not depend on how busy the machine is), in clock time as a backstop (waiting for the
 *   database inside a filter does not count), in output characters, and in what liquidjs counts
 *   as allocation (ranges, joins, appends…). Operator routes share the event loop with the agents.
 * - No file access: `include`, `render` and `layout` find no templates.
 * Strings without markup never reach the engine and come back untouched.
 */

/** The engine module, loaded on the first body with markup. */
let engine: Promise<typeof import('./engine')> | undefined;
const loadEngine = () => (engine ??= import('./engine'));

export const hasMarkup = (s: string): boolean => s.includes('{{') || s.includes('{%');

function containsMarkup(v: unknown): boolean {
  if (typeof v === 'string') return hasMarkup(v);
  if (Array.isArray(v)) return v.some(containsMarkup);
  if (v !== null && typeof v === 'object') return Object.values(v).some(containsMarkup);
  return false;
}

const defaultPath = (path: (string | number)[]): string =>
  path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');

/** The ServiceError (a filter's 403 or 400) or database failure behind a Liquid error, if any. */
function causeOf(err: unknown): ServiceError | FilterFailure | undefined {
  let e: unknown = err;
  for (let i = 0; i < 10 && e; i++) {
    if (e instanceof ServiceError || e instanceof FilterFailure) return e;
    e = (e as { originalError?: unknown }).originalError;
  }
  return undefined;
}

export interface RenderBodyOptions {
  /** Names a field for messages (YAML routes map body paths to document paths). */
  pathOf?: (path: (string | number)[]) => string;
  /** Variables beside `self` (template deploys: the template's variables). */
  scope?: Record<string, unknown>;
  /** Render only these top-level keys; the others are context (`self`) only. */
  keys?: string[];
  limits?: Limits;
}

/**
 * Renders every string with Liquid markup in `body`, depth first in document order, into a copy
 * that is also `self` — so, as upstream, a field sees the rendered values of the fields before it.
 * Returns `body` itself when nothing has markup.
 */
export async function renderBodyTemplates<T>(
  ctx: AppCtx & Partial<Pick<RequestCtx, 'actor'>>,
  body: T,
  opts: RenderBodyOptions = {},
): Promise<T> {
  const only = opts.keys ? new Set(opts.keys) : undefined;
  const rendered = only && body !== null && typeof body === 'object' ? Object.entries(body).filter(([k]) => only.has(k)) : body;
  if (!containsMarkup(rendered)) return body;
  const { renderOne, isTemplateError } = await loadEngine();
  const root = structuredClone(body) as unknown;
  const state = new RenderState(ctx, opts.limits ?? RENDER_LIMITS);
  const scope = { ...opts.scope, self: root };
  const pathOf = opts.pathOf ?? defaultPath;

  const visit = async (node: unknown, path: (string | number)[]): Promise<void> => {
    if (node === null || typeof node !== 'object') return;
    const entries: Array<[string | number, unknown]> = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, value] of entries) {
      if (only && path.length === 0 && !only.has(String(key))) continue;
      const at = [...path, key];
      if (typeof value === 'string') {
        if (!hasMarkup(value)) continue;
        try {
          (node as Record<string | number, unknown>)[key] = await renderOne(value, scope, state);
        } catch (err) {
          const cause = causeOf(err);
          if (cause instanceof FilterFailure) throw cause.original;
          const field = pathOf(at) || 'body';
          if (cause) throw new ServiceError(cause.code, `${field}: ${cause.message}`);
          const message = isTemplateError(err) ? err.message : String((err as Error)?.message ?? err);
          throw invalid(`${field}: Liquid template error: ${message}`);
        }
      } else {
        await visit(value, at);
      }
    }
  };
  await visit(root, []);
  return root as T;
}
