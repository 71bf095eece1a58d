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
 * Everything a service needs, passed explicitly (no module singletons): real implementations
 * are chosen from config at the entry; tests build one with fakes (clock, ids, logger sink).
 */
export interface AppCtx {
  config: Config;
  store: Store;
  /** The database — or, inside withTransaction, the open transaction. */
  db: Db;
  inTx: boolean;
  clock: Clock;
  ids: Ids;
  logger: Logger;
  metrics: Metrics;
  vault: Vault;
  keys: KeyRing;
  authLimiter: RateLimiter;
  /** Argon2 password checks (auth/passwords.ts); a seam so tests can see that every login failure does one. */
  passwords: { verify(password: string, encoded: string): Promise<boolean> };
  /** Agent hot path: imported fog public keys, used token ids, batched lastActive. */
  agentKeys: AgentKeyCache;
  agentJtis: JtiStore;
  agentActivity: AgentActivity;
  statusWriter: StatusWriter;
  /** Timestamps of change-flag rows (see services/changes/flags.ts). */
  changeClock: ChangeClock;
  /** Which fogs have pending change rows (see services/changes/flags.ts). */
  changeIndex: ChangeIndex;
  /** External OIDC mode: the IdP whose tokens are accepted (undefined in embedded mode). */
  idp?: ExternalIdp;
  /** Custom roles and role bindings, reloaded when any instance changes them. */
  rbacPolicy: PolicyCache;
  /** Per-user token generations: access tokens of a deleted or changed user stop working (services/auth/token-generation.ts). */
  tokenGenerations: TokenGenerationCache;
  /** Set while a write transaction is open (withTransaction). */
  onSettled?: Array<() => void>;
  /** Stable for the life of the process; used as lease owner. */
  instanceId: string;
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
  /** Exec/log WebSocket sessions on this instance (services/sessions/manager.ts). */
  sessions: SessionManager;
  /** Load shedding: agent polls get a fast 503 when the event loop cannot keep up. */
  admission: Admission;
}

export interface RequestCtx extends AppCtx {
  requestId: string;
  actor?: Actor;
  /** Set by the agent-token middleware on /api/v3/agent/* routes. */
  agent?: { fogUuid: string };
  ip?: string;
  /** The audit event this request leaves when its change commits (services/events/audit.ts). */
  audit?: PendingRecord;
}
