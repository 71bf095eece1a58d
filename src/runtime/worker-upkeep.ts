// What the Node/Deno/Bun server does on timers (src/server.ts), done on Workers at the end of events.
//
// A Worker has no process that lives between requests, and a timer set while serving one request
// runs inside that request: once it has answered, the timer may never fire, and I/O it would start
// belongs to a request that is gone. So nothing here runs on a timer. Instead, after each request or
// cron event (in its waitUntil, with that event's database connection) the isolate does what has come
// due, at the server's own intervals.
import type { AppCtx } from '../context';
import { errorFields } from '../lib/logger';
import { StatusWriter } from '../services/agent/status-writer';

/** As JtiStore's timer on the server: used agent token ids are written, and other instances' read, this often. */
const JTI_EVERY_MS = 250;
/** As AgentActivity's timer on the server: `lastActive` of the agents seen is written this often. */
const ACTIVITY_EVERY_MS = 5000;
/** Longer than waitUntil lets an event's work run after its answer (30 s). */
const STALE_RUN_MS = 60_000;

/**
 * Status reports written by the request that brought them. The server's StatusWriter commits the
 * reports that arrive together in one transaction, on a timer set by the first of them; on Workers
 * that timer belongs to the first request, and a report queued behind it would wait for a timer that
 * no longer fires once that request has answered. One writer per report keeps each report's
 * transaction inside its own request (the UPDATE is rendered per report: ~0.3 ms).
 */
export class PerRequestStatusWriter extends StatusWriter {
  override write(...args: Parameters<StatusWriter['write']>): Promise<void> {
    const [ctx] = args;
    return new StatusWriter(ctx.store.db).write(...args);
  }
}

/**
 * Flushes the in-memory state the server flushes on timers:
 * - agent token ids used here (JtiStore): written for the other instances and isolates, theirs read
 *   in; without this, replay protection would not reach beyond one isolate and the pending ids
 *   would grow for the isolate's whole life;
 * - `lastActive` of the agents that called (AgentActivity).
 * The change index is not started on Workers: every changes poll reads the table (one indexed query),
 * which is right across isolates without a refresh timer.
 */
export class IsolateUpkeep {
  #jtiAt = 0;
  #activityAt = 0;
  #runningSince: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Runs what is due. Never two at once in one isolate: a second event finds it running and skips
   * (it does not wait: a promise of another request is not one to await on Workers). A run whose
   * event was cancelled before its `finally` (waitUntil has a time limit) is taken as over after
   * STALE_RUN_MS.
   */
  async afterEvent(ctx: AppCtx): Promise<void> {
    const now = this.now();
    if (this.#runningSince !== undefined && now - this.#runningSince < STALE_RUN_MS) return;
    this.#runningSince = now;
    try {
      if (now - this.#jtiAt >= JTI_EVERY_MS) {
        this.#jtiAt = now;
        // Flush, then sync, one after the other (as the server's one timer does): a sync while this
        // isolate's own batch is being inserted would take that batch for another instance's.
        await ctx.agentJtis.flush(ctx);
        await ctx.agentJtis
          .sync(ctx)
          .catch((err) => ctx.logger.warn('could not read the agent token ids of other instances', errorFields(err)));
      }
      if (now - this.#activityAt >= ACTIVITY_EVERY_MS) {
        this.#activityAt = now;
        await ctx.agentActivity.flush(ctx);
      }
    } finally {
      this.#runningSince = undefined;
    }
  }
}
