import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { application, fog, microservice, natsAccount, natsUser } from '../../../db/schema/index';
import { renderOnce, ReusableSelect } from '../../../db/statements';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { notFound, ServiceError } from '../../errors';
import { resolveEnvSource } from '../config/resources';
import { fogRowByUuid } from '../shared/fog-row';
import { slug } from '../nats/rules';
import { agentServiceAccounts } from '../rbac/objects';
import { parse, type EnvVar, type FogRow, type Image, type PortMapping, type VolumeMapping } from './rows';
import { imageFor } from './validation';

// What an agent receives for its fog's microservices: the desired set with the image for its architecture,
// env sources resolved and NATS creds mounted.

// The agent's microservice pull selects every column of two tables: rendered once (db/statements.ts).
const agentPullStatements = renderOnce((db) => {
  const base = () =>
    db
      .select({ ms: microservice, app: application })
      .from(microservice)
      .innerJoin(application, eq(application.id, microservice.applicationId));
  const order = [asc(microservice.schedule), asc(microservice.name)] as const;
  return {
    all: ReusableSelect.from(
      base()
        .where(eq(microservice.fogUuid, sql.placeholder('fogUuid')))
        .orderBy(...order),
    ),
    one: ReusableSelect.from(
      base()
        .where(and(eq(microservice.fogUuid, sql.placeholder('fogUuid')), eq(microservice.uuid, sql.placeholder('uuid'))))
        .orderBy(...order),
    ),
  };
});

/**
 * GET /agent/microservices: the fog's complete desired set — microservices of
 * activated applications (system ones always), with the image for the fog's architecture. `rebuild`
 * is delivered once: it is reset after the list is built.
 */
export async function agentMicroservices(ctx: AppCtx, fogUuid: string, opts: { only?: string } = {}) {
  const f = await fogRowByUuid(ctx.db, fogUuid);
  if (!f) throw new ServiceError('AGENT_FOG_NOT_FOUND', 'Fog not found');
  const rows = opts.only
    ? await agentPullStatements(ctx.db).one.all(ctx.db, { fogUuid, uuid: opts.only })
    : await agentPullStatements(ctx.db).all.all(ctx.db, { fogUuid });
  const out = [];
  const rebuilt: string[] = [];
  const accounts = await agentServiceAccounts(
    ctx,
    rows.map((r) => r.ms),
  );
  const resolveEnv = envResolver(ctx, fogUuid);
  const nats = await natsDelivery(
    ctx,
    f,
    rows.filter((r) => r.ms.natsAccess).map((r) => r.ms.uuid),
  );
  for (const { ms, app } of rows) {
    if (!app.isSystem && (!app.isActivated || ms.stopped) && !ms.markedForDelete) continue;
    const image = imageFor(parse<Image[]>(ms.images, []), f.archId);
    if (!image) continue;
    if (ms.rebuild) rebuilt.push(ms.uuid);
    out.push({
      uuid: ms.uuid,
      name: ms.name,
      application: app.name,
      imageId: image,
      config: ms.config,
      annotations: ms.annotations,
      rebuild: ms.rebuild,
      hostNetworkMode: ms.hostNetworkMode,
      isPrivileged: ms.isPrivileged,
      cpuSetCpus: ms.cpuSetCpus,
      memoryLimit: ms.memoryLimit,
      healthCheck: parse<Record<string, unknown>>(ms.healthCheck, {}),
      pidMode: ms.pidMode,
      ipcMode: ms.ipcMode,
      runAsUser: ms.runAsUser,
      platform: ms.platform,
      runtime: ms.runtime,
      logSize: ms.logSize,
      registryId: ms.registryId,
      portMappings: parse<PortMapping[]>(ms.ports, []).map((p) => ({
        internal: p.internal,
        external: p.external,
        protocol: p.protocol ?? 'tcp',
      })),
      volumeMappings: [
        ...parse<VolumeMapping[]>(ms.volumeMappings, []).map((v) => ({
          hostDestination: v.hostDestination,
          containerDestination: v.containerDestination,
          accessMode: v.accessMode,
          type: v.type ?? 'bind',
        })),
        ...(nats.get(ms.uuid)?.mapping ?? []),
      ],
      delete: ms.markedForDelete,
      deleteWithCleanup: ms.deleteWithCleanup,
      env: [...(await resolveEnv(parse<EnvVar[]>(ms.env, []))), ...(nats.get(ms.uuid)?.env(ms.hostNetworkMode) ?? [])],
      extraHosts: parse<Array<{ name: string; address: string }>>(ms.extraHosts, []).map((h) => `${h.name}:${h.address}`),
      cmd: parse<string[]>(ms.cmd, []),
      cdiDevices: parse<string[]>(ms.cdiDevices, []),
      capAdd: parse<string[]>(ms.capAdd, []),
      capDrop: parse<string[]>(ms.capDrop, []),
      isRouter: ms.isRouter,
      isNats: ms.isNats,
      isController: ms.isController,
      schedule: ms.schedule,
      serviceAccount: accounts.get(`${ms.applicationId}/${ms.name}`) ?? null,
      isSystem: app.isSystem,
    });
  }
  // Only the full list is the agent's pull of its desired state; a single lookup leaves `rebuild` alone.
  if (rebuilt.length && !opts.only) {
    await withTransaction(ctx, async (tx) => {
      await tx.db.update(microservice).set({ rebuild: false }).where(inArray(microservice.uuid, rebuilt));
    });
  }
  return out;
}

/**
 * Env entries as the agent takes them: `{key, value}`, with `valueFromSecret` / `valueFromConfigMap`
 * resolved (each source read once per call). A reference that no longer resolves — deleting a used
 * source is refused, so only through a race — is sent as an empty value and logged.
 */
function envResolver(ctx: AppCtx, fogUuid: string) {
  const cache = new Map<string, Promise<string>>();
  const lookup = (kind: 'secret' | 'configMap', ref: string) => {
    const k = `${kind}:${ref}`;
    let p = cache.get(k);
    if (!p) cache.set(k, (p = resolveEnvSource(ctx, kind, ref, 'env')));
    return p;
  };
  return async (env: EnvVar[]) => {
    const out: Array<{ key: string; value: string }> = [];
    for (const e of env) {
      let value = e.value ?? '';
      const ref = e.valueFromSecret ?? e.valueFromConfigMap;
      if (ref !== undefined) {
        try {
          value = await lookup(e.valueFromSecret !== undefined ? 'secret' : 'configMap', ref);
        } catch (err) {
          ctx.logger.warn('env source of a microservice no longer resolves; sending an empty value', {
            fogUuid,
            key: e.key,
            ref,
            err: String(err),
          });
          value = '';
        }
      }
      out.push({ key: e.key, value });
    }
    return out;
  };
}

/** One microservice of this fog, as in the agent's list. */
export async function agentMicroservice(ctx: AppCtx, fogUuid: string, uuid: string) {
  const [found] = await agentMicroservices(ctx, fogUuid, { only: uuid });
  if (!found) throw notFound('Microservice');
  return found;
}

/**
 * What a NATS-enabled workload gets from the agent, once its user and creds exist:
 * the creds mount at /etc/nats/creds and `NATS_CREDS_PATH` / `NATS_SERVER_URL` — the fog's own NATS
 * (`nats.default.svc.bridge.local` on the bridge network, `localhost` with host networking), else the hub.
 */
async function natsDelivery(ctx: AppCtx, f: FogRow, msUuids: string[]) {
  const out = new Map<
    string,
    {
      mapping: Array<{ hostDestination: string; containerDestination: string; accessMode: string; type: string }>;
      env: (hostNetwork: boolean) => Array<{ key: string; value: string }>;
    }
  >();
  if (msUuids.length === 0) return out;
  const users = await ctx.db
    .select({ ms: natsUser.microserviceUuid, name: natsUser.name, creds: natsUser.credsSecretName, account: natsAccount.name })
    .from(natsUser)
    .innerJoin(natsAccount, eq(natsAccount.id, natsUser.accountId))
    .where(inArray(natsUser.microserviceUuid, msUuids));
  const [hub] =
    f.natsMode === 'none'
      ? await ctx.db
          .select()
          .from(fog)
          .where(and(eq(fog.isSystem, true), eq(fog.natsMode, 'server')))
          .orderBy(asc(fog.createdAt))
          .limit(1)
      : [];
  for (const u of users) {
    if (!u.ms || !u.creds) continue;
    const credsPath = `/etc/nats/creds/${slug(u.account, 64)}/${slug(u.name, 64)}.creds`;
    out.set(u.ms, {
      mapping: [{ hostDestination: u.creds, containerDestination: '/etc/nats/creds', accessMode: 'ro', type: 'volumeMount' }],
      env: (hostNetwork) => [
        { key: 'NATS_CREDS_PATH', value: credsPath },
        {
          key: 'NATS_SERVER_URL',
          value:
            f.natsMode !== 'none'
              ? `nats://${hostNetwork ? 'localhost' : 'nats.default.svc.bridge.local'}:${f.natsServerPort}`
              : hub
                ? `nats://${hub.host}:${hub.natsServerPort}`
                : '',
        },
      ],
    });
  }
  return out;
}
