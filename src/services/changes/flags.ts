import { and, eq, lte } from 'drizzle-orm';
import { fogChange } from '../../../db/schema/index';
import { withTransaction, type TxHost } from '../../../db/tx';
import type { Db } from '../../../db/client';
import { ServiceError } from '../../errors';
import type { Clock } from '../../lib/clock';

/** The 14 change flags of the v3.8 agent contract (agent-api §3.1), in wire order. */
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
  return Object.fromEntries(CHANGE_FLAGS.map((f) => [f, (mask & BIT[f]) !== 0])) as Record<ChangeFlag, boolean>;
}

/**
 * Time source for change rows. Rows get strictly increasing timestamps; a poll that finds no rows
 * answers with a time *before* any row still being written, so an acknowledgement can never delete
 * a row the agent has not seen (agent-api §2.8 edge case). Per process: instances sharing a database
 * each keep their own (a concurrent write on another instance can at worst be delivered once more).
 */
export class ChangeClock {
  #last = 0;
  #inFlight = new Map<number, number>();
  constructor(private readonly clock: Clock) {}

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

export interface ChangeHost extends TxHost {
  changeClock: ChangeClock;
}

/** Raises `flags` for every fog in `fogUuids`. Must run inside the transaction of the mutation that causes them. */
export async function raiseFlags(ctx: ChangeHost, fogUuids: readonly string[], flags: readonly ChangeFlag[]): Promise<void> {
  if (!ctx.inTx || !ctx.onSettled) throw new Error('raiseFlags must run inside withTransaction');
  if (fogUuids.length === 0 || flags.length === 0) return;
  const mask = toMask(flags);
  const t = ctx.changeClock.issue();
  ctx.onSettled.push(() => ctx.changeClock.settle(t));
  const unique = [...new Set(fogUuids)];
  for (let i = 0; i < unique.length; i += 500) {
    await ctx.db.insert(fogChange).values(unique.slice(i, i + 500).map((fogUuid) => ({ fogUuid, flags: mask, createdAt: t })));
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** GET /agent/config/changes: OR of the pending rows, and the newest row time (or the idle watermark). */
export async function readChanges(db: Db, changeClock: ChangeClock, fogUuid: string): Promise<ChangeSet> {
  const rows = await db.select({ flags: fogChange.flags, createdAt: fogChange.createdAt }).from(fogChange).where(eq(fogChange.fogUuid, fogUuid));
  let mask = 0;
  let newest = -1;
  for (const r of rows) {
    mask |= r.flags;
    if (r.createdAt > newest) newest = r.createdAt;
  }
  return { ...fromMask(mask), lastUpdated: iso(newest >= 0 ? newest : changeClock.idleWatermark()) };
}

/** PATCH /agent/config/changes: delete the rows up to the acknowledged time. Returns how many were cleared. */
export async function acknowledgeChanges(ctx: TxHost, fogUuid: string, lastUpdated: string): Promise<number> {
  const t = Date.parse(lastUpdated);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(lastUpdated) || Number.isNaN(t)) {
    throw new ServiceError('VALIDATION_FAILED', 'lastUpdated: must be the ISO-8601 timestamp returned by GET /agent/config/changes');
  }
  // Nothing pending is the common case: answer from a read and skip the write transaction.
  const pending = await ctx.store.db
    .select({ id: fogChange.id })
    .from(fogChange)
    .where(and(eq(fogChange.fogUuid, fogUuid), lte(fogChange.createdAt, t)))
    .limit(1);
  if (pending.length === 0) return 0;
  return withTransaction(ctx, async (tx) => {
    const res = await tx.db.delete(fogChange).where(and(eq(fogChange.fogUuid, fogUuid), lte(fogChange.createdAt, t)));
    return res.rowsAffected;
  });
}
