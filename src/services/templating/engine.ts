import { Context, Liquid, LiquidError, toPromise, toValue, type Emitter } from 'liquidjs';
import { registerFilters } from './filters';
import { LimitExceeded, RENDER_LIMITS, STATE, type RenderState } from './render-state';

/**
 * The Liquid engine behind ./liquid.ts. It lives in its own module so that liquidjs is loaded the first
 * time a body actually holds markup, not at every start.
 */

const engine = new Liquid({
  // An empty in-memory template map: include/render/layout never touch the file system.
  templates: {},
  keepOutputType: true,
  ownPropertyOnly: true,
  parseLimit: RENDER_LIMITS.templateChars,
  // A misspelt filter is an error the user sees, not a silently dropped field.
  strictFilters: true,
});
registerFilters(engine);

function stringify(v: unknown): string {
  v = toValue(v);
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(stringify).join('');
  return String(v);
}

/**
 * liquidjs' keep-output-type emitter (a template that is one `{{ value }}` yields the value itself,
 * `"{{ replicas }}"` → 3, as upstream renders), counting the characters it writes.
 */
class BoundedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly state: RenderState) {}
  write(html: unknown): void {
    const v = toValue(html);
    if (typeof v !== 'string' && this.buffer === '') {
      this.buffer = v;
      return;
    }
    const before = typeof this.buffer === 'string' ? this.buffer : stringify(this.buffer);
    const add = stringify(v);
    this.state.chargeOutput(add.length + (typeof this.buffer === 'string' ? 0 : before.length));
    this.buffer = before + add;
  }
}

export async function renderOne(text: string, scope: Record<string, unknown>, state: RenderState): Promise<unknown> {
  if (text.length > state.limits.templateChars)
    throw new LimitExceeded(`template too long (${text.length} characters, at most ${state.limits.templateChars})`);
  const templates = engine.parse(text);
  const liquidCtx = new Context(
    scope,
    engine.options,
    { sync: false },
    {
      liquid: engine,
      memoryLimit: state.memoryLimit as never,
      renderLimit: state.renderLimit as never,
    },
  );
  Object.defineProperty(liquidCtx, STATE, { value: state });
  return toPromise(engine.renderer.renderTemplates(templates, liquidCtx, new BoundedEmitter(state)));
}

/** A template error liquidjs or our own bounds raised (its message is for the user). */
export const isTemplateError = (err: unknown): err is Error => err instanceof LiquidError || err instanceof LimitExceeded;
