import { eq, inArray, sql } from 'drizzle-orm';
import { microservice, microserviceStatus } from '../../../db/schema/index';
import type { Db } from '../../../db/client';
import { inListSlots, inListValues, renderOnce, ReusableSelect, ReusableStatement } from '../../../db/statements';
import { isPg } from '../../../db/dialect';
import type { AppCtx } from '../../context';
import { dropMicroserviceAccounts } from '../rbac/objects';

// The microservice part of an agent's status report: which microservices a fog owns, and storing what
// the agent says about each of them.

const MS_STATES = new Set([
  'QUEUED',
  'PULLING',
  'CREATING',
  'CREATED',
  'STARTING',
  'RUNNING',
  'UPDATING',
  'RESTARTING',
  'EXITING',
  'STUCK_IN_RESTART',
  'FAILED',
  'MARKED_FOR_DELETION',
  'DELETING',
  'DELETED',
  'STOPPING',
  'STOPPED',
  'UNKNOWN',
]);
const GONE = new Set(['DELETED', 'UNKNOWN', 'STOPPING', 'DELETING', 'MARKED_FOR_DELETION', 'STOPPED']);

const STATUS_COLUMNS = [
  'status',
  'percentage',
  'containerId',
  'startTime',
  'operatingDuration',
  'cpuUsage',
  'memoryUsage',
  'ipAddress',
  'healthStatus',
  'errorMessage',
  'execSessionIds',
  'updatedAt',
] as const satisfies ReadonlyArray<keyof typeof microserviceStatus.$inferInsert>;
type StatusColumn = (typeof STATUS_COLUMNS)[number];

// Every status report upserts one row per running microservice: the statement is rendered once
// (db/statements.ts) instead of on every row.
const upsertStatusStatement = renderOnce((db: Db) => {
  const values = Object.fromEntries(
    STATUS_COLUMNS.map((c) => [c, sql.placeholder(c)]),
  ) as unknown as typeof microserviceStatus.$inferInsert;
  return ReusableStatement.from(
    db
      .insert(microserviceStatus)
      .values({ ...values, microserviceUuid: sql.placeholder('microserviceUuid') as unknown as string })
      .onConflictDoUpdate({ target: microserviceStatus.microserviceUuid, set: values })
      .toSQL(),
  );
});

/**
 * Stores the microservice statuses of one PUT /agent/status (inside its transaction). Entries for
 * microservices of other fogs or unknown ids are ignored. Microservices marked for deletion are
 * removed once the agent reports them gone (or no longer reports them).
 */
export async function storeMicroserviceStatuses(
  tx: AppCtx,
  fogUuid: string,
  entries: Array<Record<string, unknown>>,
  prefetched?: Array<{ uuid: string; marked: boolean }>,
): Promise<void> {
  const owned =
    prefetched ??
    (await tx.db
      .select({ uuid: microservice.uuid, marked: microservice.markedForDelete })
      .from(microservice)
      .where(eq(microservice.fogUuid, fogUuid)));
  if (owned.length === 0) return;
  const byId = new Map(entries.map((e) => [String(e.id), e]));
  const now = tx.clock.now();
  const str = (v: unknown, d = '') => (v === undefined || v === null ? d : String(v));
  const int = (v: unknown) =>
    typeof v === 'number' && Number.isFinite(v)
      ? Math.round(v)
      : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
        ? Math.round(Number(v))
        : undefined;
  const gone: string[] = [];
  for (const ms of owned) {
    const e = byId.get(ms.uuid);
    if (ms.marked && (!e || GONE.has(str(e.status)))) {
      gone.push(ms.uuid);
      continue;
    }
    if (!e) continue;
    const status = MS_STATES.has(str(e.status)) ? str(e.status) : 'UNKNOWN';
    const values: Record<StatusColumn, unknown> = {
      status,
      percentage: int(e.percentage) ?? 0,
      containerId: str(e.containerId),
      startTime: int(e.startTime) ?? null,
      operatingDuration: int(e.operatingDuration) ?? 0,
      cpuUsage: str(e.cpuUsage, '0'),
      memoryUsage: str(e.memoryUsage, '0'),
      ipAddress: str(e.ipAddress),
      healthStatus: str(e.healthStatus),
      errorMessage: str(e.errorMessage),
      execSessionIds: JSON.stringify(Array.isArray(e.execSessionIds) ? e.execSessionIds.map(String) : []),
      updatedAt: now,
    };
    await upsertStatusStatement(tx.db).run(tx.db, { microserviceUuid: ms.uuid, ...values });
  }
  if (gone.length) {
    const removed = await tx.db
      .delete(microservice)
      .where(inArray(microservice.uuid, gone))
      .returning({ applicationId: microservice.applicationId, name: microservice.name });
    await dropMicroserviceAccounts(tx, removed);
  }
}

/** The microservices of several fogs in one query (status group commit). */
export async function microservicesOfFogs(tx: AppCtx, fogUuids: string[]): Promise<Map<string, Array<{ uuid: string; marked: boolean }>>> {
  const out = new Map<string, Array<{ uuid: string; marked: boolean }>>();
  for (let i = 0; i < fogUuids.length; i += 512) {
    const chunk = fogUuids.slice(i, i + 512);
    const slots = inListSlots(chunk.length);
    const rows = await microservicesOfFogsStatement(tx.db, slots).all(tx.db, inListValues('fog', chunk, slots));
    for (const r of rows) out.set(r.fogUuid!, [...(out.get(r.fogUuid!) ?? []), { uuid: r.uuid, marked: r.marked }]);
  }
  return out;
}

// Run by every status group commit with the batch's fogs: one rendered text per IN-list size
// (padded to a power of two up to the 512-fog chunk, so at most 10) instead of one rendering per batch.
const ownedStatements = new Map<string, ReusableSelect<{ uuid: string; fogUuid: string | null; marked: boolean }>>();
function microservicesOfFogsStatement(db: Db, slots: number) {
  // Rendered per dialect: one process (the test suite) may serve a libSQL and a PostgreSQL database.
  const key = `${isPg(db) ? 'pg' : 'sqlite'}:${slots}`;
  let stmt = ownedStatements.get(key);
  if (!stmt) {
    const fogs = Array.from({ length: slots }, (_, i) => sql.placeholder(`fog${i}`));
    stmt = ReusableSelect.from(
      db
        .select({ uuid: microservice.uuid, fogUuid: microservice.fogUuid, marked: microservice.markedForDelete })
        .from(microservice)
        .where(inArray(microservice.fogUuid, fogs)),
    );
    ownedStatements.set(key, stmt);
  }
  return stmt;
}
