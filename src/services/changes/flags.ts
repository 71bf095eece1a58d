import { and, eq, gt, lte, sql } from 'drizzle-orm';
import { fogChange } from '../../../db/schema/index';
import { ReusableSelect, ReusableStatement, renderOnce } from '../../../db/statements';
import { withTransaction, type TxHost } from '../../../db/tx';
import type { Db } from '../../../db/client';
import { ServiceError } from '../../errors';
import type { Clock } from '../../lib/clock';
import { every } from '../../lib/periodic';

/** The 14 change flags of the v3.8 agent contract, in wire order (see docs/agent-contract.md). */
export const CHANGE_FLAGS = [
  'config',
  'version',
  'reboot',
  'deleteNode',
  'microserviceList',
  'microserviceConfig',
  'registries',
  'tunnel',
  'prune',
  'routerChanged',
  'volumeMounts',
  'execSessions',
  'microserviceLogs',
  'fogLogs',
] as const;
export type ChangeFlag = (typeof CHANGE_FLAGS)[number];
export type ChangeSet = Record<ChangeFlag, boolean> & { lastUpdated: string };

const BIT = Object.fromEntries(CHANGE_FLAGS.map((f, i) => [f, 1 << i])) as Record<ChangeFlag, number>;

export function toMask(flags: readonly ChangeFlag[]): number {
  return flags.reduce((m, f) => m | BIT[f], 0);
}

export function fromMask(mask: number): Record<ChangeFlag, boolean> {
  const out = {} as Record<ChangeFlag, boolean>;
  for (const f of CHANGE_FLAGS) out[f] = (mask & BIT[f]) !== 0;
  return out;
}

/**
 * Time source for change rows. Rows get strictly increasing timestamps; a poll that finds no rows
 * answers with a time *before* any row still being written, so an acknowledgement can never delete
 * a row the agent has not seen (a write that commits between the poll and the acknowledgement). Per process: instances sharing a database
 * each keep their own (a concurrent write on another instance can at worst be delivered once more).
 */
export class ChangeClock {
  #last = 0;
  #inFlight = new Map<number, number>();
  constructor(private readonly clock: Clock) {}

  now(): number {
    return this.clock.now();
  }

  issue(): number {
    const t = Math.max(this.clock.now(), this.#last + 1);
    this.#last = t;
    this.#inFlight.set(t, (this.#inFlight.get(t) ?? 0) + 1);
    return t;
  }

  settle(t: number): void {
    const n = (this.#inFlight.get(t) ?? 1) - 1;
    if (n <= 0) this.#inFlight.delete(t);
    else this.#inFlight.set(t, n);
  }

  /** "Now" for an empty poll: before every row that is still uncommitted. */
  idleWatermark(): number {
    let min = Math.max(this.clock.now(), this.#last);
    for (const t of this.#inFlight.keys()) min = Math.min(min, t - 1);
    return min;
  }
}

const REFRESH_LOOKBACK = 10;

/**
 * How long a raise made on another instance may take from its timestamp (issued inside its
 * transaction) to its commit. A changes poll that found nothing for a fog answers with a time at least
 * this much before the moment its view of the table was taken, so that the acknowledgement — which may
 * reach another instance, one that already sees the raise — cannot delete a row the agent was never shown.
 */
export const REMOTE_COMMIT_MARGIN_MS = 5000;

/**
 * Which fogs have pending change rows, so the agents' most frequent calls — a changes poll and its
 * acknowledgement with nothing pending — need no database access at all. Filled at start, updated
 * by this process's raises and acknowledgements, and refreshed from the table once a second by row
 * id, so raises made by other instances sharing the database show up within about a second.
 *
 * Each refresh reads again the ids handed out over the last REFRESH_LOOKBACK refreshes: with
 * concurrent writers (PostgreSQL) a row can commit after one with a higher id was already read, and
 * reading only above the highest id seen would miss that fog until its next change. Marking a fog
 * again is harmless (the set only says "maybe pending").
 */
export class ChangeIndex {
  #pending = new Set<string>();
  // The highest row id seen by each recent refresh, oldest first.
  #marks: number[] = [];
  #timer?: { stop(): void };
  #loaded = false;
  // When the newest applied refresh began: raises committed before it are in #pending.
  #horizon = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  get loaded(): boolean {
    return this.#loaded;
  }

  /** When the view this index answers from was taken (raises of other instances committed later are not in it). */
  get horizon(): number {
    return this.#horizon;
  }

  async refresh(db: Db): Promise<void> {
    const startedAt = this.now();
    const floor = this.#marks.length > REFRESH_LOOKBACK ? this.#marks.shift()! : (this.#marks[0] ?? 0);
    let highest = this.#marks.at(-1) ?? 0;
    const rows = await db
      .select({ fogUuid: fogChange.fogUuid, maxId: sql<number>`max(${fogChange.id})` })
      .from(fogChange)
      .where(gt(fogChange.id, this.#loaded ? floor : 0))
      .groupBy(fogChange.fogUuid);
    for (const r of rows) {
      this.#pending.add(r.fogUuid);
      if (Number(r.maxId) > highest) highest = Number(r.maxId);
    }
    this.#marks.push(highest);
    this.#loaded = true;
    this.#horizon = Math.max(this.#horizon, startedAt);
  }

  start(db: Db, logger: { warn(m: string, f?: Record<string, unknown>): void }): void {
    this.#timer = every(1000, () => void this.refresh(db).catch((err) => logger.warn('change index refresh failed', { err: String(err) })));
  }

  stop(): void {
    this.#timer?.stop();
    this.#timer = undefined;
  }

  raised(fogUuids: readonly string[]): void {
    for (const f of fogUuids) this.#pending.add(f);
  }

  cleared(fogUuid: string): void {
    this.#pending.delete(fogUuid);
  }

  /** False only when the fog certainly has nothing pending (and the index is being kept fresh). */
  mayHavePending(fogUuid: string): boolean {
    return !this.#loaded || !this.#timer || this.#pending.has(fogUuid);
  }
}

export interface ChangeHost extends TxHost {
  changeClock: ChangeClock;
  changeIndex?: ChangeIndex;
}

/** Raises `flags` for every fog in `fogUuids`. Must run inside the transaction of the mutation that causes them. */
export async function raiseFlags(ctx: ChangeHost, fogUuids: readonly string[], flags: readonly ChangeFlag[]): Promise<void> {
  if (!ctx.inTx || !ctx.onSettled) throw new Error('raiseFlags must run inside withTransaction');
  if (fogUuids.length === 0 || flags.length === 0) return;
  const mask = toMask(flags);
  const t = ctx.changeClock.issue();
  const unique = [...new Set(fogUuids)];
  ctx.onSettled.push(() => {
    ctx.changeClock.settle(t);
    ctx.changeIndex?.raised(unique);
  });
  for (let i = 0; i < unique.length; i += 500) {
    await ctx.db.insert(fogChange).values(unique.slice(i, i + 500).map((fogUuid) => ({ fogUuid, flags: mask, createdAt: t })));
  }
}

// The last time written as text: polls that find nothing answer with the same time until the index's
// next refresh, thousands of times a second at 10,000 agents.
let isoMs = Number.NaN;
let isoText = '';
const iso = (ms: number) => {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
};

/** The answer to a changes poll: the flags of `mask` in CHANGE_FLAGS order, then `lastUpdated`. */
function changeSet(mask: number, lastUpdatedMs: number): ChangeSet {
  const out = fromMask(mask) as ChangeSet;
  out.lastUpdated = iso(lastUpdatedMs);
  return out;
}

// The statements of the agents' changes poll and its acknowledgement, rendered once (db/statements.ts):
// drizzle would otherwise render each anew on every call, at several times the cost of running it.
const statements = renderOnce((db: Db) => {
  const fog = sql.placeholder('fogUuid');
  const upTo = sql.placeholder('upTo');
  const limit = sql.placeholder('limit');
  return {
    pending: ReusableSelect.from(
      db.select({ flags: fogChange.flags, createdAt: fogChange.createdAt }).from(fogChange).where(eq(fogChange.fogUuid, fog)),
    ),
    anyUpTo: ReusableSelect.from(
      db
        .select({ id: fogChange.id })
        .from(fogChange)
        .where(and(eq(fogChange.fogUuid, fog), lte(fogChange.createdAt, upTo)))
        .limit(limit),
    ),
    deleteUpTo: ReusableStatement.from(
      db
        .delete(fogChange)
        .where(and(eq(fogChange.fogUuid, fog), lte(fogChange.createdAt, upTo)))
        .toSQL(),
    ),
    any: ReusableSelect.from(db.select({ id: fogChange.id }).from(fogChange).where(eq(fogChange.fogUuid, fog)).limit(limit)),
  };
});

/**
 * GET /agent/config/changes: OR of the pending rows, and the time the agent acknowledges with.
 *
 * The acknowledgement deletes every row up to that time, so the time must not cover a row the agent was
 * not shown: rows of this process still being written (the clock's idle watermark), and, when nothing
 * was found, rows another instance was committing while this answer's view was taken (the view's time
 * less REMOTE_COMMIT_MARGIN_MS). Without the latter, an idle answer from an instance whose index had
 * not yet seen another instance's raise, acknowledged through an instance that had, lost the change.
 */
export async function readChanges(db: Db, changeClock: ChangeClock, fogUuid: string, index?: ChangeIndex): Promise<ChangeSet> {
  if (index && !index.mayHavePending(fogUuid))
    return changeSet(0, Math.min(changeClock.idleWatermark(), index.horizon - REMOTE_COMMIT_MARGIN_MS));
  const viewAt = changeClock.now();
  const rows = await statements(db).pending.all(db, { fogUuid });
  let mask = 0;
  let newest = -1;
  for (const r of rows) {
    mask |= r.flags;
    if (r.createdAt > newest) newest = r.createdAt;
  }
  const watermark = changeClock.idleWatermark();
  const upTo = newest >= 0 ? Math.min(newest, watermark) : Math.min(watermark, viewAt - REMOTE_COMMIT_MARGIN_MS);
  return changeSet(mask, upTo);
}

/** PATCH /agent/config/changes: delete the rows up to the acknowledged time. Returns how many were cleared. */
export async function acknowledgeChanges(
  ctx: TxHost & { changeIndex?: ChangeIndex },
  fogUuid: string,
  lastUpdated: string,
): Promise<number> {
  const t = Date.parse(lastUpdated);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(lastUpdated) || Number.isNaN(t)) {
    throw new ServiceError('VALIDATION_FAILED', 'lastUpdated: must be the ISO-8601 timestamp returned by GET /agent/config/changes');
  }
  if (ctx.changeIndex && !ctx.changeIndex.mayHavePending(fogUuid)) return 0;
  // Nothing pending is the common case: answer from a read and skip the write transaction.
  const stmts = statements(ctx.store.db);
  const pending = await stmts.anyUpTo.all(ctx.store.db, { fogUuid, upTo: t, limit: 1 });
  if (pending.length === 0) return 0;
  return withTransaction(ctx, async (tx) => {
    const res = await stmts.deleteUpTo.run(tx.db, { fogUuid, upTo: t });
    const left = await stmts.any.all(tx.db, { fogUuid, limit: 1 });
    if (left.length === 0) tx.onSettled?.push(() => ctx.changeIndex?.cleared(fogUuid));
    return res.rowsAffected;
  });
}
