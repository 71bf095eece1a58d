import { and, asc, eq, isNull } from 'drizzle-orm';
import { exportJWK, generateKeyPair } from 'jose';
import {
  fog,
  fogHal,
  fogProvisioningKey,
  fogPublicKey,
  fogTunnel,
  fogVersionCommand,
  microservice,
  registry,
} from '../../../db/schema/index';
import { imageFor } from '../microservices/validation';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { ServiceError, notFound } from '../../errors';
import { sha256Hex, toBase64 } from '../../lib/ids';
import { acknowledgeChanges, raiseFlags, readChanges, type ChangeSet } from '../changes/flags';
import { createProvisioningKey, removeFog, type FogRow } from '../fogs/fogs';
import type { AgentConfigInput, AgentStatusInput, ProvisionInput } from './schemas';
import { fogRowByUuid } from '../shared/fog-row';
import { REGISTRY_PASSWORD_AAD } from '../catalog/registries';
import { auditTarget } from '../events/audit';

async function fogOf(ctx: AppCtx, uuid: string): Promise<FogRow> {
  const row = await fogRowByUuid(ctx.db, uuid);
  // The token was valid a moment ago; the fog was removed meanwhile.
  if (!row) throw new ServiceError('AGENT_FOG_NOT_FOUND', 'Fog not found');
  return row;
}

// ---- provisioning ----

export type { AgentConfigInput, AgentStatusInput, ProvisionInput };

/**
 * POST /agent/provision: consumes the key, issues a fresh Ed25519 key pair (the
 * server keeps only the public half) and raises the flags that make the agent load its desired state.
 * Re-provisioning keeps the uuid and rotates the key.
 */
export async function provisionAgent(ctx: AppCtx, input: ProvisionInput): Promise<{ uuid: string; privateKey: string; namespace: string }> {
  const keyHash = await sha256Hex(input.key);
  const [pk] = await ctx.db.select().from(fogProvisioningKey).where(eq(fogProvisioningKey.keyHash, keyHash)).limit(1);
  if (!pk) throw new ServiceError('NOT_FOUND', 'Invalid Provisioning Key');
  if (pk.expiresAt <= ctx.clock.now()) throw new ServiceError('PROVISIONING_KEY_EXPIRED', 'Expired Provisioning Key');
  // Every microservice already placed on the fog must have an image for the architecture the agent reports.
  if (input.type !== 0) {
    const placed = await ctx.db
      .select({ name: microservice.name, images: microservice.images })
      .from(microservice)
      .where(eq(microservice.fogUuid, pk.fogUuid));
    const missing = placed.find((m) => !imageFor(JSON.parse(m.images) as Array<{ containerImage: string; archId: number }>, input.type));
    if (missing)
      throw new ServiceError(
        'VALIDATION_FAILED',
        `type: microservice ${missing.name} on this fog has no image for architecture ${input.type}`,
      );
  }
  // Key generation happens before the transaction: a transaction holds the write lock and does no slow work
  // (see docs/architecture.md#transactions-are-short).
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const priv = await exportJWK(privateKey);
  const pub = await exportJWK(publicKey);
  // Read committed on PostgreSQL: every statement is correct on its own. The key is consumed by a delete that
  // only one transaction can win (row lock), and the fog is updated only while no delete was requested (a
  // compare-and-set that rolls the whole transaction back otherwise). Serializable added nothing here but
  // failures: its predicate locks made concurrent provisions abort each other, and a boot storm's provisions
  // ran out of retries (503 CONTROLLER_DB_BUSY).
  const fogUuid = await withTransaction(
    ctx,
    async (tx) => {
      const consumed = await tx.db.delete(fogProvisioningKey).where(eq(fogProvisioningKey.keyHash, keyHash));
      if (consumed.rowsAffected !== 1) throw new ServiceError('NOT_FOUND', 'Invalid Provisioning Key');
      const row = await fogRowByUuid(tx.db, pk.fogUuid);
      if (!row || row.deleteRequestedAt !== null) throw new ServiceError('NOT_FOUND', 'Invalid Provisioning Key');
      const now = tx.clock.now();
      const updated = await tx.db
        .update(fog)
        .set({
          archId: input.type,
          ...(input.engine ? { containerEngine: input.engine } : {}),
          daemonStatus: 'UNKNOWN',
          reportedDaemonStatus: null,
          updatedAt: now,
        })
        .where(and(eq(fog.uuid, row.uuid), isNull(fog.deleteRequestedAt)));
      if (updated.rowsAffected !== 1) throw new ServiceError('NOT_FOUND', 'Invalid Provisioning Key');
      const publicJwk = JSON.stringify({ kty: pub.kty, crv: pub.crv, x: pub.x });
      await tx.db
        .insert(fogPublicKey)
        .values({ fogUuid: row.uuid, publicJwk, createdAt: now })
        .onConflictDoUpdate({ target: fogPublicKey.fogUuid, set: { publicJwk, createdAt: now } });
      await tx.db.delete(fogVersionCommand).where(eq(fogVersionCommand.fogUuid, row.uuid));
      await raiseFlags(tx, [row.uuid], ['volumeMounts', 'registries', 'microserviceList', 'microserviceConfig']);
      auditTarget(tx, row.uuid, row.uuid);
      return row.uuid;
    },
    { isolation: 'read committed' },
  );
  ctx.agentKeys.invalidate(fogUuid);
  const privateJwk = JSON.stringify({ kty: priv.kty, crv: priv.crv, d: priv.d, x: priv.x });
  return { uuid: fogUuid, privateKey: toBase64(new TextEncoder().encode(privateJwk)), namespace: ctx.config.namespace };
}

/** POST /agent/deprovision: the fog stays, its key goes; every later token is AGENT_PUBLIC_KEY_NOT_FOUND. */
export async function deprovisionAgent(ctx: AppCtx, fogUuid: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(fogPublicKey).where(eq(fogPublicKey.fogUuid, fogUuid));
    await tx.db
      .update(fog)
      .set({
        daemonStatus: 'DEPROVISIONED',
        reportedDaemonStatus: null,
        ipAddress: '0.0.0.0',
        ipAddressExternal: '0.0.0.0',
        updatedAt: tx.clock.now(),
      })
      .where(eq(fog.uuid, fogUuid));
  });
  ctx.agentKeys.invalidate(fogUuid);
}

/** DELETE /agent/delete-node: the agent confirms a requested deletion; the fog is removed. */
export async function agentDeleteNode(ctx: AppCtx, fogUuid: string): Promise<void> {
  await removeFog(ctx, fogUuid);
}

// ---- configuration ----

/** Edgelet's own status and change-poll periods (seconds), used for a fog whose stored period is 0. */
export const DEFAULT_STATUS_FREQUENCY = 10;
export const DEFAULT_CHANGE_FREQUENCY = 20;

export async function agentConfig(ctx: AppCtx, fogUuid: string) {
  const f = await fogOf(ctx, fogUuid);
  return {
    networkInterface: f.networkInterface,
    containerEngineUrl: f.containerEngineUrl,
    diskLimit: f.diskLimit,
    diskDirectory: f.diskDirectory,
    memoryLimit: f.memoryLimit,
    cpuLimit: f.cpuLimit,
    logLimit: f.logLimit,
    logDirectory: f.logDirectory,
    logFileCount: f.logFileCount,
    gpsMode: f.gpsMode,
    gpsDevice: f.gpsDevice,
    gpsScanFrequency: f.gpsScanFrequency,
    edgeGuardFrequency: f.edgeGuardFrequency,
    // 0 (which operators may set, as upstream) means "the agent's default period": agents are never sent 0.
    statusFrequency: f.statusFrequency || DEFAULT_STATUS_FREQUENCY,
    changeFrequency: f.changeFrequency || DEFAULT_CHANGE_FREQUENCY,
    watchdogEnabled: f.watchdogEnabled,
    latitude: f.latitude ?? 0,
    longitude: f.longitude ?? 0,
    logLevel: f.logLevel,
    availableDiskThreshold: f.availableDiskThreshold,
    pruningFrequency: f.pruningFrequency,
    timeZone: f.timeZone,
  };
}

const CONFIG_KEYS: (keyof AgentConfigInput)[] = [
  'networkInterface',
  'containerEngineUrl',
  'diskLimit',
  'diskDirectory',
  'memoryLimit',
  'cpuLimit',
  'logLimit',
  'logDirectory',
  'logFileCount',
  'statusFrequency',
  'changeFrequency',
  'watchdogEnabled',
  'edgeGuardFrequency',
  'gpsScanFrequency',
  'gpsDevice',
  'gpsMode',
  'latitude',
  'longitude',
  'logLevel',
  'availableDiskThreshold',
  'pruningFrequency',
  'upgradeScanFrequency',
  'timeZone',
];

/** PATCH /agent/config: the agent pushes its local config; stored, no `config` flag (no ping-pong). */
export async function patchAgentConfig(ctx: AppCtx, fogUuid: string, input: AgentConfigInput): Promise<void> {
  const set: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) {
    const v = input[k];
    if (v === undefined) continue;
    if (k === 'statusFrequency' || k === 'changeFrequency') {
      // A zero period would make the fog look dead to the status job; keep the stored value.
      if (typeof v === 'number' && v <= 0) continue;
    }
    set[k] = k === 'logLevel' ? String(v).toUpperCase() : k === 'gpsMode' ? String(v).toLowerCase() : v;
  }
  if (Object.keys(set).length === 0) return;
  await withTransaction(ctx, async (tx) => {
    await tx.db
      .update(fog)
      .set({ ...set, updatedAt: tx.clock.now() })
      .where(eq(fog.uuid, fogUuid));
  });
}

export async function patchAgentGps(ctx: AppCtx, fogUuid: string, input: { latitude: number; longitude: number }): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    await tx.db
      .update(fog)
      .set({ latitude: input.latitude, longitude: input.longitude, updatedAt: tx.clock.now() })
      .where(eq(fog.uuid, fogUuid));
  });
}

// ---- change flags ----

export function agentChanges(ctx: AppCtx, fogUuid: string): Promise<ChangeSet> {
  return readChanges(ctx.db, ctx.changeClock, fogUuid, ctx.changeIndex);
}

export function acknowledgeAgentChanges(ctx: AppCtx, fogUuid: string, lastUpdated: string): Promise<number> {
  return acknowledgeChanges(ctx, fogUuid, lastUpdated);
}

// ---- status ----

const DAEMON_STATUSES = new Set(['STARTING', 'RUNNING', 'STOPPED', 'WARNING', 'UNKNOWN', 'WAITING', 'DEBUGGING', 'ERROR']);
const CLOCK_SKEW_WARN_MS = 5 * 60 * 1000;

/** Parses the JSON-text `microserviceStatus`; invalid JSON is the agent's 400, never a 500 or 401. */
export function parseMicroserviceStatus(text: string | undefined): Array<Record<string, unknown>> {
  if (text === undefined || text === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ServiceError('VALIDATION_FAILED', 'microserviceStatus: must be a JSON array encoded as a string');
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new ServiceError('VALIDATION_FAILED', 'microserviceStatus: must be a JSON array encoded as a string');
  return parsed.filter(
    (e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { id?: unknown }).id === 'string',
  );
}

/**
 * PUT /agent/status. `lastStatusTime` is stored as the receipt time, so UNKNOWN detection does
 * not depend on the agent's clock. Microservice statuses are stored in the same transaction (entries
 * for other fogs' or unknown ids are ignored, as upstream).
 */
export async function updateAgentStatus(ctx: AppCtx, fogUuid: string, input: AgentStatusInput): Promise<void> {
  const entries = parseMicroserviceStatus(input.microserviceStatus);
  const now = ctx.clock.now();
  if (input.systemTime !== undefined && Math.abs(input.systemTime - now) > CLOCK_SKEW_WARN_MS) {
    ctx.logger.warn('agent clock differs from the Controller by more than 5 minutes', { fogUuid, skewMs: input.systemTime - now });
  }
  const reported =
    input.daemonStatus && DAEMON_STATUSES.has(input.daemonStatus) ? input.daemonStatus : input.daemonStatus ? 'UNKNOWN' : undefined;
  const warning = input.warningMessage ?? undefined;
  const set: Partial<typeof fog.$inferInsert> = {
    lastStatusTime: now,
    lastActive: now,
    updatedAt: now,
  };
  const copy = <K extends keyof AgentStatusInput & keyof typeof fog.$inferInsert>(k: K) => {
    if (input[k] !== undefined) (set as Record<string, unknown>)[k] = input[k];
  };
  (
    [
      'daemonOperatingDuration',
      'daemonLastStart',
      'memoryUsage',
      'diskUsage',
      'cpuUsage',
      'memoryViolation',
      'diskViolation',
      'cpuViolation',
      'systemAvailableDisk',
      'systemAvailableMemory',
      'systemTotalCpu',
      'repositoryCount',
      'repositoryStatus',
      'systemTime',
      'ipAddress',
      'ipAddressExternal',
      'lastCommandTime',
      'tunnelStatus',
      'version',
      'isReadyToUpgrade',
      'isReadyToRollback',
      'activeVolumeMounts',
      'volumeMountLastUpdate',
      'gpsStatus',
      'runtimeAgentPhase',
    ] as const
  ).forEach(copy);
  if (input.daemonOperatingDuration !== undefined) set.daemonOperatingDuration = Math.round(input.daemonOperatingDuration);
  if (input.availableRuntimes !== undefined) set.availableRuntimes = JSON.stringify(input.availableRuntimes);
  set.controlPlaneQuiesced = input.controlPlaneQuiesced === true;
  if (warning !== undefined) {
    set.warningMessage = warning;
    set.securityStatus = /HW signature changed|mismatch/i.test(warning) ? 'WARNING' : 'OK';
  }
  if (reported) {
    set.reportedDaemonStatus = reported;
    set.daemonStatus = reported;
  }
  ctx.agentActivity.forget(fogUuid);
  await ctx.statusWriter.write(ctx, fogUuid, set, input.microserviceStatus !== undefined ? entries : undefined);
}

// ---- desired state ----

export async function agentRegistries(ctx: AppCtx) {
  const rows = await ctx.db.select().from(registry).orderBy(asc(registry.id));
  return Promise.all(
    rows.map(async (r) => ({
      id: r.id,
      url: r.url,
      isPublic: r.isPublic,
      username: r.username,
      password: r.passwordEnc ? await ctx.vault.decrypt(r.passwordEnc, REGISTRY_PASSWORD_AAD) : '',
      userEmail: r.userEmail,
    })),
  );
}

export async function agentTunnel(ctx: AppCtx, fogUuid: string) {
  const [t] = await ctx.db.select().from(fogTunnel).where(eq(fogTunnel.fogUuid, fogUuid)).limit(1);
  if (!t) throw notFound('Tunnel');
  return {
    username: t.username,
    password: t.passwordEnc ? await ctx.vault.decrypt(t.passwordEnc, `tunnel:${fogUuid}:password`) : '',
    host: t.host,
    rport: t.remotePort,
    lport: t.localPort,
    rsakey: t.rsaKeyEnc ? await ctx.vault.decrypt(t.rsaKeyEnc, `tunnel:${fogUuid}:rsakey`) : '',
    closed: t.closed,
    iofogUuid: fogUuid,
  };
}

/** GET /agent/version: the pending command with a fresh provisioning key for the post-upgrade re-provision. */
export async function agentVersion(ctx: AppCtx, fogUuid: string) {
  const [cmd] = await ctx.db.select().from(fogVersionCommand).where(eq(fogVersionCommand.fogUuid, fogUuid)).limit(1);
  if (!cmd) throw notFound('Version command');
  const { key, expirationTime } = await createProvisioningKey(ctx, fogUuid);
  return {
    versionCommand: cmd.command as 'upgrade' | 'rollback',
    provisionKey: key,
    expirationTime,
    ...(cmd.semver ? { semver: cmd.semver } : {}),
  };
}

export async function putAgentHal(ctx: AppCtx, fogUuid: string, kind: 'hw' | 'usb', info: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db
      .insert(fogHal)
      .values({ fogUuid, [kind]: info, updatedAt: now })
      .onConflictDoUpdate({ target: fogHal.fogUuid, set: { [kind]: info, updatedAt: now } });
  });
}
