import { ServiceError } from '../errors';

/**
 * Admission control: when the server cannot keep up, agent polls are answered with a fast 503 instead of
 * waiting in a queue that only grows.
 *
 * On Node, Deno and Bun every request is handled on one event loop. When it is saturated, new requests wait
 * in socket buffers before the server even parses them, and nothing in the request can see that wait. What
 * can be seen is how late a timer fires: a timer due every `intervalMs` that fires L ms late means the loop
 * was busy for L ms, which is the wait a newly arrived request has before it is read. The probe smooths that
 * lateness (it rises at once and decays over a few hundred ms), and agent requests are shed with a
 * probability that rises from 0 at half `maxQueueMs` to 1 at `maxQueueMs`. A shed request costs a small
 * fraction of a served one, so shedding frees the loop rather than adding to it. Edgelet retries a
 * retryable 503 (1 s, 2 s, 4 s, then its next cycle) and never counts it towards deprovisioning.
 *
 * Provisioning, operator and health requests are never shed for lateness: with the agent polls shed they
 * get the loop's time. Each class also has a bound on requests in flight (waiting on the database, the
 * signature thread, …) so a slow dependency cannot pile up unbounded work.
 */
export interface AdmissionConfig {
  enabled: boolean;
  /** The loop lateness (≈ queue time of a new request) at which every agent poll is shed. */
  maxQueueMs: number;
  /** Agent requests in flight beyond which new ones are shed at once. */
  maxAgentInflight: number;
  /** Operator and provisioning requests in flight beyond which new ones are shed at once. */
  maxControlInflight: number;
  /** Retry-After sent with a shed request. */
  retryAfterSec: number;
}

export type RequestClass = 'agent' | 'control' | 'exempt';

/** Health probes and the docs are never shed; agent polls are the shed class; everything else is control. */
export function classify(path: string, method: string): RequestClass {
  if (path.startsWith('/api/v3/agent/')) {
    // Provisioning is how a fleet recovers; it keeps its share with the operator requests.
    if (path === '/api/v3/agent/provision' && method === 'POST') return 'control';
    return 'agent';
  }
  if (path === '/api/v3/live' || path === '/api/v3/status' || path === '/api/v3/ready') return 'exempt';
  return 'control';
}

export interface LagProbe {
  /** The smoothed lateness of the loop, ms. */
  lagMs(): number;
  stop(): void;
}

/** Measures how late a repeating timer fires. Works on every runtime with timers; nothing runs on Workers. */
export function startLagProbe(intervalMs = 20, now: () => number = () => performance.now()): LagProbe {
  let last = now();
  let lag = 0;
  const timer = setInterval(() => {
    const t = now();
    const late = Math.max(0, t - last - intervalMs);
    last = t;
    // Rise at once, fall by a third per tick: one stall is seen for ~100 ms after it ended, not longer.
    lag = late >= lag ? late : lag - (lag - late) / 3;
  }, intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return {
    lagMs: () => Math.max(lag, now() - last - intervalMs),
    stop: () => clearInterval(timer),
  };
}

export class Admission {
  private inflight = { agent: 0, control: 0 };
  private probe: LagProbe | undefined;
  /** Counted since start, for the log and the bench. */
  readonly shed = { agentLag: 0, agentInflight: 0, controlInflight: 0 };

  constructor(
    private readonly cfg: AdmissionConfig,
    private readonly random: () => number = Math.random,
  ) {}

  /** Starts measuring the loop (Node, Deno, Bun); without it only the in-flight bounds apply. */
  start(probe: LagProbe = startLagProbe()): void {
    this.probe?.stop();
    this.probe = probe;
  }

  stop(): void {
    this.probe?.stop();
    this.probe = undefined;
  }

  lagMs(): number {
    return this.probe?.lagMs() ?? 0;
  }

  inFlight(cls: 'agent' | 'control'): number {
    return this.inflight[cls];
  }

  /**
   * Admits a request of class `cls` (and counts it in flight: call `leave` when it is answered) or returns
   * the 503 to send instead.
   */
  enter(cls: RequestClass): ServiceError | undefined {
    if (cls === 'exempt' || !this.cfg.enabled) return undefined;
    if (cls === 'agent') {
      if (this.inflight.agent >= this.cfg.maxAgentInflight) {
        this.shed.agentInflight++;
        return this.overloaded();
      }
      const lag = this.lagMs();
      const half = this.cfg.maxQueueMs / 2;
      if (lag > half && this.random() < (lag - half) / half) {
        this.shed.agentLag++;
        return this.overloaded();
      }
    } else if (this.inflight.control >= this.cfg.maxControlInflight) {
      this.shed.controlInflight++;
      return this.overloaded();
    }
    this.inflight[cls]++;
    return undefined;
  }

  leave(cls: RequestClass): void {
    if (cls === 'exempt' || !this.cfg.enabled) return;
    this.inflight[cls]--;
  }

  private overloaded(): ServiceError {
    return new ServiceError('CONTROLLER_OVERLOADED', 'The Controller is overloaded; retry shortly', {
      retryAfterSec: this.cfg.retryAfterSec,
    });
  }
}
