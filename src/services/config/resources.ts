import { and, asc, eq, inArray, like, sql } from 'drizzle-orm';
import { configMap, fog, microservice, application, secret, volumeMount, volumeMountFog } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { conflict, invalid, notFound } from '../../errors';
import { toBase64 } from '../../lib/ids';
import { raiseFlags } from '../changes/flags';
import { auditTarget } from '../events/audit';
import { samePathName } from '../shared/read-only';
import type {
  MapInput,
  MapListT,
  MapUpdate,
  MapViewT,
  MountInput,
  MountSource,
  MountUpdate,
  MountViewT,
  SecretInput,
  SecretListT,
  SecretUpdate,
  SecretViewT,
} from './schemas';

/**
 * Secrets, config maps and volume mounts, and what a fog's agent receives of them.
 *
 * - Secret values are encrypted at rest (AES-GCM, associated data `secret:{name}`); lists never carry
 *   values. `tls` secrets hold base64 values (checked on write) and reach agents as they are; Opaque
 *   secrets and config maps are base64-encoded for the agent.
 * - A volume mount delivers one secret or config map to the fogs it is linked to. Its `version`
 *   grows with every change of the mount or of its source, and the fogs it is (or was) linked to get
 *   the `volumeMounts` change flag in the same transaction.
 * - A secret or config map a volume mount uses cannot be deleted (409 naming the mounts), nor can a
 *   mount a microservice maps (409 naming the microservices): nothing ever points at nothing.
 */

export type SecretType = SecretInput['type'];
export type { MountSource } from './schemas';
type Data = Record<string, string>;
const iso = (ms: number) => new Date(ms).toISOString();
const secretAad = (name: string) => `secret:${name}`;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkTlsData(data: Data): void {
  const bad = Object.entries(data)
    .filter(([, v]) => !BASE64.test(v.replace(/\s+/g, '')))
    .map(([k]) => k);
  if (bad.length) throw invalid(`data: values of a tls secret must be base64; not base64: ${bad.join(', ')}`);
}

// ---- linked fogs and version bumps ----

async function fogsOfMounts(tx: AppCtx, mountUuids: string[]): Promise<string[]> {
  if (mountUuids.length === 0) return [];
  const rows = await tx.db
    .select({ fogUuid: volumeMountFog.fogUuid })
    .from(volumeMountFog)
    .where(inArray(volumeMountFog.volumeMountUuid, mountUuids));
  return [...new Set(rows.map((r) => r.fogUuid))];
}

/** The mounts using a source: version + 1, and their fogs reload them. */
export async function sourceChanged(tx: AppCtx, by: { secretName?: string; configMapName?: string }): Promise<void> {
  const mounts = await tx.db
    .select({ uuid: volumeMount.uuid, version: volumeMount.version })
    .from(volumeMount)
    .where(by.secretName !== undefined ? eq(volumeMount.secretName, by.secretName) : eq(volumeMount.configMapName, by.configMapName!));
  const now = tx.clock.now();
  for (const m of mounts)
    await tx.db
      .update(volumeMount)
      .set({ version: m.version + 1, updatedAt: now })
      .where(eq(volumeMount.uuid, m.uuid));
  await raiseFlags(
    tx,
    await fogsOfMounts(
      tx,
      mounts.map((m) => m.uuid),
    ),
    ['volumeMounts'],
  );
}

export async function mountsUsing(tx: AppCtx, by: { secretName?: string; configMapName?: string }): Promise<string[]> {
  const rows = await tx.db
    .select({ name: volumeMount.name })
    .from(volumeMount)
    .where(by.secretName !== undefined ? eq(volumeMount.secretName, by.secretName) : eq(volumeMount.configMapName, by.configMapName!));
  return rows.map((r) => r.name);
}

// ---- secrets ----

type SecretRow = typeof secret.$inferSelect;

async function decryptData(ctx: AppCtx, row: SecretRow): Promise<Data> {
  return JSON.parse(await ctx.vault.decrypt(row.dataEnc, secretAad(row.name))) as Data;
}

async function secretView(ctx: AppCtx, row: SecretRow): Promise<SecretViewT> {
  return {
    id: row.id,
    name: row.name,
    type: row.type as SecretType,
    data: await decryptData(ctx, row),
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

export async function listSecrets(ctx: AppCtx): Promise<SecretListT> {
  const rows = await ctx.db.select().from(secret).orderBy(asc(secret.name));
  return {
    secrets: rows.map((r) => ({
      id: r.id,
      name: r.name,
      type: r.type as SecretType,
      created_at: iso(r.createdAt),
      updated_at: iso(r.updatedAt),
    })),
  };
}

async function requireSecret(ctx: AppCtx, name: string): Promise<SecretRow> {
  const [row] = await ctx.db.select().from(secret).where(eq(secret.name, name)).limit(1);
  if (!row) throw notFound(`Secret ${name}`);
  return row;
}

export async function getSecret(ctx: AppCtx, name: string): Promise<SecretViewT> {
  return secretView(ctx, await requireSecret(ctx, name));
}

export async function createSecret(ctx: AppCtx, input: SecretInput): Promise<SecretViewT> {
  if (input.type === 'tls') checkTlsData(input.data);
  const dataEnc = await ctx.vault.encrypt(JSON.stringify(input.data), secretAad(input.name));
  await withTransaction(ctx, async (tx) => {
    const [dup] = await tx.db.select({ id: secret.id }).from(secret).where(eq(secret.name, input.name)).limit(1);
    if (dup) throw conflict(`Secret ${input.name} already exists`);
    const now = tx.clock.now();
    await tx.db.insert(secret).values({ name: input.name, type: input.type, dataEnc, createdAt: now, updatedAt: now });
    auditTarget(tx, input.name);
  });
  return getSecret(ctx, input.name);
}

/** Replaces the data. `type` may be omitted (the stored type stays) but not changed; `name` may be sent but not changed. */
export async function updateSecret(ctx: AppCtx, name: string, input: SecretUpdate): Promise<SecretViewT> {
  samePathName('name', input.name, name);
  const current = await requireSecret(ctx, name);
  if (input.type !== undefined && input.type !== current.type)
    throw invalid(`type: a ${current.type} secret cannot become ${input.type}; delete and re-create it`);
  if (current.type === 'tls') checkTlsData(input.data);
  const dataEnc = await ctx.vault.encrypt(JSON.stringify(input.data), secretAad(name));
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db.update(secret).set({ dataEnc, updatedAt: tx.clock.now() }).where(eq(secret.name, name));
    if (r.rowsAffected === 0) throw notFound(`Secret ${name}`);
    await sourceChanged(tx, { secretName: name });
    await consumersChanged(tx, 'secret', name);
  });
  return getSecret(ctx, name);
}

export async function deleteSecret(ctx: AppCtx, name: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const [row] = await tx.db.select({ id: secret.id }).from(secret).where(eq(secret.name, name)).limit(1);
    if (!row) throw notFound(`Secret ${name}`);
    const mounts = await mountsUsing(tx, { secretName: name });
    if (mounts.length) throw conflict(`Secret ${name} is used by volume mounts: ${mounts.join(', ')}`);
    const users = await consumersOf(tx, 'secret', name);
    if (users.length) throw conflict(`Secret ${name} is used by microservices: ${users.map((u) => u.label).join(', ')}`);
    await tx.db.delete(secret).where(eq(secret.id, row.id));
  });
}

// ---- config maps ----

type MapRow = typeof configMap.$inferSelect;
const mapView = (r: MapRow): MapViewT => ({
  id: r.id,
  name: r.name,
  immutable: r.immutable,
  useVault: r.useVault,
  data: JSON.parse(r.data) as Data,
  created_at: iso(r.createdAt),
  updated_at: iso(r.updatedAt),
});

export async function listConfigMaps(ctx: AppCtx): Promise<MapListT> {
  const rows = await ctx.db.select().from(configMap).orderBy(asc(configMap.name));
  return {
    configMaps: rows.map((r) => ({
      id: r.id,
      name: r.name,
      immutable: r.immutable,
      useVault: r.useVault,
      created_at: iso(r.createdAt),
      updated_at: iso(r.updatedAt),
    })),
  };
}

async function requireConfigMap(ctx: AppCtx, name: string): Promise<MapRow> {
  const [row] = await ctx.db.select().from(configMap).where(eq(configMap.name, name)).limit(1);
  if (!row) throw notFound(`ConfigMap ${name}`);
  return row;
}

export async function getConfigMap(ctx: AppCtx, name: string): Promise<MapViewT> {
  return mapView(await requireConfigMap(ctx, name));
}

export async function createConfigMap(ctx: AppCtx, input: MapInput): Promise<MapViewT> {
  await withTransaction(ctx, async (tx) => {
    const [dup] = await tx.db.select({ id: configMap.id }).from(configMap).where(eq(configMap.name, input.name)).limit(1);
    if (dup) throw conflict(`ConfigMap ${input.name} already exists`);
    const now = tx.clock.now();
    await tx.db.insert(configMap).values({
      name: input.name,
      data: JSON.stringify(input.data),
      immutable: input.immutable ?? false,
      useVault: input.useVault ?? false,
      createdAt: now,
      updatedAt: now,
    });
    auditTarget(tx, input.name);
  });
  return getConfigMap(ctx, input.name);
}

export async function updateConfigMap(ctx: AppCtx, name: string, input: MapUpdate): Promise<MapViewT> {
  samePathName('name', input.name, name);
  const current = await requireConfigMap(ctx, name);
  if (current.immutable) throw invalid(`ConfigMap ${name} is immutable; delete and re-create it to change it`);
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db
      .update(configMap)
      .set({
        data: JSON.stringify(input.data),
        ...(input.immutable !== undefined ? { immutable: input.immutable } : {}),
        ...(input.useVault !== undefined ? { useVault: input.useVault } : {}),
        updatedAt: tx.clock.now(),
      })
      .where(and(eq(configMap.name, name), eq(configMap.immutable, false)));
    if (r.rowsAffected === 0) throw invalid(`ConfigMap ${name} is immutable; delete and re-create it to change it`);
    await sourceChanged(tx, { configMapName: name });
    await consumersChanged(tx, 'configMap', name);
  });
  return getConfigMap(ctx, name);
}

export async function deleteConfigMap(ctx: AppCtx, name: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const [row] = await tx.db.select({ id: configMap.id }).from(configMap).where(eq(configMap.name, name)).limit(1);
    if (!row) throw notFound(`ConfigMap ${name}`);
    const mounts = await mountsUsing(tx, { configMapName: name });
    if (mounts.length) throw conflict(`ConfigMap ${name} is used by volume mounts: ${mounts.join(', ')}`);
    const users = await consumersOf(tx, 'configMap', name);
    if (users.length) throw conflict(`ConfigMap ${name} is used by microservices: ${users.map((u) => u.label).join(', ')}`);
    await tx.db.delete(configMap).where(eq(configMap.id, row.id));
  });
}

// ---- microservices that read a secret / config map through env (valueFromSecret / valueFromConfigMap) ----

interface Consumer {
  fogUuid: string | null;
  label: string;
}

async function consumersOf(tx: AppCtx, kind: 'secret' | 'configMap', name: string): Promise<Consumer[]> {
  const field = kind === 'secret' ? 'valueFromSecret' : 'valueFromConfigMap';
  // The env column is JSON text; a LIKE narrows the scan, the parse decides.
  const rows = await tx.db
    .select({ name: microservice.name, fogUuid: microservice.fogUuid, env: microservice.env, app: application.name })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .where(like(microservice.env, `%${field}%`));
  return rows
    .filter(
      (r) =>
        r.env.includes(field) &&
        (JSON.parse(r.env) as Array<Record<string, unknown>>).some(
          (e) => typeof e[field] === 'string' && (e[field] as string).split('/')[0] === name,
        ),
    )
    .map((r) => ({ fogUuid: r.fogUuid, label: `${r.app}/${r.name}` }));
}

async function consumersChanged(tx: AppCtx, kind: 'secret' | 'configMap', name: string): Promise<void> {
  const fogs = [...new Set((await consumersOf(tx, kind, name)).flatMap((c) => (c.fogUuid ? [c.fogUuid] : [])))];
  await raiseFlags(tx, fogs, ['microserviceConfig', 'microserviceList']);
}

/** `name/key` of an env source → its value (for the agent), or a 400 naming the env entry. */
export async function resolveEnvSource(ctx: AppCtx, kind: 'secret' | 'configMap', ref: string, field: string): Promise<string> {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1) throw invalid(`${field}: must be "<${kind}Name>/<key>"`);
  const name = ref.slice(0, slash);
  const key = ref.slice(slash + 1);
  let data: Data;
  if (kind === 'secret') {
    const [row] = await ctx.db.select().from(secret).where(eq(secret.name, name)).limit(1);
    if (!row) throw invalid(`${field}: no secret named ${name}`);
    data = await decryptData(ctx, row);
  } else {
    const [row] = await ctx.db.select().from(configMap).where(eq(configMap.name, name)).limit(1);
    if (!row) throw invalid(`${field}: no config map named ${name}`);
    data = JSON.parse(row.data) as Data;
  }
  if (!Object.hasOwn(data, key)) throw invalid(`${field}: ${kind} ${name} has no key ${key}`);
  return data[key]!;
}

// ---- volume mounts ----

type MountRow = typeof volumeMount.$inferSelect;
const mountView = (m: MountRow): MountViewT => ({
  uuid: m.uuid,
  name: m.name,
  ...(m.secretName !== null ? { secretName: m.secretName } : {}),
  ...(m.configMapName !== null ? { configMapName: m.configMapName } : {}),
  version: m.version,
  created_at: iso(m.createdAt),
  updated_at: iso(m.updatedAt),
});

function oneSource(input: MountSource): MountSource {
  const has = (v: string | undefined) => v !== undefined && v !== '';
  if (has(input.secretName) === has(input.configMapName)) throw invalid('secretName, configMapName: give exactly one of them');
  return has(input.secretName) ? { secretName: input.secretName } : { configMapName: input.configMapName };
}

async function requireSource(ctx: AppCtx, src: MountSource): Promise<void> {
  if (src.secretName !== undefined) await requireSecret(ctx, src.secretName);
  else await requireConfigMap(ctx, src.configMapName!);
}

export async function listMounts(ctx: AppCtx): Promise<MountViewT[]> {
  return (await ctx.db.select().from(volumeMount).orderBy(asc(volumeMount.name))).map(mountView);
}

async function requireMount(ctx: AppCtx, name: string): Promise<MountRow> {
  const [row] = await ctx.db.select().from(volumeMount).where(eq(volumeMount.name, name)).limit(1);
  if (!row) throw notFound(`VolumeMount ${name}`);
  return row;
}

export async function getMount(ctx: AppCtx, name: string): Promise<MountViewT> {
  return mountView(await requireMount(ctx, name));
}

export async function createMount(ctx: AppCtx, input: MountInput): Promise<MountViewT> {
  const src = oneSource(input);
  await withTransaction(ctx, async (tx) => {
    // Checked inside the write transaction: a source deleted concurrently cannot leave a dangling mount.
    await requireSource(tx, src);
    const [dup] = await tx.db.select({ uuid: volumeMount.uuid }).from(volumeMount).where(eq(volumeMount.name, input.name)).limit(1);
    if (dup) throw conflict(`VolumeMount ${input.name} already exists`);
    const now = tx.clock.now();
    await tx.db.insert(volumeMount).values({
      uuid: tx.ids.uuid(),
      name: input.name,
      secretName: src.secretName ?? null,
      configMapName: src.configMapName ?? null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    auditTarget(tx, input.name);
  });
  return getMount(ctx, input.name);
}

/** Microservices mapping the mount (volume mapping `type: volumeMount`, hostDestination `name[/key]`). */
async function mappedBy(tx: AppCtx, mountName: string): Promise<string[]> {
  const rows = await tx.db
    .select({ name: microservice.name, app: application.name, volumes: microservice.volumeMappings })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .where(like(microservice.volumeMappings, '%volumeMount%'));
  return rows
    .filter(
      (r) =>
        r.volumes.includes(mountName) &&
        (JSON.parse(r.volumes) as Array<{ type?: string; hostDestination: string }>).some(
          (v) => v.type === 'volumeMount' && v.hostDestination.split('/')[0] === mountName,
        ),
    )
    .map((r) => `${r.app}/${r.name}`);
}

export async function updateMount(ctx: AppCtx, name: string, input: MountUpdate): Promise<MountViewT> {
  const current = await requireMount(ctx, name);
  const src = oneSource(input);
  const newName = input.name ?? name;
  await withTransaction(ctx, async (tx) => {
    await requireSource(tx, src);
    if (newName !== name) {
      const [dup] = await tx.db.select({ uuid: volumeMount.uuid }).from(volumeMount).where(eq(volumeMount.name, newName)).limit(1);
      if (dup) throw conflict(`VolumeMount ${newName} already exists`);
      const users = await mappedBy(tx, name);
      if (users.length) throw conflict(`VolumeMount ${name} cannot be renamed while microservices map it: ${users.join(', ')}`);
    }
    const r = await tx.db
      .update(volumeMount)
      .set({
        name: newName,
        secretName: src.secretName ?? null,
        configMapName: src.configMapName ?? null,
        version: sql`${volumeMount.version} + 1`,
        updatedAt: tx.clock.now(),
      })
      .where(eq(volumeMount.uuid, current.uuid));
    if (r.rowsAffected === 0) throw notFound(`VolumeMount ${name}`);
    await raiseFlags(tx, await fogsOfMounts(tx, [current.uuid]), ['volumeMounts']);
  });
  return getMount(ctx, newName);
}

export async function deleteMount(ctx: AppCtx, name: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const [row] = await tx.db.select({ uuid: volumeMount.uuid }).from(volumeMount).where(eq(volumeMount.name, name)).limit(1);
    if (!row) throw notFound(`VolumeMount ${name}`);
    const users = await mappedBy(tx, name);
    if (users.length) throw conflict(`VolumeMount ${name} is mapped by microservices: ${users.join(', ')}`);
    const fogs = await fogsOfMounts(tx, [row.uuid]);
    await tx.db.delete(volumeMount).where(eq(volumeMount.uuid, row.uuid));
    await raiseFlags(tx, fogs, ['volumeMounts']);
  });
}

export async function mountLinks(ctx: AppCtx, name: string) {
  const m = await requireMount(ctx, name);
  const rows = await ctx.db
    .select({ fogUuid: volumeMountFog.fogUuid })
    .from(volumeMountFog)
    .where(eq(volumeMountFog.volumeMountUuid, m.uuid))
    .orderBy(asc(volumeMountFog.fogUuid));
  return { fogUuids: rows.map((r) => r.fogUuid) };
}

async function requireFogs(ctx: AppCtx, fogUuids: string[]): Promise<void> {
  const found = new Set((await ctx.db.select({ uuid: fog.uuid }).from(fog).where(inArray(fog.uuid, fogUuids))).map((f) => f.uuid));
  const missing = fogUuids.filter((u) => !found.has(u));
  if (missing.length) throw notFound(`Fog ${missing.join(', ')}`);
}

/** Links (idempotent); only fogs not linked before get the flag. */
export async function linkMount(ctx: AppCtx, name: string, fogUuids: string[]) {
  const m = await requireMount(ctx, name);
  const wanted = [...new Set(fogUuids)];
  await withTransaction(ctx, async (tx) => {
    // Inside the write transaction: a mount or fog deleted concurrently is a 404, not a foreign-key failure.
    if ((await requireMount(tx, name)).uuid !== m.uuid) throw notFound(`VolumeMount ${name}`);
    await requireFogs(tx, wanted);
    const before = new Set(await fogsOfMounts(tx, [m.uuid]));
    const fresh = wanted.filter((u) => !before.has(u));
    if (fresh.length)
      await tx.db
        .insert(volumeMountFog)
        .values(fresh.map((fogUuid) => ({ volumeMountUuid: m.uuid, fogUuid })))
        .onConflictDoNothing();
    await raiseFlags(tx, fresh, ['volumeMounts']);
  });
  return getMount(ctx, name);
}

/** Unlinks (fogs that were not linked are ignored); a fog whose microservices map the mount stays linked. */
export async function unlinkMount(ctx: AppCtx, name: string, fogUuids: string[]) {
  const m = await requireMount(ctx, name);
  const wanted = [...new Set(fogUuids)];
  await requireFogs(ctx, wanted);
  await withTransaction(ctx, async (tx) => {
    const users = await tx.db
      .select({ fogUuid: microservice.fogUuid, volumes: microservice.volumeMappings, name: microservice.name })
      .from(microservice)
      .where(inArray(microservice.fogUuid, wanted));
    const pinned = users.filter((u) =>
      (JSON.parse(u.volumes) as Array<{ type?: string; hostDestination: string }>).some(
        (v) => v.type === 'volumeMount' && v.hostDestination.split('/')[0] === name,
      ),
    );
    if (pinned.length)
      throw conflict(`VolumeMount ${name} is mapped by microservices on these fogs: ${pinned.map((p) => p.name).join(', ')}`);
    const before = new Set(await fogsOfMounts(tx, [m.uuid]));
    const gone = wanted.filter((u) => before.has(u));
    if (gone.length)
      await tx.db.delete(volumeMountFog).where(and(eq(volumeMountFog.volumeMountUuid, m.uuid), inArray(volumeMountFog.fogUuid, gone)));
    await raiseFlags(tx, gone, ['volumeMounts']);
  });
  return getMount(ctx, name);
}

/**
 * For microservice volume mappings of type `volumeMount`: the mount must exist,
 * a key path must name a key (or key prefix) of its source, and the mount is linked to the fog the
 * microservice runs on (inside the caller's transaction).
 */
export async function checkMountMappings(
  ctx: AppCtx,
  mappings: Array<{ hostDestination: string; type?: string }> | undefined,
  field = 'volumeMappings',
): Promise<string[]> {
  const names: string[] = [];
  for (const [i, v] of (mappings ?? []).entries()) {
    if (v.type !== 'volumeMount') continue;
    const [mountName, ...rest] = v.hostDestination.split('/');
    const keyPath = rest.join('/');
    const [m] = await ctx.db.select().from(volumeMount).where(eq(volumeMount.name, mountName!)).limit(1);
    if (!m) throw invalid(`${field}[${i}].hostDestination: no volume mount named ${mountName}`);
    if (keyPath) {
      const keys =
        m.secretName !== null
          ? Object.keys(await decryptData(ctx, await requireSecret(ctx, m.secretName)))
          : Object.keys(JSON.parse((await requireConfigMap(ctx, m.configMapName!)).data) as Data);
      if (!keys.some((k) => k === keyPath || k.startsWith(keyPath)))
        throw invalid(`${field}[${i}].hostDestination: volume mount ${mountName} has no key ${keyPath}`);
    }
    names.push(mountName!);
  }
  return [...new Set(names)];
}

export async function linkMountsToFog(tx: AppCtx, mountNames: string[], fogUuid: string | null | undefined): Promise<void> {
  if (!fogUuid || mountNames.length === 0) return;
  const mounts = await tx.db.select({ uuid: volumeMount.uuid }).from(volumeMount).where(inArray(volumeMount.name, mountNames));
  const before = new Set(
    (await tx.db.select({ uuid: volumeMountFog.volumeMountUuid }).from(volumeMountFog).where(eq(volumeMountFog.fogUuid, fogUuid))).map(
      (r) => r.uuid,
    ),
  );
  const fresh = mounts.filter((m) => !before.has(m.uuid));
  if (fresh.length === 0) return;
  await tx.db
    .insert(volumeMountFog)
    .values(fresh.map((m) => ({ volumeMountUuid: m.uuid, fogUuid })))
    .onConflictDoNothing();
  await raiseFlags(tx, [fogUuid], ['volumeMounts']);
}

// ---- agent delivery: the mounts linked to a fog, with their content ----

const b64 = (s: string) => toBase64(new TextEncoder().encode(s));

export async function agentVolumeMounts(ctx: AppCtx, fogUuid: string) {
  const rows = await ctx.db
    .select({ m: volumeMount })
    .from(volumeMountFog)
    .innerJoin(volumeMount, eq(volumeMount.uuid, volumeMountFog.volumeMountUuid))
    .where(eq(volumeMountFog.fogUuid, fogUuid))
    .orderBy(asc(volumeMount.name));
  const secretNames = rows.flatMap((r) => (r.m.secretName !== null ? [r.m.secretName] : []));
  const mapNames = rows.flatMap((r) => (r.m.configMapName !== null ? [r.m.configMapName] : []));
  const [secrets, maps] = await Promise.all([
    secretNames.length ? ctx.db.select().from(secret).where(inArray(secret.name, secretNames)) : Promise.resolve([]),
    mapNames.length ? ctx.db.select().from(configMap).where(inArray(configMap.name, mapNames)) : Promise.resolve([]),
  ]);
  const secretBy = new Map(secrets.map((s) => [s.name, s]));
  const mapBy = new Map(maps.map((m) => [m.name, m]));
  const out = [];
  for (const { m } of rows) {
    let type: 'secret' | 'configMap';
    let data: Data;
    if (m.secretName !== null) {
      const s = secretBy.get(m.secretName);
      if (!s) continue;
      type = 'secret';
      const plain = await decryptData(ctx, s);
      data = Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, s.type === 'tls' ? v.replace(/\s+/g, '') : b64(v)]));
    } else {
      const c = mapBy.get(m.configMapName!);
      if (!c) continue;
      type = 'configMap';
      data = Object.fromEntries(Object.entries(JSON.parse(c.data) as Data).map(([k, v]) => [k, b64(v)]));
    }
    out.push({ uuid: m.uuid, name: m.name, version: m.version, type, data });
  }
  return { volumeMounts: out };
}
