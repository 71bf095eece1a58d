import { and, count, desc, eq, gte, inArray, lt, lte, or, type SQL } from 'drizzle-orm';
import { auditEvent } from '../../../db/schema/index';
import type { Db } from '../../../db/client';
import { withTransaction, type PendingRecord } from '../../../db/tx';
import type { AppCtx, RequestCtx } from '../../context';
import { invalid } from '../../errors';
import { yieldToEventLoop } from '../../lib/yield';
import type { EventListT, EventPurgedT, EventQueryInput, EventRecordT } from './schemas';

/**
 * The audit log. The rule: every write leaves exactly one event; a failing write
 * leaves none.
 *
 * A mutating request declares what it is about to do (`beginAudit`, done by the route layer for
 * every non-GET operator route and by the agent provision/deprovision handlers). The record is then
 * written by `withTransaction` inside the request's first top-level write transaction, right before
 * it commits — so the event and the change commit or roll back together, and a request that fails
 * before writing leaves nothing. A successful request that wrote nothing through a transaction gets
 * its event after the handler, in a transaction of its own.
 */

export type EventType = 'HTTP' | 'WS_CONNECT' | 'WS_DISCONNECT';
export type EndpointType = 'user' | 'agent' | 'system';

export interface AuditRecord {
  eventType: EventType;
  endpointType: EndpointType;
  actorId?: string | null;
  method?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  endpointPath: string;
  ipAddress?: string | null;
  status: 'SUCCESS' | 'FAILED';
  statusCode?: number | null;
  statusMessage?: string | null;
  requestId?: string | null;
}

export async function insertAuditEvent(db: Db, now: number, rec: AuditRecord): Promise<void> {
  await db.insert(auditEvent).values({
    timestamp: now,
    eventType: rec.eventType,
    endpointType: rec.endpointType,
    actorId: rec.actorId ?? null,
    method: rec.method ?? null,
    resourceType: rec.resourceType ?? null,
    resourceId: rec.resourceId ?? null,
    endpointPath: rec.endpointPath.slice(0, 1024),
    ipAddress: rec.ipAddress ?? null,
    status: rec.status,
    statusCode: rec.statusCode ?? null,
    statusMessage: rec.statusMessage ?? null,
    requestId: rec.requestId ?? null,
    createdAt: now,
    updatedAt: now,
  });
}

/** The event a request will leave once its change commits. Fields may be refined until then. */
export class AuditIntent implements PendingRecord {
  pending = true;
  constructor(
    readonly record: AuditRecord,
    private readonly now: () => number,
  ) {}
  async write(db: Db): Promise<void> {
    await insertAuditEvent(db, this.now(), this.record);
  }
  committed(): void {
    this.pending = false;
  }
}

/** Declares the audit event of the current request (no-op when auditing is disabled). */
export function beginAudit(
  ctx: RequestCtx,
  rec: Omit<AuditRecord, 'eventType' | 'status' | 'requestId' | 'ipAddress'> & { eventType?: EventType },
): void {
  if (!ctx.config.audit.enabled) return;
  ctx.audit = new AuditIntent(
    {
      eventType: 'HTTP',
      status: 'SUCCESS',
      requestId: ctx.requestId,
      ipAddress: ctx.config.audit.captureIp ? (ctx.ip ?? null) : null,
      ...rec,
    },
    () => ctx.clock.now(),
  );
}

/** Lets a service name the object it created (the path of a create route has no id yet). */
export function auditTarget(ctx: AppCtx, resourceId: string | number, actorId?: string): void {
  const audit = (ctx as Partial<RequestCtx>).audit;
  if (!(audit instanceof AuditIntent) || !audit.pending) return;
  audit.record.resourceId = String(resourceId);
  if (actorId !== undefined) audit.record.actorId = actorId;
}

/** After the handler: a successful request whose change did not go through withTransaction. */
export async function settleAudit(ctx: RequestCtx, status: number): Promise<void> {
  const audit = ctx.audit;
  if (!(audit instanceof AuditIntent) || !audit.pending) return;
  if (status < 200 || status >= 300) return;
  audit.record.statusCode = status;
  await withTransaction(ctx, async () => undefined);
}

// ---- query and purge ----

export type EventQuery = EventQueryInput;

type EventRow = typeof auditEvent.$inferSelect;

function present(r: EventRow): EventRecordT {
  return {
    id: r.id,
    timestamp: r.timestamp,
    eventType: r.eventType as EventType,
    endpointType: r.endpointType as EndpointType,
    actorId: r.actorId,
    method: r.method,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    endpointPath: r.endpointPath,
    ipAddress: r.ipAddress,
    status: r.status as 'SUCCESS' | 'FAILED',
    statusCode: r.statusCode,
    statusMessage: r.statusMessage,
    requestId: r.requestId,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

/** Events read per chunk of GET /events (at most 1,000 per request). */
const EVENT_CHUNK = 200;

/** Newest first. `total` counts every row matching the filters. */
export async function listEvents(ctx: AppCtx, q: EventQuery): Promise<EventListT> {
  if (q.startTime !== undefined && q.endTime !== undefined && q.startTime > q.endTime)
    throw invalid('startTime: must not be after endTime');
  const where: SQL[] = [];
  if (q.startTime !== undefined) where.push(gte(auditEvent.timestamp, q.startTime));
  if (q.endTime !== undefined) where.push(lte(auditEvent.timestamp, q.endTime));
  if (q.endpointType) where.push(eq(auditEvent.endpointType, q.endpointType));
  if (q.resourceType) where.push(eq(auditEvent.resourceType, q.resourceType));
  if (q.status) where.push(eq(auditEvent.status, q.status));
  if (q.method?.length)
    where.push(
      inArray(
        auditEvent.method,
        q.method.map((m) => m.toUpperCase()),
      ),
    );
  if (q.actorId) where.push(eq(auditEvent.actorId, q.actorId));
  if (q.eventType) where.push(eq(auditEvent.eventType, q.eventType));
  const cond = where.length ? and(...where) : undefined;
  const [total] = await ctx.db.select({ n: count() }).from(auditEvent).where(cond);
  // Read in chunks with the event loop free between them (a page of 1,000 read and presented at once held
  // it for 50-65 ms); each chunk continues below the last one's (timestamp, id).
  const events: EventRecordT[] = [];
  let after: { timestamp: number; id: number } | undefined;
  let skip = q.offset;
  while (events.length < q.limit) {
    const size = Math.min(EVENT_CHUNK, q.limit - events.length);
    const below = after
      ? or(lt(auditEvent.timestamp, after.timestamp), and(eq(auditEvent.timestamp, after.timestamp), lt(auditEvent.id, after.id)))
      : undefined;
    const rows = await ctx.db
      .select()
      .from(auditEvent)
      .where(and(cond, below))
      .orderBy(desc(auditEvent.timestamp), desc(auditEvent.id))
      .limit(size)
      .offset(skip);
    skip = 0;
    for (const r of rows) events.push(present(r));
    if (rows.length < size) break;
    const last = rows[rows.length - 1]!;
    after = { timestamp: last.timestamp, id: last.id };
    await yieldToEventLoop();
  }
  return { events, total: total?.n ?? 0, limit: q.limit, offset: q.offset };
}

const DAY_MS = 86_400_000;

/**
 * DELETE /events: `days: 0` deletes every event, `N` those older than N days. The request's own
 * audit event is written after the purge, in the same transaction, so the purge is on record.
 */
export async function purgeEvents(ctx: AppCtx, days: number): Promise<EventPurgedT> {
  const now = ctx.clock.now();
  const before = days === 0 ? null : now - days * DAY_MS;
  const deleted = await withTransaction(ctx, async (tx) => {
    const r = await tx.db.delete(auditEvent).where(before === null ? undefined : lt(auditEvent.timestamp, before));
    return r.rowsAffected;
  });
  return {
    deletedCount: deleted,
    deletedBefore: before === null ? null : new Date(before).toISOString(),
    deletedAt: new Date(now).toISOString(),
    deletedAll: days === 0,
  };
}

/** Retention job: events older than the configured days go; the cleanup itself is recorded once. */
export async function cleanupEvents(ctx: AppCtx): Promise<{ deleted: number }> {
  const days = ctx.config.audit.retentionDays;
  if (days === 0) return { deleted: 0 };
  const now = ctx.clock.now();
  const deleted = await withTransaction(ctx, async (tx) => {
    const r = await tx.db.delete(auditEvent).where(lt(auditEvent.timestamp, now - days * DAY_MS));
    if (r.rowsAffected > 0 && ctx.config.audit.enabled) {
      await insertAuditEvent(tx.db, now, {
        eventType: 'HTTP',
        endpointType: 'system',
        actorId: 'SYSTEM_CLEANUP',
        method: 'DELETE',
        resourceType: 'events',
        endpointPath: '/api/v3/events',
        status: 'SUCCESS',
        statusMessage: `retention ${days} d: deleted ${r.rowsAffected} events`,
      });
    }
    return r.rowsAffected;
  });
  return { deleted };
}
