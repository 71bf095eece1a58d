import { and, asc, eq, inArray, isNotNull, isNull, or } from 'drizzle-orm';
import {
  application,
  catalogItem,
  configMap,
  fog,
  microservice,
  natsAccount,
  natsUser,
  secret,
  volumeMount,
} from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { ServiceError } from '../../errors';
import { raiseFlags } from '../changes/flags';
import { createConfigMap, createSecret, updateConfigMap } from '../config/resources';
import { ensureMicroserviceAccount } from '../rbac/objects';
import { removeOrMark } from '../microservices/crud';
import { ensureSystemApplication } from '../microservices/system';
import { SYSTEM_ACCOUNT, ensureAccount, ensureOperator, issueUser, revokeUser, userCreds } from '../nats/auth';
import { slug } from '../nats/rules';
import { ensureIssuedCertificate, ensureLinkedMount, tolerateConflict } from './material';
import { enqueueFogReconcile } from '../changes/reconcile-queue';
import { deleteCertificate, ensureCa } from '../pki/certificates';
import { fogRowByUuid } from '../shared/fog-row';

/**
 * The NATS instance of a fog: natsMode `server` (the first system fog's server is the
 * hub) or `leaf` (remotes to the hub and the system fogs' servers). The reconcile issues the NATS
 * certificates, the JetStream key, the system users, renders the server configuration and the resolver's
 * JWT bundle into config maps, and keeps the `nats` system microservice that mounts them.
 */

type FogRow = typeof fog.$inferSelect;

const CERTS_DIR = '/etc/nats/certs';
const CREDS_DIR = '/etc/nats/creds';
const CONF_DIR = '/etc/nats/config';
const JWT_MOUNT = '/tmp/nats/jwt';
const JWT_DIR = '/home/runner/nats/jwt';
const DATA_DIR = '/home/runner/data';
export const SERVER_BUNDLE = 'iofog-nats-jwt-bundle';

export const natsNames = (f: Pick<FogRow, 'name'>) => {
  const s = slug(f.name);
  return {
    slug: s,
    serverCert: `nats-server-${s}`,
    mqttCert: `nats-mqtt-server-${s}`,
    jsKey: `nats-jetstream-key-${s}`,
    conf: `nats-server-conf-${s}`,
    leafBundle: `nats-jwt-bundle-${s}`,
    leafCreds: `nats-leaf-creds-${s}`,
    leafAccount: `SYS-leaf-${s}`,
  };
};

/** The NATS hub: the first system fog in server mode (see docs/architecture.md#the-fog-platform). */
export async function hubFog(ctx: AppCtx): Promise<FogRow | undefined> {
  const [f] = await ctx.db
    .select()
    .from(fog)
    .where(and(eq(fog.isSystem, true), eq(fog.natsMode, 'server'), isNull(fog.deleteRequestedAt)))
    .orderBy(asc(fog.createdAt))
    .limit(1);
  return f;
}

/** Server-mode instances with a host: they are the routes of the NATS cluster. */
async function servers(ctx: AppCtx): Promise<FogRow[]> {
  return ctx.db
    .select()
    .from(fog)
    .where(and(eq(fog.natsMode, 'server'), isNull(fog.deleteRequestedAt), isNotNull(fog.host)))
    .orderBy(asc(fog.createdAt));
}

/** Upstream servers of a leaf: `upstreamNatsServers`, or the hub plus every system fog's server. */
async function leafUpstreams(ctx: AppCtx, f: FogRow): Promise<FogRow[]> {
  const hub = await hubFog(ctx);
  const systemServers = (await servers(ctx)).filter((s) => s.isSystem);
  const refs = f.upstreamNatsServers
    ? (JSON.parse(f.upstreamNatsServers) as string[])
    : [...(hub ? ['default-nats-hub'] : []), ...systemServers.filter((s) => s.uuid !== hub?.uuid).map((s) => s.uuid)];
  const out: FogRow[] = [];
  for (const ref of refs) {
    const target =
      ref === 'default-nats-hub'
        ? hub
        : ((await fogRowByUuid(ctx.db, ref)) ?? (await ctx.db.select().from(fog).where(eq(fog.name, ref)).limit(1))[0]);
    if (!target || target.deleteRequestedAt !== null) throw new Error(`upstream NATS server ${ref} not found`);
    if (target.natsMode !== 'server') throw new Error(`upstream NATS server ${ref} is not in server mode`);
    if (!target.host) throw new Error(`upstream NATS server ${ref} has no host`);
    if (target.uuid !== f.uuid) out.push(target);
  }
  return out;
}

const tls = (cert: string, extra = '') =>
  `tls {\n    ca_file: "${CERTS_DIR}/${cert}/ca.crt"\n    cert_file: "${CERTS_DIR}/${cert}/tls.crt"\n    key_file: "${CERTS_DIR}/${cert}/tls.key"\n    verify: true\n    handshake_first: true\n    timeout: "3s"${extra}\n  }`;

/**
 * The server or leaf configuration. The JetStream key is not written into the config
 * map: the server reads it from `$JETSTREAM_KEY`, which the microservice takes from the key's secret.
 */
export function renderNatsConfig(
  ctx: AppCtx,
  f: FogRow,
  o: {
    operatorJwt: string;
    systemAccount: string;
    routes: string[];
    remotes: Array<{ url: string; account: string; credentials: string }>;
  },
): string {
  const n = natsNames(f);
  const server = f.natsMode === 'server';
  const lines = [
    `port: ${f.natsServerPort}`,
    `server_name: "${f.name}"`,
    `pid_file: "/home/runner/run/nats.pid"`,
    `http_port: ${f.natsHttpPort}`,
    `operator: "${o.operatorJwt}"`,
    `system_account: ${o.systemAccount}`,
    `jetstream {\n  store_dir: "${DATA_DIR}"\n  domain: "${server ? ctx.config.namespace : f.name}"\n  max_memory_store: ${f.jsMemoryStoreSize}\n  max_file_store: ${f.jsStorageSize}\n  cipher: chachapoly\n  key: $JETSTREAM_KEY\n}`,
  ];
  if (server && o.routes.length > 1) {
    lines.push(
      `cluster {\n  name: "${ctx.config.namespace}"\n  port: ${f.natsClusterPort}\n  no_advertise: true\n  routes: [\n${o.routes.map((r) => `    "${r}"`).join('\n')}\n  ]\n  ${tls(n.serverCert)}\n}`,
    );
  }
  if (server) {
    lines.push(
      `leafnodes {\n  port: ${f.natsLeafPort}\n${f.host ? `  advertise: "${f.host}:${f.natsLeafPort}"\n` : ''}  ${tls(n.serverCert)}\n}`,
    );
  } else {
    const remotes = o.remotes.map(
      (r) =>
        `    {\n      urls: ["${r.url}"]\n      account: "${r.account}"\n      credentials: "${r.credentials}"\n      ${tls(n.serverCert).replace(/\n {2}/g, '\n      ')}\n    }`,
    );
    // `reconnect` in seconds as a number: nats-server 2.9 rejects the "10s" string form upstream renders.
    lines.push(`leafnodes {\n  reconnect: 10\n  remotes: [\n${remotes.join('\n')}\n  ]\n}`);
  }
  lines.push(`mqtt {\n  port: ${f.natsMqttPort}\n  ${tls(n.mqttCert)}\n}`);
  lines.push(`resolver {\n  type: full\n  dir: "${JWT_DIR}"\n  allow_delete: false\n  interval: "${server ? '2m' : '10m'}"\n}`);
  return `${lines.join('\n')}\n`;
}

async function upsertConfigMap(ctx: AppCtx, name: string, data: Record<string, string>): Promise<void> {
  const [cm] = await ctx.db.select({ data: configMap.data }).from(configMap).where(eq(configMap.name, name)).limit(1);
  if (!cm) {
    try {
      await createConfigMap(ctx, { name, data });
      return;
    } catch (err) {
      if (!(err instanceof ServiceError && err.code === 'CONFLICT')) throw err;
    }
  }
  if (cm && cm.data === JSON.stringify(data)) return;
  await updateConfigMap(ctx, name, { data });
}

async function ensureSystemUser(ctx: AppCtx, accountName: string, userName: string): Promise<string> {
  const [acc] = await ctx.db.select().from(natsAccount).where(eq(natsAccount.name, accountName)).limit(1);
  const [u] = await ctx.db
    .select({ id: natsUser.id })
    .from(natsUser)
    .where(and(eq(natsUser.accountId, acc!.id), eq(natsUser.name, userName)))
    .limit(1);
  if (!u) {
    await tolerateConflict(() => issueUser(ctx, acc!, { name: userName, ruleName: 'default-user' }));
  }
  return userCreds(ctx, accountName, userName);
}

/**
 * Workload NATS access on this fog: each NATS-enabled microservice gets a user named after
 * it in its application's account (created with the application's account rule when missing), with its
 * rule; its creds secret is a volume mount linked to the fog. Users whose microservice is gone or no longer
 * NATS-enabled, or whose rule changed, are revoked (a changed rule re-issues the user).
 */
export async function syncNatsAccess(ctx: AppCtx, f: FogRow): Promise<void> {
  const rows = await ctx.db
    .select({ ms: microservice, app: application })
    .from(microservice)
    .innerJoin(application, eq(application.id, microservice.applicationId))
    .where(and(eq(microservice.fogUuid, f.uuid), eq(microservice.natsAccess, true), eq(microservice.markedForDelete, false)));
  let newAccount = false;
  for (const { ms, app } of rows) {
    let acc = (await ctx.db.select().from(natsAccount).where(eq(natsAccount.applicationId, app.id)).limit(1))[0];
    if (!acc) {
      acc = await ensureAccount(ctx, { name: app.name, applicationId: app.id, ruleName: app.natsRule ?? 'default-account' });
      newAccount = true;
    }
    const rule = ms.natsRule ?? 'default-user';
    const [u] = await ctx.db
      .select()
      .from(natsUser)
      .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.microserviceUuid, ms.uuid)))
      .limit(1);
    if (u && (u.ruleName !== rule || u.name !== ms.name)) await revokeUser(ctx, acc, u);
    if (!u || u.ruleName !== rule || u.name !== ms.name) {
      await tolerateConflict(() => issueUser(ctx, acc, { name: ms.name, ruleName: rule, microserviceUuid: ms.uuid }));
    }
    const [issued] = await ctx.db
      .select({ creds: natsUser.credsSecretName })
      .from(natsUser)
      .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.microserviceUuid, ms.uuid)))
      .limit(1);
    if (issued?.creds) await ensureLinkedMount(ctx, issued.creds, { secretName: issued.creds }, f.uuid);
  }
  // A new application account must reach every server's resolver bundle.
  if (newAccount) {
    await withTransaction(ctx, async (tx) => {
      const srv = await tx.db
        .select({ uuid: fog.uuid, gen: fog.specGeneration })
        .from(fog)
        .where(and(eq(fog.natsMode, 'server'), isNull(fog.deleteRequestedAt)));
      for (const x of srv) if (x.uuid !== f.uuid) await enqueueFogReconcile(tx, x.uuid, 'nats-changed', x.gen);
    });
  }
  // Users of workloads that are gone or lost NATS access — found in SQL, not by reading every
  // workload's user (this runs on every fog reconcile).
  const stale = await ctx.db
    .select({ user: natsUser, acc: natsAccount })
    .from(natsUser)
    .innerJoin(natsAccount, eq(natsAccount.id, natsUser.accountId))
    .leftJoin(microservice, eq(microservice.uuid, natsUser.microserviceUuid))
    .where(
      and(
        isNotNull(natsUser.microserviceUuid),
        or(isNull(microservice.uuid), eq(microservice.natsAccess, false), eq(microservice.markedForDelete, true)),
      ),
    );
  for (const { user, acc } of stale) {
    if (user.credsSecretName) {
      await withTransaction(ctx, async (tx) => {
        await tx.db.delete(volumeMount).where(eq(volumeMount.name, user.credsSecretName!));
      });
    }
    await revokeUser(ctx, acc, user);
  }
}

/** Application accounts with NATS-enabled workloads on this fog (its leaf remotes and bundle). */
async function appAccountsOn(ctx: AppCtx, f: FogRow) {
  const rows = await ctx.db
    .select({ acc: natsAccount })
    .from(microservice)
    .innerJoin(natsAccount, eq(natsAccount.applicationId, microservice.applicationId))
    .where(and(eq(microservice.fogUuid, f.uuid), eq(microservice.natsAccess, true), eq(microservice.markedForDelete, false)));
  return [...new Map(rows.map((r) => [r.acc.id, r.acc])).values()];
}

/** Brings the fog's NATS instance to its spec (natsMode server or leaf). */
export async function reconcileNats(ctx: AppCtx, f: FogRow): Promise<void> {
  const n = natsNames(f);
  const server = f.natsMode === 'server';
  const [item] = await ctx.db
    .select()
    .from(catalogItem)
    .where(and(eq(catalogItem.name, 'NATS'), eq(catalogItem.category, 'SYSTEM')))
    .limit(1);
  if (!item) throw new Error('the system catalog item NATS is missing');
  const images = JSON.parse(item.images) as Array<{ containerImage: string; archId: number }>;
  if (f.archId >= 1 && !images.some((i) => i.archId === f.archId))
    throw new Error(`the NATS catalog item has no image for this fog's architecture (archId ${f.archId})`);
  const hub = await hubFog(ctx);
  // A leaf naming a missing or non-server upstream fails its reconcile; its remotes are one per application
  // account with NATS microservices on this fog × upstream server.
  const upstreams = server ? [] : await leafUpstreams(ctx, f);
  const appAccounts = server ? [] : await appAccountsOn(ctx, f);

  // Certificates, JetStream key.
  await ensureCa(ctx, 'nats-site-ca');
  await ensureCa(ctx, 'default-nats-local-ca');
  const host = f.host ?? 'localhost';
  await ensureIssuedCertificate(ctx, n.serverCert, f.uuid, [host], 'nats-site-ca');
  await ensureIssuedCertificate(ctx, n.mqttCert, f.uuid, [host, 'nats.default.svc.bridge.local'], 'default-nats-local-ca');
  const [key] = await ctx.db.select({ id: secret.id }).from(secret).where(eq(secret.name, n.jsKey)).limit(1);
  if (!key) {
    const jsk = newJetStreamKey();
    await tolerateConflict(() => createSecret(ctx, { name: n.jsKey, type: 'Opaque', data: { jsk } }));
  }

  // Trust chain: system account and users, rendered configuration, resolver bundle, creds.
  const op = await ensureOperator(ctx);
  const [sys] = await ctx.db.select().from(natsAccount).where(eq(natsAccount.name, SYSTEM_ACCOUNT)).limit(1);
  let systemAccount = sys!.publicKey;
  let credsMount: { name: string; source: { secretName?: string; configMapName?: string } };
  const credsPathOf = (acc: string, user: string) => `${CREDS_DIR}/${slug(acc, 64)}/${slug(user, 64)}.creds`;
  let sysUserPath: string;
  if (server) {
    const user = hub?.uuid === f.uuid ? 'admin-hub' : `admin-server-${n.slug}`;
    await ensureSystemUser(ctx, SYSTEM_ACCOUNT, user);
    const [u] = await ctx.db
      .select({ creds: natsUser.credsSecretName })
      .from(natsUser)
      .innerJoin(natsAccount, eq(natsAccount.id, natsUser.accountId))
      .where(and(eq(natsAccount.name, SYSTEM_ACCOUNT), eq(natsUser.name, user)))
      .limit(1);
    credsMount = { name: u!.creds!, source: { secretName: u!.creds! } };
    sysUserPath = credsPathOf(SYSTEM_ACCOUNT, user);
  } else {
    const leafSys = await ensureAccount(ctx, {
      name: n.leafAccount,
      ruleName: 'default-system-account',
      seedSecretName: `nats-leaf-system-seed-${n.slug}`,
    });
    if (!leafSys.isLeafSystem)
      await withTransaction(ctx, (tx) => tx.db.update(natsAccount).set({ isLeafSystem: true }).where(eq(natsAccount.id, leafSys.id)));
    systemAccount = leafSys.publicKey;
    const user = `admin-leaf-${n.slug}`;
    const creds = await ensureSystemUser(ctx, n.leafAccount, user);
    const leafCreds: Record<string, string> = { [`${slug(n.leafAccount, 64)}/${slug(user, 64)}.creds`]: creds };
    // One leaf remote user `leaf-{fog}` per application account used on this fog (rule default-leaf-user).
    for (const acc of appAccounts) {
      const leafUser = `leaf-${n.slug}`;
      const [u] = await ctx.db
        .select({ id: natsUser.id })
        .from(natsUser)
        .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.name, leafUser)))
        .limit(1);
      if (!u) {
        await tolerateConflict(() => issueUser(ctx, acc, { name: leafUser, ruleName: 'default-leaf-user' }));
      }
      leafCreds[`${slug(acc.name, 64)}/${slug(leafUser, 64)}.creds`] = await userCreds(ctx, acc.name, leafUser);
    }
    await upsertConfigMap(ctx, n.leafCreds, leafCreds);
    credsMount = { name: n.leafCreds, source: { configMapName: n.leafCreds } };
    sysUserPath = credsPathOf(n.leafAccount, user);
  }
  const routes = server ? (await servers(ctx)).map((s) => `nats://${s.host}:${s.natsClusterPort}`) : [];
  const conf = renderNatsConfig(ctx, f, {
    operatorJwt: op.row.jwt,
    systemAccount,
    routes,
    remotes: appAccounts.flatMap((acc) =>
      upstreams.map((up) => ({
        url: `tls://${up.host}:${up.natsLeafPort}`,
        account: acc.publicKey,
        credentials: `${CREDS_DIR}/${slug(acc.name, 64)}/leaf-${n.slug}.creds`,
      })),
    ),
  });
  await upsertConfigMap(ctx, n.conf, { 'server.conf': conf });
  const accounts = await ctx.db.select().from(natsAccount);
  const bundleName = server ? SERVER_BUNDLE : n.leafBundle;
  const bundle = server
    ? accounts.filter((a) => !a.isLeafSystem)
    : accounts.filter((a) => a.name === n.leafAccount || appAccounts.some((x) => x.id === a.id));
  await upsertConfigMap(ctx, bundleName, Object.fromEntries(bundle.map((a) => [`${a.publicKey}.jwt`, a.jwt])));

  // Mounts and the microservice.
  const mounts: Array<{ name: string; source: { secretName?: string; configMapName?: string }; path: string }> = [
    { name: n.conf, source: { configMapName: n.conf }, path: CONF_DIR },
    { name: bundleName, source: { configMapName: bundleName }, path: JWT_MOUNT },
    { name: n.serverCert, source: { secretName: n.serverCert }, path: `${CERTS_DIR}/${n.serverCert}` },
    { name: n.mqttCert, source: { secretName: n.mqttCert }, path: `${CERTS_DIR}/${n.mqttCert}` },
    { ...credsMount, path: CREDS_DIR },
  ];
  for (const m of mounts) await ensureLinkedMount(ctx, m.name, m.source, f.uuid);
  const ports = [f.natsServerPort, f.natsLeafPort, ...(server ? [f.natsClusterPort] : []), f.natsMqttPort, f.natsHttpPort].map((p) => ({
    internal: p,
    external: p,
    protocol: 'tcp',
  }));
  const env = [
    { key: 'JETSTREAM_KEY', valueFromSecret: `${n.jsKey}/jsk` },
    { key: 'JETSTREAM_PREV_KEY', value: '' },
    { key: 'NATS_CONF', value: `${CONF_DIR}/server.conf` },
    { key: 'NATS_JWT_DIR', value: JWT_DIR },
    { key: 'NATS_JWT_MOUNT_DIR', value: JWT_MOUNT },
    { key: 'NATS_CREDS_DIR', value: CREDS_DIR },
    { key: 'NATS_SYS_USER_CRED_PATH', value: sysUserPath },
    { key: 'NATS_TLS_DIR', value: CERTS_DIR },
    { key: 'NATS_SSL_DIR', value: CERTS_DIR },
    { key: 'NATS_CERT_NAME', value: n.serverCert },
    { key: 'NATS_MQTT_CERT_NAME', value: n.mqttCert },
    { key: 'NATS_SERVER_PORT', value: String(f.natsServerPort) },
    { key: 'NATS_LEAF_PORT', value: String(f.natsLeafPort) },
    { key: 'NATS_CLUSTER_PORT', value: String(f.natsClusterPort) },
    { key: 'NATS_MQTT_PORT', value: String(f.natsMqttPort) },
    { key: 'NATS_HTTP_PORT', value: String(f.natsHttpPort) },
    { key: 'NATS_MONITOR_PORT', value: String(f.natsHttpPort) },
    { key: 'NATS_JETSTREAM_STORE_DIR', value: DATA_DIR },
    { key: 'NATS_SERVER_MODE', value: server ? 'server' : 'leaf' },
  ];
  const volumes = [
    { id: 1, hostDestination: `${f.name}-nats-jetstream`, containerDestination: DATA_DIR, accessMode: 'rw', type: 'volume' },
    ...mounts.map((m, i) => ({ id: i + 2, hostDestination: m.name, containerDestination: m.path, accessMode: 'ro', type: 'volumeMount' })),
  ];
  const cols = {
    images: JSON.stringify(images),
    registryId: item.registryId,
    hostNetworkMode: false,
    isPrivileged: false,
    capAdd: JSON.stringify(['NET_RAW']),
    schedule: 1,
    logSize: 1,
    ports: JSON.stringify(ports),
    env: JSON.stringify(env),
    volumeMappings: JSON.stringify(volumes),
    healthCheck: JSON.stringify({
      test: ['CMD-SHELL', `wget -q -O- http://localhost:${f.natsHttpPort}/healthz || exit 1`],
      interval: 30,
      timeout: 10,
      startPeriod: 60,
      retries: 3,
    }),
    isNats: true,
  };
  await withTransaction(ctx, async (tx) => {
    const app = await ensureSystemApplication(tx, f.name);
    const now = tx.clock.now();
    const [existing] = await tx.db
      .select()
      .from(microservice)
      .where(and(eq(microservice.applicationId, app.id), eq(microservice.name, 'nats')))
      .limit(1);
    if (!existing) {
      await tx.db
        .insert(microservice)
        .values({ ...cols, uuid: tx.ids.uuid(), name: 'nats', applicationId: app.id, fogUuid: f.uuid, createdAt: now, updatedAt: now });
      await ensureMicroserviceAccount(tx, app.id, 'nats');
      await raiseFlags(tx, [f.uuid], ['microserviceList']);
      return;
    }
    const changed =
      existing.ports !== cols.ports ||
      existing.env !== cols.env ||
      existing.volumeMappings !== cols.volumeMappings ||
      existing.images !== cols.images ||
      existing.markedForDelete;
    if (!changed) return;
    await tx.db
      .update(microservice)
      .set({ ...cols, markedForDelete: false, rebuild: true, updatedAt: now })
      .where(eq(microservice.uuid, existing.uuid));
    await raiseFlags(tx, [f.uuid], ['microserviceList']);
  });
}

/** natsMode none or the fog is going: the `nats` microservice is delivered for deletion; its material goes with the fog. */
export async function removeNats(ctx: AppCtx, f: FogRow): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const rows = await tx.db
      .select({ ms: microservice })
      .from(microservice)
      .innerJoin(application, eq(application.id, microservice.applicationId))
      .where(
        and(
          eq(application.isSystem, true),
          eq(microservice.fogUuid, f.uuid),
          eq(microservice.isNats, true),
          eq(microservice.markedForDelete, false),
        ),
      );
    if (rows.length)
      await removeOrMark(
        tx,
        rows.map((r) => r.ms),
        false,
      );
  });
}

/** The fog's NATS certificates, key, config maps and mounts (when the fog row goes). */
export async function dropNatsMaterial(ctx: AppCtx, f: Pick<FogRow, 'name'>): Promise<void> {
  const n = natsNames(f);
  const mountNames = [n.conf, n.leafBundle, n.serverCert, n.mqttCert, n.leafCreds];
  await withTransaction(ctx, async (tx) => {
    const mounts = await tx.db.select({ uuid: volumeMount.uuid }).from(volumeMount).where(inArray(volumeMount.name, mountNames));
    if (mounts.length)
      await tx.db.delete(volumeMount).where(
        inArray(
          volumeMount.uuid,
          mounts.map((m) => m.uuid),
        ),
      );
    await tx.db.delete(configMap).where(inArray(configMap.name, [n.conf, n.leafBundle, n.leafCreds]));
    await tx.db.delete(secret).where(eq(secret.name, n.jsKey));
  });
  for (const c of [n.serverCert, n.mqttCert]) {
    await deleteCertificate(ctx, c).catch((err) => {
      if (!(err instanceof ServiceError && err.code === 'NOT_FOUND')) throw err;
    });
  }
}

/**
 * A JetStream encryption key for `key: $JETSTREAM_KEY`. nats-server parses the variable's value as a
 * configuration token, so it must read as a bare string: a base64 key such as `1K6B…` reads as a size (about
 * one base64 key in a hundred) and `nats-server -t` fails with "variable reference for 'JETSTREAM_KEY' could
 * not be parsed". Letters and digits only, starting with a letter; 256 random bits in hex.
 */
export function newJetStreamKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `jsk${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
