import type { Context } from 'liquidjs';
import type { AppCtx, RequestCtx } from '../../context';
import { ServiceError } from '../../errors';

/** Limits and per-request state of body templating (see ./liquid.ts). */

export const RENDER_LIMITS = {
  /**
   * Template steps (a node rendered, a loop turn) one request may take. This is the time limit that
   * bites: it counts work, so a busy machine does not fail good templates, and it holds on Workers,
   * whose clock stands still while code runs. 10 000 steps take 10-60 ms (liquidjs renders through
   * generators); a potctl template is a few dozen.
   */
  steps: 10_000,
  /** Clock time one request may spend rendering, in ms (filters' database waits excluded): the backstop for work steps do not count. */
  busyMs: 1000,
  /** Characters all rendered strings of one request may add up to. */
  outputChars: 1024 * 1024,
  /** liquidjs allocation units (array and string sizes it creates) for one request. */
  memory: 10_000_000,
  /** Longest single template, in characters. */
  templateChars: 256 * 1024,
};

export type Limits = typeof RENDER_LIMITS;

/** A render that went over one of the limits (a 400, like any template error). */
export class LimitExceeded extends Error {}

/** A filter whose database read failed: not the user's fault, so not a 400. */
export class FilterFailure extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
  }
}

const now = () => globalThis.performance.now();

/**
 * Per-request render state: the limits (shared by every string of the body) and what the filters
 * need — the request ctx and a cache, so a body that looks up one agent twenty times reads it once.
 * On Workers the clock only moves on I/O: there the step limit is the time limit, with the
 * platform's CPU limit behind it.
 */
export class RenderState {
  private readonly started = now();
  private waited = 0;
  private used = 0;
  private steps = 0;
  private output = 0;
  readonly cache = new Map<string, unknown>();
  // liquidjs calls these two through its Context: `check()` before every node, `use(n)` on allocation.
  readonly renderLimit = { check: () => this.checkTime(), use: () => {} };
  readonly memoryLimit = { check: () => {}, use: (n: number) => this.useMemory(n) };

  constructor(
    readonly ctx: AppCtx & Partial<Pick<RequestCtx, 'actor'>>,
    readonly limits: Limits,
  ) {}

  checkTime(): void {
    if (++this.steps > this.limits.steps)
      throw new LimitExceeded(`render step limit exceeded (${this.limits.steps} template steps per request)`);
    if (now() - this.started - this.waited > this.limits.busyMs)
      throw new LimitExceeded(`render time limit exceeded (${this.limits.busyMs} ms per request)`);
  }

  useMemory(n: number): void {
    if (+n > 0) this.used += +n;
    if (this.used > this.limits.memory) throw new LimitExceeded(`memory limit exceeded (${this.limits.memory} units per request)`);
  }

  chargeOutput(chars: number): void {
    this.output += chars;
    if (this.output > this.limits.outputChars)
      throw new LimitExceeded(`output size limit exceeded (${this.limits.outputChars} characters per request)`);
  }

  /** Runs a filter's read; its wait is not render time. */
  async waitFor<T>(read: () => Promise<T>): Promise<T> {
    const t0 = now();
    try {
      return await read();
    } catch (err) {
      if (err instanceof ServiceError) throw err;
      throw new FilterFailure(err);
    } finally {
      this.waited += now() - t0;
    }
  }
}

export const STATE = Symbol('render-state');

/** The RenderState of the render a filter runs in. */
export function stateOf(liquidCtx: Context): RenderState {
  return (liquidCtx as unknown as { [STATE]: RenderState })[STATE];
}
