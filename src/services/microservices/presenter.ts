import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { application, fog, microservice, microserviceStatus, wsSession } from '../../../db/schema/index';
import { WideRows } from '../../../db/wide-rows';
import { InListSelect } from '../../../db/statements';
import type { AppCtx } from '../../context';
import { agentServiceAccounts } from '../rbac/objects';
import type { MicroserviceResponse } from './schemas';
import { parse, type AppRow, type EnvVar, type Image, type MicroserviceRow, type PortMapping, type VolumeMapping } from './rows';

// What operators see of a microservice: the stored row joined with its status, fog name, exec state and
// service account, in the upstream response shape. A page's details are read with statements rendered
// once per list size (db/statements.ts), its status rows as one JSON text each (db/wide-rows.ts).

const statusRows = new WideRows(microserviceStatus);
const execSessionsOf = InListSelect.from((db, microservices) =>
  db
    .select({ uuid: wsSession.microserviceUuid, sessionId: wsSession.sessionId, status: wsSession.status })
    .from(wsSession)
    .where(and(eq(wsSession.kind, sql.placeholder('kind')), inArray(wsSession.microserviceUuid, microservices)))
    .orderBy(asc(wsSession.createdAt)),
);
const statusesOf = InListSelect.from((db, microservices) =>
  db.select(statusRows.selection(db)).from(microserviceStatus).where(inArray(microserviceStatus.microserviceUuid, microservices)),
);
const fogNamesOf = InListSelect.from((db, fogs) => db.select({ uuid: fog.uuid, name: fog.name }).from(fog).where(inArray(fog.uuid, fogs)));

/**
 * The exec state of each microservice from its open exec sessions: ACTIVE when one has both ends, else
 * PENDING while an operator waits for the agent, INACTIVE without a session.
 */
async function execStatusOf(ctx: AppCtx, uuids: string[]): Promise<Map<string, MicroserviceResponse['execStatus']>> {
  const rows = await execSessionsOf.all(ctx.db, uuids, { kind: 'exec' });
  const out = new Map<string, MicroserviceResponse['execStatus']>();
  for (const r of rows) {
    if (!r.uuid || out.get(r.uuid)?.status === 'ACTIVE') continue;
    out.set(r.uuid, { status: r.status, execSessionId: r.sessionId });
  }
  return out;
}

/**
 * Microservices as operators see them. A row may bring its fog's name (`agentName`, read by the caller's
 * query with a join); otherwise the names are looked up here.
 */
export async function presentMicroservices(
  ctx: AppCtx,
  rows: Array<MicroserviceRow & { app: AppRow; agentName?: string | null }>,
): Promise<MicroserviceResponse[]> {
  if (rows.length === 0) return [];
  const uuids = rows.map((r) => r.uuid);
  const named = rows.every((r) => r.agentName !== undefined);
  const fogUuids = named ? [] : [...new Set(rows.map((r) => r.fogUuid).filter((u): u is string => Boolean(u)))];
  const [statuses, fogs, execs] = await Promise.all([
    statusesOf.all(ctx.db, uuids).then((selected) => statusRows.rows(ctx.db, selected as Array<Record<string, unknown>>)),
    fogNamesOf.all(ctx.db, fogUuids),
    execStatusOf(ctx, uuids),
  ]);
  const statusOf = new Map(statuses.map((s) => [s.microserviceUuid, s]));
  const fogName = new Map(fogs.map((f) => [f.uuid, f.name]));
  const accounts = await agentServiceAccounts(ctx, rows);
  return rows.map((r) => {
    const s = statusOf.get(r.uuid);
    return {
      uuid: r.uuid,
      name: r.name,
      config: r.config,
      // Upstream stores '{}' when none are given; operators never see null.
      annotations: r.annotations ?? '{}',
      application: r.app.name,
      applicationId: r.applicationId,
      isActivated: !r.stopped,
      iofogUuid: r.fogUuid,
      agentName: r.fogUuid ? ((named ? r.agentName : fogName.get(r.fogUuid)) ?? null) : null,
      images: parse<Image[]>(r.images, []),
      registryId: r.registryId,
      catalogItemId: r.catalogItemId,
      hostNetworkMode: r.hostNetworkMode,
      isPrivileged: r.isPrivileged,
      pidMode: r.pidMode,
      ipcMode: r.ipcMode,
      cpuSetCpus: r.cpuSetCpus,
      runAsUser: r.runAsUser,
      platform: r.platform,
      runtime: r.runtime,
      memoryLimit: r.memoryLimit,
      logSize: r.logSize,
      schedule: r.schedule,
      env: parse<EnvVar[]>(r.env, []),
      extraHosts: parse<Array<{ name: string; address: string }>>(r.extraHosts, []),
      cmd: parse<string[]>(r.cmd, []),
      cdiDevices: parse<string[]>(r.cdiDevices, []),
      capAdd: parse<string[]>(r.capAdd, []),
      capDrop: parse<string[]>(r.capDrop, []),
      healthCheck: parse<MicroserviceResponse['healthCheck']>(r.healthCheck, {}),
      // Upstream always names the protocol; mappings stored without one are TCP.
      ports: parse<PortMapping[]>(r.ports, []).map((p) => ({ internal: p.internal, external: p.external, protocol: p.protocol ?? 'tcp' })),
      volumeMappings: parse<VolumeMapping[]>(r.volumeMappings, []).map((v, i) => ({
        id: v.id ?? i + 1,
        hostDestination: v.hostDestination,
        containerDestination: v.containerDestination,
        accessMode: v.accessMode,
        type: v.type === 'volume' || v.type === 'volumeMount' ? v.type : 'bind',
      })),
      natsConfig: { natsAccess: r.natsAccess, ...(r.natsRule ? { natsRule: r.natsRule } : {}) },
      isRouter: r.isRouter,
      isNats: r.isNats,
      isController: r.isController,
      rebuild: r.rebuild,
      serviceAccount: ((a) => (a ? { name: a.name, roleRef: a.roleRef } : null))(accounts.get(`${r.applicationId}/${r.name}`)),
      status: {
        status: r.markedForDelete ? 'MARKED_FOR_DELETION' : r.stopped ? 'STOPPED' : (s?.status ?? 'QUEUED'),
        percentage: s?.percentage ?? 0,
        containerId: s?.containerId ?? '',
        startTime: s?.startTime ?? 0,
        operatingDuration: s?.operatingDuration ?? 0,
        cpuUsage: Number(s?.cpuUsage ?? 0),
        memoryUsage: Number(s?.memoryUsage ?? 0),
        ipAddress: s?.ipAddress ?? '',
        healthStatus: s?.healthStatus ?? '',
        errorMessage: s?.errorMessage ?? '',
        execSessionIds: parse<string[]>(s?.execSessionIds ?? '[]', []),
      },
      execStatus: execs.get(r.uuid) ?? { status: 'INACTIVE', execSessionId: '' },
      createdAt: new Date(r.createdAt).toISOString(),
      updatedAt: new Date(r.updatedAt).toISOString(),
    };
  });
}

export async function listMicroservices(ctx: AppCtx, opts: { system: boolean; applicationName?: string }) {
  const conds = [eq(application.isSystem, opts.system)];
  if (opts.applicationName) conds.push(eq(application.name, opts.applicationName));
  const rows = await ctx.db
    .select({ ms: microservice, app: application })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .where(and(...conds))
    .orderBy(asc(application.name), asc(microservice.name));
  return presentMicroservices(
    ctx,
    rows.map((r) => ({ ...r.ms, app: r.app })),
  );
}
