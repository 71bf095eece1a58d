import { eq } from 'drizzle-orm';
import { Admission } from './http/admission';
import type { Config } from './config';
import type { AppCtx } from './context';
import { migrate, openStore, type CreateLibsqlClient, type PgDriver, type WalCheckpointer } from '../db/client';
import { controllerSetting } from '../db/schema/index';
import { PolicyCache } from './services/rbac/policy';
import { TokenGenerationCache } from './services/auth/token-generation';
import { ExternalIdp } from './auth/external';
import { withTransaction } from '../db/tx';
import { Vault } from './crypto/vault';
import { KeyRing } from './auth/keyring';
import { RateLimiter } from './auth/rate-limit';
import { verifyPassword } from './auth/passwords';
import { systemClock, type Clock } from './lib/clock';
import { randomIds, type Ids } from './lib/ids';
import type { Logger } from './lib/logger';
import { createMetrics } from './lib/metrics';
import { SessionManager } from './services/sessions/manager';
import { LocalRelay, NatsRelay } from './services/sessions/relay';
import { ensureControllerCreds } from './services/nats/auth';
import { seedSystemGroups } from './services/auth/admin';
import { ensureBootstrapAdmin, ensureFirstAdmin } from './services/auth/bootstrap';
import { AgentKeyCache, type Ed25519Verifier } from './auth/agent-auth';
import { JtiStore } from './auth/agent-jti';
import { AgentActivity } from './services/agent/activity';
import { StatusWriter } from './services/agent/status-writer';
import { ChangeClock, ChangeIndex } from './services/changes/flags';
import { VERSION } from './version';

export { VERSION };

/** Where the runtime keeps a generated encryption key; absent on hosts without a filesystem. */
export interface KeyFileStore {
  read(path: string): Promise<string | undefined>;
  write(path: string, content: string): Promise<void>;
}

export interface BootDeps {
  config: Config;
  logger: Logger;
  createClient: CreateLibsqlClient;
  /** The PostgreSQL driver, on runtimes that have one (DB_URL=postgres://…). */
  pgDriver?: PgDriver;
  keyFiles?: KeyFileStore;
  clock?: Clock;
  ids?: Ids;
  /** The runtime's fast Ed25519 check for agent tokens (WebCrypto through jose without one). */
  ed25519?: Ed25519Verifier;
  /** Checkpoints the embedded database's WAL off the event loop (SQLite checkpoints on commit without one). */
  walCheckpointer?: WalCheckpointer;
}

async function resolveEncryptionKey(deps: BootDeps): Promise<string> {
  if (deps.config.encryptionKey) return deps.config.encryptionKey;
  if (!deps.keyFiles) throw new Error('ENCRYPTION_KEY must be set on this runtime (no filesystem to keep a generated key)');
  const path = deps.config.encryptionKeyFile;
  const stored = (await deps.keyFiles.read(path))?.trim();
  if (stored) return stored;
  const key = Vault.generateKey();
  await deps.keyFiles.write(path, `${key}\n`);
  deps.logger.warn('ENCRYPTION_KEY is not set: generated one and stored it; back it up, losing it makes stored secrets unreadable', {
    file: path,
  });
  return key;
}

/**
 * This replica's identity in `/cluster/controllers`: CONTROLLER_UUID, else a uuid kept in
 * `controller-id` next to the encryption key file (so a restart is the same replica). Hosts without a
 * filesystem (Workers) get a throw-away id and are not registered (`stable: false`): every isolate
 * would otherwise leave a row behind.
 */
async function resolveControllerUuid(deps: BootDeps, ids: Ids): Promise<{ uuid: string; stable: boolean }> {
  if (deps.config.cluster.uuid) return { uuid: deps.config.cluster.uuid, stable: true };
  if (!deps.keyFiles) return { uuid: ids.uuid(), stable: false };
  const path = deps.config.encryptionKeyFile.replace(/[^/\\]*$/, 'controller-id');
  const stored = (await deps.keyFiles.read(path))?.trim();
  if (stored && /^[0-9a-f-]{36}$/.test(stored)) return { uuid: stored, stable: true };
  const uuid = ids.uuid();
  await deps.keyFiles.write(path, `${uuid}\n`);
  return { uuid, stable: true };
}

const CHECK_KEY = 'encryption_check';
const CHECK_PLAINTEXT = 'controller-encryption-check';

/** Refuses to start with a key that cannot read what this database already holds. */
async function verifyEncryptionKey(ctx: AppCtx): Promise<void> {
  const [row] = await ctx.db.select().from(controllerSetting).where(eq(controllerSetting.key, CHECK_KEY)).limit(1);
  if (row) {
    let ok = false;
    try {
      ok = (await ctx.vault.decrypt(row.value, CHECK_KEY)) === CHECK_PLAINTEXT;
    } catch {
      ok = false;
    }
    if (!ok) throw new Error('ENCRYPTION_KEY does not match the key this database was encrypted with');
    return;
  }
  const value = await ctx.vault.encrypt(CHECK_PLAINTEXT, CHECK_KEY);
  await withTransaction(ctx, (tx) =>
    tx.db
      .insert(controllerSetting)
      .values({ key: CHECK_KEY, value, updatedAt: tx.clock.now() })
      .onConflictDoNothing()
      .then(() => undefined),
  );
}

/** Opens storage, migrates, loads keys and seeds what must exist. Everything the app needs, ready. */
export async function bootstrap(deps: BootDeps): Promise<AppCtx> {
  const clock = deps.clock ?? systemClock;
  const startedAt = clock.now();
  const store = await openStore(deps.createClient, {
    ...deps.config.db,
    pgDriver: deps.pgDriver,
    walCheckpointer: deps.walCheckpointer,
    onCheckpointError: (message, err) => deps.logger.warn(message, { err: String(err) }),
    onRenewError: (err) =>
      deps.logger.warn('could not replace database connections after SQLITE_BUSY; keeping the current ones', { err: String(err) }),
  });
  try {
    const { applied } = await migrate(store);
    if (applied.length) deps.logger.info('database migrated', { applied });
    const vault = await Vault.fromBase64Key(await resolveEncryptionKey(deps));
    const ids = deps.ids ?? randomIds;
    const ctx: AppCtx = {
      config: deps.config,
      store,
      db: store.db,
      inTx: false,
      clock,
      ids,
      logger: deps.logger,
      metrics: createMetrics(),
      vault,
      keys: new KeyRing(),
      authLimiter: new RateLimiter(deps.config.authRateLimit),
      passwords: { verify: verifyPassword },
      agentKeys: new AgentKeyCache(deps.ed25519),
      agentJtis: new JtiStore(clock, deps.logger),
      agentActivity: new AgentActivity(deps.logger),
      statusWriter: new StatusWriter(store.db),
      changeClock: new ChangeClock(clock),
      changeIndex: new ChangeIndex(() => clock.now()),
      rbacPolicy: new PolicyCache(),
      tokenGenerations: new TokenGenerationCache(),
      idp: deps.config.external
        ? new ExternalIdp(deps.config.external.issuerUrl, deps.config.clientId, deps.config.external.clientSecret, deps.logger, () =>
            clock.now(),
          )
        : undefined,
      instanceId: ids.uuid(),
      ...(await resolveControllerUuid(deps, ids).then((r) => ({ controllerUuid: r.uuid, controllerUuidStable: r.stable }))),
      startedAt,
      version: VERSION,
      // No operator console is bundled (the docs UI is not one): nothing to report as ecnViewer.
      consoleVersion: null,
      state: { accepting: true },
      sessions: undefined as unknown as SessionManager,
      admission: new Admission(deps.config.admission),
    };
    const relayCfg = deps.config.ws.relay;
    const relay = relayCfg
      ? new NatsRelay(
          {
            servers: relayCfg.urls,
            publishTimeoutMs: 5000,
            onReconnect: () => ctx.sessions.onRelayReconnect(),
            // The Controller-issued `controller` user unless a creds file is configured.
            creds: relayCfg.credsFile
              ? async () => {
                  const text = await deps.keyFiles?.read(relayCfg.credsFile!);
                  if (!text) throw new Error(`NATS_RELAY_CREDS_FILE ${relayCfg.credsFile} cannot be read`);
                  return new TextEncoder().encode(text);
                }
              : async () => new TextEncoder().encode(await ensureControllerCreds(ctx)),
          },
          deps.logger,
        )
      : new LocalRelay();
    ctx.sessions = new SessionManager(ctx, relay);
    await verifyEncryptionKey(ctx);
    await ctx.keys.init(ctx);
    await seedSystemGroups(ctx);
    // External mode: the IdP owns users; no local bootstrap admin.
    if (deps.config.authMode === 'embedded') {
      await ensureBootstrapAdmin(ctx);
      await ensureFirstAdmin(ctx, deps.keyFiles);
    }
    await ctx.agentJtis.load(ctx);
    await ctx.changeIndex.refresh(ctx.store.db);
    return ctx;
  } catch (err) {
    await store.close();
    throw err;
  }
}
