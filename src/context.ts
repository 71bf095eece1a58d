import type { Config } from './config';
import type { Admission } from './http/admission';
import type { Db, Store } from '../db/client';
import type { PendingRecord } from '../db/tx';
import type { ExternalIdp } from './auth/external';
import type { Clock } from './lib/clock';
import type { Ids } from './lib/ids';
import type { Logger } from './lib/logger';
import type { Vault } from './crypto/vault';
import type { KeyRing } from './auth/keyring';
import type { RateLimiter } from './auth/rate-limit';
import type { Metrics } from './lib/metrics';
import type { AgentKeyCache } from './auth/agent-auth';
import type { JtiStore } from './auth/agent-jti';
import type { AgentActivity } from './services/agent/activity';
import type { StatusWriter } from './services/agent/status-writer';
import type { ChangeClock, ChangeIndex } from './services/changes/flags';
import type { PolicyCache } from './services/rbac/policy';
import type { TokenGenerationCache } from './services/auth/token-generation';
import type { SessionManager } from './services/sessions/manager';

/** Who is calling. Set by the auth middleware; services use it for RBAC-relevant decisions and audit. */
export interface Actor {
  kind: 'user';
  userId: string;
  username: string;
  groups: string[];
  passwordChangeRequired: boolean;
  mfaEnrollmentRequired: boolean;
}

/**
 * What the whole app reads: configuration, time, ids, logging and metrics. Every other group assumes it.
 * `instanceId` is stable for the life of the process and names this instance as a lease owner.
 */
export interface CoreDeps {
  config: Config;
  clock: Clock;
  ids: Ids;
  logger: Logger;
  metrics: Metrics;
  /** Stable for the life of the process; used as lease owner. */
  instanceId: string;
}

/** The database. Inside withTransaction `db` is the open transaction and `inTx` is true. */
export interface StorageDeps {
  store: Store;
  /** The database — or, inside withTransaction, the open transaction. */
  db: Db;
  inTx: boolean;
  /** Set while a write transaction is open (withTransaction). */
  onSettled?: Array<() => void>;
}

/** Operator authentication and authorisation: signing keys, secrets at rest, login limits, RBAC. */
export interface AuthDeps {
  vault: Vault;
  keys: KeyRing;
  authLimiter: RateLimiter;
  /** Argon2 password checks (auth/passwords.ts); a seam so tests can see that every login failure does one. */
  passwords: { verify(password: string, encoded: string): Promise<boolean> };
  /** External OIDC mode: the IdP whose tokens are accepted (undefined in embedded mode). */
  idp?: ExternalIdp;
  /** Custom roles and role bindings, reloaded when any instance changes them. */
  rbacPolicy: PolicyCache;
  /** Per-user token generations: access tokens of a deleted or changed user stop working (services/auth/token-generation.ts). */
  tokenGenerations: TokenGenerationCache;
}

/**
 * The agent hot path: what every agent poll touches, kept in memory or batched so a fleet polling at
 * once costs few database round trips.
 */
export interface AgentHotPathDeps {
  /** Imported fog public keys. */
  agentKeys: AgentKeyCache;
  /** Agent token ids already used. */
  agentJtis: JtiStore;
  /** Batched lastActive writes. */
  agentActivity: AgentActivity;
  /** Batched status reports (group commit). */
  statusWriter: StatusWriter;
  /** Timestamps of change-flag rows (see services/changes/flags.ts). */
  changeClock: ChangeClock;
  /** Which fogs have pending change rows (see services/changes/flags.ts). */
  changeIndex: ChangeIndex;
  /** Load shedding: agent polls get a fast 503 when the event loop cannot keep up. */
  admission: Admission;
}

/** This Controller instance as the cluster and the status routes see it. */
export interface InstanceDeps {
  /** This replica's row in `/cluster/controllers`; survives restarts (CONTROLLER_UUID or the data directory). */
  controllerUuid: string;
  /** False where the id cannot survive a restart (no CONTROLLER_UUID and no filesystem): not registered. */
  controllerUuidStable: boolean;
  startedAt: number;
  version: string;
  /** Version of a bundled operator console (upstream bundles its ECN viewer), reported as `versions.ecnViewer`; null: none is bundled. */
  consoleVersion: string | null;
  /** Set false when shutdown begins; readiness turns 503. */
  state: { accepting: boolean };
}

/** Exec and log WebSocket sessions held by this instance. */
export interface SessionDeps {
  /** Exec/log WebSocket sessions on this instance (services/sessions/manager.ts). */
  sessions: SessionManager;
}

/**
 * Everything a service needs, passed explicitly (no module singletons): real implementations
 * are chosen from config at the entry; tests build one with fakes (clock, ids, logger sink).
 *
 * The fields are grouped by the part of the app that uses them (the interfaces above); AppCtx is all of
 * them, so existing code keeps reading `ctx.clock` or `ctx.sessions`. A service that needs only one part
 * can say so in its signature (`ctx: CoreDeps & StorageDeps`) and a test can build just that part.
 * The groups name types, never service modules at runtime: every import above is `import type`.
 */
export interface AppCtx extends CoreDeps, StorageDeps, AuthDeps, AgentHotPathDeps, InstanceDeps, SessionDeps {}

export interface RequestCtx extends AppCtx {
  requestId: string;
  actor?: Actor;
  /** Set by the agent-token middleware on /api/v3/agent/* routes. */
  agent?: { fogUuid: string };
  ip?: string;
  /** The audit event this request leaves when its change commits (services/events/audit.ts). */
  audit?: PendingRecord;
}

/**
 * A request's context: the process's context as its prototype and the request's own fields on top.
 * A copy (`{ ...appCtx, requestId }`) of the ~30 fields, then `agent` or `actor` added to it, was ~5 %
 * of an agent request's event-loop time in a line profile; with the prototype a request creates one
 * small object whose fields are set in one order, so all requests' contexts share one shape.
 * Derive contexts from it with `derivedCtx`, never with a spread: a spread copies own fields only.
 */
export function requestCtx(appCtx: AppCtx, requestId: string, ip: string | undefined): RequestCtx {
  const ctx = Object.create(appCtx) as RequestCtx;
  ctx.requestId = requestId;
  ctx.ip = ip;
  ctx.actor = undefined;
  ctx.agent = undefined;
  ctx.audit = undefined;
  return ctx;
}

/** `ctx` with `own` in place of some fields, keeping the fields it inherits (see requestCtx). */
export function derivedCtx<C extends object>(ctx: C, own: Partial<C>): C {
  const proto = Object.getPrototypeOf(ctx) as object | null;
  if (proto === Object.prototype) return { ...ctx, ...own };
  return Object.assign(Object.create(proto) as C, ctx, own);
}
