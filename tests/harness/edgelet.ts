// An Edgelet simulator: one field agent over real HTTP against a running Controller
// (docs/agent-contract.md). It provisions, signs a fresh EdDSA token for every request exactly like
// Edgelet, sends Edgelet's headers, runs change cycles in Edgelet's order with its initialization
// rules, and reports the full status body for the microservices it "runs".
//
// Transport is node:http / node:https with a keep-alive Agent (shareable across thousands of
// simulated agents, configurable maxSockets) so the fleet bench can drive large fleets cheaply;
// or, opt-in for http: URLs, a shared LeanHttpPool (./lean-http.ts: same bytes on the wire, a
// fraction of the client CPU, for the fleet bench whose generator shares the server's cores).
// Dependencies: jose (key import) and Node built-ins only.
//
// The pure pieces (claims, jti, cycle plan, status body, success / retry classification, the
// status auth gate, config diff) are exported for unit tests (tests/unit/edgelet-sim.test.ts).
import { createRequire } from 'node:module';
import { createHash, createHmac, generateKeyPairSync, KeyObject, randomBytes, randomFillSync, sign as edSign } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { importJWK, type JWK } from 'jose';
import type { LeanHttpError, LeanHttpPool } from './lean-http';
import { base32NoPad } from '../../src/lib/base32';

// ───────────────────────────── wire constants ─────────────────────────────

export const EDGELET_ISSUER = 'https://edgelet.default.svc.bridge.local';
export const TOKEN_TTL_SEC = 600;

/** The 14 v3.8 change flags. */
export const CHANGE_FLAGS = [
  'config',
  'version',
  'reboot',
  'deleteNode',
  'microserviceList',
  'microserviceConfig',
  'registries',
  'tunnel',
  'prune',
  'routerChanged',
  'volumeMounts',
  'execSessions',
  'microserviceLogs',
  'fogLogs',
] as const;
export type ChangeFlag = (typeof CHANGE_FLAGS)[number];

/** Keys Edgelet applies from `GET /agent/config`; everything else is ignored. */
export const CONFIG_KEYS = new Set([
  'networkInterface',
  'containerEngineUrl',
  'diskLimit',
  'diskDirectory',
  'memoryLimit',
  'cpuLimit',
  'logLimit',
  'logDirectory',
  'logFileCount',
  'gpsMode',
  'gpsDevice',
  'gpsScanFrequency',
  'edgeGuardFrequency',
  'statusFrequency',
  'changeFrequency',
  'watchdogEnabled',
  'latitude',
  'longitude',
  'logLevel',
  'availableDiskThreshold',
  'pruningFrequency',
  'timeZone',
  'controllerUrl',
  'controllerCert',
  'containerEngine',
  'arch',
  'secureMode',
  'devMode',
  'upgradeScanFrequency',
]);

/** The local configuration Edgelet pushes with `PATCH /agent/config`. */
export function defaultLocalConfig(): Record<string, unknown> {
  return {
    networkInterface: 'eth0',
    containerEngineUrl: 'unix:///run/containerd/containerd.sock',
    diskLimit: 50,
    diskDirectory: '/var/lib/iofog/',
    memoryLimit: 4096,
    cpuLimit: 80,
    logLimit: 10,
    logDirectory: '/var/log/iofog/',
    logFileCount: 10,
    statusFrequency: 10,
    changeFrequency: 20,
    watchdogEnabled: false,
    edgeGuardFrequency: 0,
    gpsDevice: '',
    gpsScanFrequency: 60,
    gpsMode: 'auto',
    latitude: 41.0151,
    longitude: 28.9795,
    logLevel: 'INFO',
    availableDiskThreshold: 20,
    pruningFrequency: 0,
    upgradeScanFrequency: 24,
  };
}

// ───────────────────────────── tokens ─────────────────────────────

/** RFC 4648 base32 without padding, as Edgelet writes token ids (Go's `base32.StdEncoding.WithPadding(NoPadding)`). */
export { base32NoPad };

// Random nonces for jti, cut from one pre-filled 64 KiB buffer: one randomFillSync per 4096 tokens
// instead of a randomBytes(16) call (and its Buffer) per token. A nonce view is only valid until
// the next refill, which is fine: makeJti hashes it immediately.
const NONCES = Buffer.allocUnsafe(64 * 1024);
let nonceAt = NONCES.length;
function nextNonce(): Buffer {
  if (nonceAt + 16 > NONCES.length) {
    randomFillSync(NONCES);
    nonceAt = 0;
  }
  return NONCES.subarray(nonceAt, (nonceAt += 16));
}

/** jti as Edgelet makes it: base32 (no padding) of SHA-256 over the claims plus a 16-byte random nonce. */
export function makeJti(claims: Record<string, unknown>, nonce: Uint8Array = nextNonce()): string {
  return base32NoPad(createHash('sha256').update(JSON.stringify(claims)).update(nonce).digest());
}

/** The claims of an Edgelet token, without `jti`. `now` in seconds. */
export function edgeletClaims(uuid: string, controllerUrl: string, now: number = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  return { sub: uuid, iss: EDGELET_ISSUER, aud: [controllerUrl], iat: now, nbf: now, exp: now + TOKEN_TTL_SEC, tokenUse: 'controller' };
}

/**
 * How to deviate from a correct token, for negative tests. A claim set to `null` is removed
 * (e.g. `{ sub: null }` → no subject); any other value replaces it.
 */
export interface TokenOverrides {
  sub?: string | null;
  iss?: string | null;
  aud?: unknown;
  iat?: number | null;
  nbf?: number | null;
  exp?: number | null;
  jti?: string | null;
  tokenUse?: string | null;
  /** Extra claims merged last (a `null` value removes the claim). */
  claims?: Record<string, unknown>;
  /** Header fields merged over `{alg, typ}`. */
  header?: Record<string, unknown>;
  /** Clock for iat/nbf/exp (seconds). */
  now?: number;
  /** Sign with another Ed25519 key (e.g. `Edgelet.randomKey()`) → AGENT_JWT_SIGNATURE_INVALID. */
  key?: KeyObject | CryptoKey;
  /** `none` → empty signature; `HS256` → HMAC with `secret` (default: the uuid). */
  alg?: 'EdDSA' | 'none' | 'HS256';
  secret?: string;
}

const b64u = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');

/** Builds a compact JWS the way Edgelet does, with optional deviations. `key` is the agent's private key. */
export function signEdgeletToken(uuid: string, controllerUrl: string, key: KeyObject | undefined, o: TokenOverrides = {}): string {
  const claims: Record<string, unknown> = edgeletClaims(uuid, controllerUrl, o.now);
  for (const k of ['sub', 'iss', 'aud', 'iat', 'nbf', 'exp', 'tokenUse'] as const) {
    if (!(k in o) || o[k] === undefined) continue;
    if (o[k] === null) delete claims[k];
    else claims[k] = o[k];
  }
  for (const [k, v] of Object.entries(o.claims ?? {})) {
    if (v === null) delete claims[k];
    else claims[k] = v;
  }
  if (o.jti === undefined) claims.jti = makeJti(claims);
  else if (o.jti !== null) claims.jti = o.jti;
  const alg = o.alg ?? 'EdDSA';
  const header = { alg, typ: 'JWT', ...o.header };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  let sig: string;
  if (alg === 'none') sig = '';
  else if (alg === 'HS256')
    sig = createHmac('sha256', o.secret ?? uuid)
      .update(input)
      .digest('base64url');
  else {
    const k = o.key ? toKeyObject(o.key) : key;
    if (!k) throw new Error('Edgelet: not provisioned (no signing key)');
    sig = ed25519Sign(input, k).toString('base64url');
  }
  return `${input}.${sig}`;
}

// libsodium signs in about half the time of OpenSSL (~28 vs ~52 µs here), which matters for the
// fleet bench: its generator shares the 2-core machine with the server. Ed25519 is deterministic, so
// the signature is byte-for-byte the one node:crypto makes (tests/unit/edgelet-sim.test.ts checks it).
const sodium = (() => {
  try {
    return createRequire(import.meta.url)('sodium-native') as { crypto_sign_detached(sig: Buffer, msg: Buffer, sk: Buffer): void };
  } catch {
    return undefined;
  }
})();
const sodiumKeys = new WeakMap<KeyObject, Buffer>();

/** Ed25519 signature of `input` (ASCII) with the private key `k`. */
export function ed25519Sign(input: string, k: KeyObject): Buffer {
  if (!sodium) return edSign(null, Buffer.from(input), k);
  let sk = sodiumKeys.get(k);
  if (!sk) {
    const jwk = k.export({ format: 'jwk' });
    sk = Buffer.concat([Buffer.from(jwk.d ?? '', 'base64url'), Buffer.from(jwk.x ?? '', 'base64url')]);
    if (sk.length !== 64) return edSign(null, Buffer.from(input), k);
    sodiumKeys.set(k, sk);
  }
  const sig = Buffer.allocUnsafe(64);
  sodium.crypto_sign_detached(sig, Buffer.from(input, 'latin1'), sk);
  return sig;
}

function toKeyObject(k: KeyObject | CryptoKey): KeyObject {
  return k instanceof KeyObject ? k : KeyObject.from(k);
}

/** Decodes a compact JWT without verifying (for assertions). */
export function decodeToken(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; signature: string } {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()),
    claims: JSON.parse(Buffer.from(p ?? '', 'base64url').toString()),
    signature: s ?? '',
  };
}

// ─────────────────────── response classification ───────────────────────

export interface AgentResponse {
  status: number;
  /** Parsed JSON when the body is JSON, else the raw text; undefined when empty. */
  body: any;
  headers: IncomingHttpHeaders;
  /** ms from sending the request to the end of the response (signing excluded). */
  ms: number;
  /** The token sent, if any (so a test can replay it). */
  token?: string;
  /** Set instead of a status when the request failed on the network (status = 0). */
  error?: string;
}

/** 200 with a JSON object, or 204, is success. Anything else (other 2xx included) is an error. */
export function isSuccess(status: number, body: unknown): boolean {
  if (status === 204) return true;
  return status === 200 && typeof body === 'object' && body !== null && !Array.isArray(body);
}

/** Would Edgelet retry this outcome? `status` 0 = network error / timeout. */
export function isRetryable(status: number, body: unknown): boolean {
  if (status === 0) return true;
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (b.retryable === true) return true;
  if (status === 503 || status >= 500) return true;
  if (status === 401) return typeof b.code !== 'string'; // legacy 401 without `code`
  return false;
}

/** `"<status> <code>"` (or name) for error tallies. */
export function errorKey(r: Pick<AgentResponse, 'status' | 'body' | 'error'>): string {
  if (r.status === 0) return `network ${r.error ?? 'error'}`;
  const b = (typeof r.body === 'object' && r.body !== null ? r.body : {}) as Record<string, unknown>;
  const code = typeof b.code === 'string' ? b.code : typeof b.name === 'string' ? b.name : '';
  return `${r.status} ${code}`.trim();
}

// ─────────────────────── status auth gate ───────────────────────

/**
 * Edgelet's deprovision-on-auth-failure gate (status worker only): ≥ 5 consecutive auth failures
 * and ≥ 60 s since the first of the streak → local deprovision. 503 / retryable never count;
 * a success resets the streak.
 */
export class StatusAuthGate {
  streak = 0;
  firstAt = 0;
  constructor(
    readonly minFailures = 5,
    readonly minWindowMs = 60_000,
  ) {}

  static isAuthFailure(status: number, body: unknown): boolean {
    if (status !== 401) return false;
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    return b.retryable !== true;
  }

  /** Records one status PUT outcome; returns true when the agent must deprovision locally. */
  record(status: number, body: unknown, nowMs: number = Date.now()): boolean {
    if (isSuccess(status, body)) {
      this.reset();
      return false;
    }
    if (!StatusAuthGate.isAuthFailure(status, body)) return false;
    if (this.streak === 0) this.firstAt = nowMs;
    this.streak++;
    return this.streak >= this.minFailures && nowMs - this.firstAt >= this.minWindowMs;
  }

  reset(): void {
    this.streak = 0;
    this.firstAt = 0;
  }
}

// ─────────────────────── change cycle plan ───────────────────────

export type CycleAction =
  | 'deleteNode'
  | 'reboot'
  | 'configPull'
  | 'configPush'
  | 'version'
  | 'registries'
  | 'prune'
  | 'volumeMounts'
  | 'microservices'
  | 'execSessions'
  | 'tunnel'
  | 'logs';

/**
 * What Edgelet does with one changes response, in order. `init` = initialization cycle;
 * `skipMicroservices` = a reconcile fetched the list < 120 s ago (only relevant in init).
 */
export function planCycle(flags: Record<string, unknown>, init: boolean, skipMicroservices = false): CycleAction[] {
  const on = (k: string) => flags[k] === true;
  if (!init && on('deleteNode')) return ['deleteNode'];
  const plan: CycleAction[] = [];
  if (!init && on('reboot')) plan.push('reboot');
  if (on('config')) plan.push(init ? 'configPush' : 'configPull');
  if (!init && on('version')) plan.push('version');
  if (on('registries')) plan.push('registries');
  if (!init && on('prune')) plan.push('prune');
  if (on('volumeMounts')) plan.push('volumeMounts');
  if (init ? !skipMicroservices : on('microserviceList') || on('microserviceConfig')) plan.push('microservices');
  if (on('execSessions')) plan.push('execSessions');
  if (!init && on('tunnel')) plan.push('tunnel');
  if (on('microserviceLogs') || on('fogLogs')) plan.push('logs');
  return plan;
}

/** Acknowledge only if every handler succeeded and `lastUpdated` is a non-empty string. */
export function shouldAcknowledge(allHandlersOk: boolean, lastUpdated: unknown): lastUpdated is string {
  return allHandlersOk && typeof lastUpdated === 'string' && lastUpdated !== '';
}

/**
 * Unwrap an `instance-config` / `agent-config` nesting, apply only known keys whose value
 * differs. Returns the keys that changed.
 */
export function applyRemoteConfig(local: Record<string, unknown>, remote: unknown): string[] {
  if (typeof remote !== 'object' || remote === null) return [];
  let r = remote as Record<string, unknown>;
  for (const nest of ['instance-config', 'agent-config']) {
    const inner = r[nest];
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) r = inner as Record<string, unknown>;
  }
  const changed: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (!CONFIG_KEYS.has(k) || v === undefined || v === null) continue;
    if (JSON.stringify(local[k]) !== JSON.stringify(v)) {
      local[k] = v;
      changed.push(k);
    }
  }
  return changed;
}

// ─────────────────────── status body ───────────────────────

export interface LocalContainer {
  containerId: string;
  startTime: number;
  status: string;
  execSessionIds: string[];
  configSignals: number;
}

/** One `microserviceStatus` entry for a running microservice (cpuUsage / memoryUsage are strings). */
export function microserviceStatusEntry(
  uuid: string,
  ms: Record<string, any> | undefined,
  c: LocalContainer,
  now: number,
): Record<string, unknown> {
  const e: Record<string, unknown> = {
    id: uuid,
    status: c.status,
    percentage: 100,
    containerId: c.containerId,
    startTime: c.startTime,
    operatingDuration: now - c.startTime,
    cpuUsage: '0.83',
    memoryUsage: '15728640',
    ipAddress: '10.42.0.7',
  };
  const hc = ms?.healthCheck;
  if (hc && Array.isArray(hc.test) && hc.test.length) e.healthStatus = 'healthy';
  if (c.execSessionIds.length) e.execSessionIds = [...c.execSessionIds];
  return e;
}

export interface StatusInput {
  startedAt: number;
  now: number;
  containers: Map<string, LocalContainer>;
  microservices: Map<string, Record<string, any>>;
  registries: Array<Record<string, unknown>>;
  volumeMounts: Array<Record<string, unknown>>;
  volumeMountLastUpdate: number;
  lastCommandTime: number;
  runtimes: string[];
  version: string;
}

/** The full Edgelet status body. */
export function buildStatusBody(s: StatusInput, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { now } = s;
  return {
    daemonStatus: 'RUNNING',
    daemonOperatingDuration: now - s.startedAt,
    daemonLastStart: s.startedAt,
    warningMessage: '',
    memoryUsage: 61.2,
    diskUsage: 0.4,
    cpuUsage: 2.5,
    memoryViolation: false,
    diskViolation: false,
    cpuViolation: false,
    systemAvailableDisk: 41234567168,
    systemAvailableMemory: 6123456512,
    systemTotalCpu: 7.5,
    microserviceStatus: JSON.stringify(
      [...s.containers].map(([uuid, c]) => microserviceStatusEntry(uuid, s.microservices.get(uuid), c, now)),
    ),
    repositoryCount: s.registries.length,
    repositoryStatus: JSON.stringify(s.registries.map((r) => ({ id: r.id, linkStatus: 'OK' }))),
    systemTime: now,
    lastStatusTime: now,
    ipAddress: '10.0.0.21',
    ipAddressExternal: '203.0.113.7',
    microserviceMessageCounts: '[]',
    lastCommandTime: s.lastCommandTime,
    tunnelStatus: '{}',
    version: s.version,
    isReadyToUpgrade: true,
    isReadyToRollback: false,
    activeVolumeMounts: s.volumeMounts.length,
    volumeMountLastUpdate: s.volumeMountLastUpdate,
    gpsStatus: 'HEALTHY',
    availableRuntimes: s.runtimes,
    ...extra,
  };
}

// ─────────────────────── the simulator ───────────────────────

export interface CycleRecord {
  /** Flags that were true in the changes response. */
  flags: string[];
  /** Handlers in the order they ran. */
  actions: CycleAction[];
  /** Calls after the poll, as "METHOD /agent/path". */
  calls: string[];
  /** Status of each call in `calls`, same order. */
  statuses: number[];
  lastUpdated?: string;
  acknowledged: boolean;
  initialization: boolean;
  /** Every handler succeeded. */
  ok: boolean;
  /** Failures (poll or handler), as "METHOD path → status code". */
  errors: string[];
}

export interface EdgeletOptions {
  archId?: number;
  engine?: string;
  runtimes?: string[];
  version?: string;
  /** A shared keep-alive Agent (http or https, matching the URL). Default: one per instance. */
  agent?: HttpAgent;
  /**
   * Send through this lean keep-alive pool instead of node:http (http: URLs only; the pool must
   * point at the URL's host and port). Same requests on the wire, much less client CPU.
   */
  pool?: LeanHttpPool;
  /** maxSockets of the instance's own Agent (ignored with `agent`). Default 4. */
  maxSockets?: number;
  /** Per-request timeout (Edgelet default 30 s). */
  timeoutMs?: number;
  /** https: skip server certificate verification (Edgelet with secureMode false). */
  insecureTls?: boolean;
  /** Edgelet's retries (4 attempts, back-off base × 1, 2, 4), fresh token each. Default off. */
  retry?: boolean | { attempts?: number; baseMs?: number };
  /** Called when an HTTP attempt is sent (for benches: in-flight counts). */
  onSend?: (method: string, path: string) => void;
  /**
   * How many change-cycle records `cycles` keeps (oldest dropped first). Default: all. The fleet bench
   * keeps a few: at 10,000 agents a full history grows the generator's heap by ~100 MB per minute,
   * and its garbage collector's pauses were counted as request latency.
   */
  cycleHistory?: number;
  /** Called once per completed HTTP attempt (for benches). */
  observe?: (r: { method: string; path: string; status: number; ms: number; body: unknown; error?: string }) => void;
}

export interface RequestOptions {
  body?: unknown;
  /** A raw request body (sent verbatim, e.g. malformed JSON). */
  rawBody?: string;
  /** A specific token (e.g. a captured one to replay); `null` = no Authorization header. */
  token?: string | null;
  /** Deviations for the freshly signed token. */
  overrides?: TokenOverrides;
  /** Send an Authorization header (default: true except for provision). */
  auth?: boolean;
  /** Literal Authorization header value (e.g. "Basic x", "Bearer abc"). */
  authorization?: string;
  headers?: Record<string, string>;
}

/** One Edgelet. `controllerUrl` already contains the API prefix, e.g. http://127.0.0.1:51121/api/v3. */
export class Edgelet {
  uuid = '';
  namespace = '';
  /** The base64 JWK from provision, as the agent persists it. */
  privateKeyB64 = '';
  private key?: KeyObject;
  private initialized = false;
  private lastReconcileAt = 0;
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly ownAgent: boolean;

  /** Desired microservices the agent runs: uuid → the object the Controller sent. */
  readonly running = new Map<string, Record<string, any>>();
  /** Local container state per running microservice. */
  readonly containers = new Map<string, LocalContainer>();
  registries: Array<Record<string, unknown>> = [];
  volumeMounts: Array<Record<string, unknown>> = [];
  volumeMountLastUpdate = 0;
  execSessions: Array<Record<string, unknown>> = [];
  logSessions: Array<Record<string, unknown>> = [];
  tunnel: Record<string, unknown> | null = null;
  /** Last `GET /agent/version` answer with a command (OTA pending). */
  pendingVersion: Record<string, unknown> | null = null;
  localConfig: Record<string, unknown> = defaultLocalConfig();
  /** The most recent change cycles (all of them unless `cycleHistory` is set), oldest first. */
  readonly cycles: CycleRecord[] = [];
  /** Change cycles started so far. */
  cycleCount = 0;
  readonly statusGate = new StatusAuthGate();
  rebooted = 0;
  pruned = 0;
  /** Config-only updates applied to a running container in place (no restart). */
  configSignals = 0;
  /** Containers (re)created, e.g. on rebuild or image change. */
  recreated = 0;
  /** The agent confirmed deleteNode with DELETE /agent/delete-node. */
  deleted = false;
  /** The agent wiped itself locally (delete-node, deprovision, or the status auth gate). */
  wiped = false;
  wipeReason = '';
  lastCommandTime = 0;
  readonly startedAt = Date.now();

  constructor(
    readonly controllerUrl: string,
    readonly opts: EdgeletOptions = {},
  ) {
    this.url = new URL(controllerUrl.replace(/\/+$/, ''));
    this.ownAgent = !opts.agent;
    this.agent =
      opts.agent ??
      Edgelet.createAgent({ maxSockets: opts.maxSockets ?? 4, https: this.url.protocol === 'https:', insecureTls: opts.insecureTls });
  }

  /** A keep-alive Agent to share across many simulated agents. */
  static createAgent(o: { maxSockets?: number; https?: boolean; insecureTls?: boolean } = {}): HttpAgent {
    const common = { keepAlive: true, maxSockets: o.maxSockets ?? 256, scheduling: 'fifo' as const };
    return o.https ? new HttpsAgent({ ...common, rejectUnauthorized: !o.insecureTls }) : new HttpAgent(common);
  }

  /** A fresh Ed25519 private key (not the agent's) for wrong-key tests. */
  static randomKey(): KeyObject {
    return generateKeyPairSync('ed25519').privateKey;
  }

  /** Closes the instance's own Agent (a shared one is left to its owner). */
  close(): void {
    if (this.ownAgent) this.agent.destroy();
  }

  get provisioned(): boolean {
    return !!this.key;
  }

  // ── provisioning ──

  /** POST /agent/provision (no auth) → {uuid, privateKey, namespace}; imports the key with jose. */
  async provision(
    key: string,
    archId: number = this.opts.archId ?? 1,
    engine: string = this.opts.engine ?? 'edgelet',
  ): Promise<AgentResponse> {
    const res = await this.request('POST', '/agent/provision', { body: { key, type: archId, engine }, auth: false });
    if (res.status === 200 && res.body && typeof res.body.privateKey === 'string') {
      await this.loadCredentials(res.body);
      this.initialized = false;
      this.lastReconcileAt = 0;
      this.wiped = false;
      this.wipeReason = '';
      this.deleted = false;
      this.statusGate.reset();
      this.pendingVersion = null;
    }
    return res;
  }

  /** Loads persisted credentials (what Edgelet keeps in its SQLite store). */
  async loadCredentials(c: { uuid: string; privateKey: string; namespace?: string }): Promise<void> {
    const jwk = JSON.parse(Buffer.from(c.privateKey, 'base64').toString('utf8')) as JWK;
    const imported = await importJWK(jwk, 'EdDSA');
    this.key = imported instanceof Uint8Array ? undefined : toKeyObject(imported as CryptoKey | KeyObject);
    if (!this.key) throw new Error('Edgelet: provision returned a key that is not an Ed25519 JWK');
    this.uuid = c.uuid;
    this.namespace = c.namespace ?? '';
    this.privateKeyB64 = c.privateKey;
  }

  // ── tokens and HTTP ──

  /** A fresh Edgelet token (or a deliberately bad one, see TokenOverrides). */
  signToken(overrides: TokenOverrides = {}): string {
    return signEdgeletToken(this.uuid, this.controllerUrl, this.key, overrides);
  }

  /** Async alias of signToken() (older callers). */
  async token(overrides: TokenOverrides = {}): Promise<string> {
    return this.signToken(overrides);
  }

  /**
   * One call to `{controllerUrl}{path}` with Edgelet's headers. Signs a fresh token unless
   * `token` is given. Never throws on HTTP/network errors: status 0 + `error` for the latter.
   */
  async request(method: string, path: string, o: RequestOptions = {}): Promise<AgentResponse> {
    const retry = this.opts.retry;
    const attempts = retry ? (typeof retry === 'object' ? (retry.attempts ?? 4) : 4) : 1;
    const baseMs = typeof retry === 'object' ? (retry.baseMs ?? 1000) : 1000;
    let res!: AgentResponse;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      res = await this.attempt(method, path, o);
      // A keep-alive socket closed by the server while idle: the request never reached it.
      if (res.status === 0 && res.error === 'ECONNRESET_REUSED') res = await this.attempt(method, path, o);
      if (attempt === attempts || !isRetryable(res.status, res.body) || o.token !== undefined) break;
      // sleep-ok: this is Edgelet's own back-off between retries, the behaviour being simulated.
      await new Promise((r) => setTimeout(r, Math.min(30_000, baseMs * 2 ** (attempt - 1))));
    }
    if (res.error === 'ECONNRESET_REUSED') res.error = 'ECONNRESET';
    return res;
  }

  /** Older signature: request(method, path, {body}). */
  http(method: string, path: string, body?: unknown, auth = true): Promise<AgentResponse> {
    return this.request(method, path, { body, auth });
  }

  private attempt(method: string, path: string, o: RequestOptions): Promise<AgentResponse> {
    const auth = o.auth ?? path !== '/agent/provision';
    let token: string | undefined;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'request-id': epochNs(),
      ...o.headers,
    };
    if (o.authorization !== undefined) headers.authorization = o.authorization;
    else if (auth && o.token !== null) {
      token = o.token ?? this.signToken(o.overrides);
      headers.authorization = `Bearer ${token}`;
    }
    const payload = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    const https = this.url.protocol === 'https:';
    const fullPath = this.url.pathname.replace(/\/+$/, '') + path;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    this.opts.onSend?.(method, path);
    let start = 0;
    const done = (r: AgentResponse) => {
      this.opts.observe?.({ method, path, status: r.status, ms: r.ms, body: r.body, error: r.error });
      return r;
    };
    const pool = this.opts.pool;
    if (pool && !https) {
      start = performance.now();
      return pool.request({ method, path: fullPath, headers, body: payload, timeoutMs }).then(
        (res) =>
          done({
            status: res.status,
            body: parseBody(res.body.toString('utf8')),
            headers: res.headers as IncomingHttpHeaders,
            ms: performance.now() - start,
            token,
          }),
        // retryable: a reused socket closed before any response byte (the request may not have reached the server).
        (err: LeanHttpError) =>
          done({
            status: 0,
            body: undefined,
            headers: {},
            ms: performance.now() - start,
            token,
            error: err.retryable ? 'ECONNRESET_REUSED' : (err.code ?? err.message),
          }),
      );
    }
    const send = https ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      start = performance.now();
      const req = send(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || (https ? 443 : 80),
          method,
          path: fullPath,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', (err) =>
            resolve(
              done({
                status: 0,
                body: undefined,
                headers: {},
                ms: performance.now() - start,
                token,
                error: (err as NodeJS.ErrnoException).code ?? err.message,
              }),
            ),
          );
          res.on('end', () => {
            const body = parseBody(Buffer.concat(chunks).toString('utf8'));
            resolve(done({ status: res.statusCode ?? 0, body, headers: res.headers, ms: performance.now() - start, token }));
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const reused = (req as unknown as { reusedSocket?: boolean }).reusedSocket && err.code === 'ECONNRESET';
        resolve(
          done({
            status: 0,
            body: undefined,
            headers: {},
            ms: performance.now() - start,
            token,
            error: reused ? 'ECONNRESET_REUSED' : (err.code ?? err.message),
          }),
        );
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  // ── agent calls ──

  /** GET {controllerUrl}/status — the reachability probe (Bearer sent once provisioned; ignored by the server). */
  probe(): Promise<AgentResponse> {
    return this.request('GET', '/status', { auth: this.provisioned });
  }

  /** GET /agent/config and apply the keys whose value differs. */
  async getConfig(): Promise<AgentResponse> {
    const r = await this.request('GET', '/agent/config');
    if (isSuccess(r.status, r.body) && r.status === 200) applyRemoteConfig(this.localConfig, r.body);
    return r;
  }

  /** PATCH /agent/config with the local config (or the given body). */
  patchConfig(cfg: Record<string, unknown> = this.localConfig): Promise<AgentResponse> {
    return this.request('PATCH', '/agent/config', { body: cfg });
  }

  patchGps(latitude: number, longitude: number): Promise<AgentResponse> {
    return this.request('PATCH', '/agent/config/gps', { body: { latitude, longitude } });
  }

  /** The status body Edgelet would send now. */
  statusBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return buildStatusBody(
      {
        startedAt: this.startedAt,
        now: Date.now(),
        containers: this.containers,
        microservices: this.running,
        registries: this.registries,
        volumeMounts: this.volumeMounts,
        volumeMountLastUpdate: this.volumeMountLastUpdate,
        lastCommandTime: this.lastCommandTime,
        runtimes: this.opts.runtimes ?? ['runc'],
        version: this.opts.version ?? '1.0.3',
      },
      extra,
    );
  }

  /** PUT /agent/status; feeds the auth gate, which wipes the agent locally when it trips. */
  async putStatus(extra: Record<string, unknown> = {}): Promise<AgentResponse> {
    const r = await this.request('PUT', '/agent/status', { body: this.statusBody(extra) });
    if (this.statusGate.record(r.status, r.body)) this.wipe('status auth gate');
    return r;
  }

  /** Older name of putStatus(). */
  reportStatus(extra: Record<string, unknown> = {}): Promise<AgentResponse> {
    return this.putStatus(extra);
  }

  pollChanges(): Promise<AgentResponse> {
    return this.request('GET', '/agent/config/changes');
  }

  ackChanges(lastUpdated: unknown): Promise<AgentResponse> {
    return this.request('PATCH', '/agent/config/changes', { body: { lastUpdated } });
  }

  /** GET /agent/microservices and reconcile the running set. */
  async getMicroservices(): Promise<AgentResponse> {
    const r = await this.request('GET', '/agent/microservices');
    if (r.status === 200 && isSuccess(r.status, r.body) && Array.isArray(r.body.microservices))
      this.reconcileMicroservices(r.body.microservices);
    return r;
  }

  getMicroservice(uuid: string): Promise<AgentResponse> {
    return this.request('GET', `/agent/microservices/${encodeURIComponent(uuid)}`);
  }

  async getRegistries(): Promise<AgentResponse> {
    const r = await this.request('GET', '/agent/registries');
    if (r.status === 200 && Array.isArray(r.body?.registries)) this.registries = r.body.registries;
    return r;
  }

  async getVolumeMounts(): Promise<AgentResponse> {
    const r = await this.request('GET', '/agent/volumeMounts');
    if (r.status === 200 && Array.isArray(r.body?.volumeMounts)) {
      this.volumeMounts = r.body.volumeMounts;
      this.volumeMountLastUpdate = Date.now();
    }
    return r;
  }

  /** GET /agent/version: 200 = a pending OTA command; 404 = none. */
  async getVersion(): Promise<AgentResponse> {
    const r = await this.request('GET', '/agent/version');
    if (r.status === 200 && isSuccess(r.status, r.body)) this.pendingVersion = r.body;
    return r;
  }

  /** GET /agent/tunnel: 200 {tunnel}; 404 = no tunnel. */
  async getTunnel(): Promise<AgentResponse> {
    const r = await this.request('GET', '/agent/tunnel');
    if (r.status === 200 && isSuccess(r.status, r.body)) this.tunnel = r.body.tunnel ?? null;
    else if (r.status === 404) this.tunnel = null;
    return r;
  }

  async getExecSessions(): Promise<AgentResponse> {
    const r = await this.request('GET', '/agent/exec/sessions');
    if (r.status === 200 && Array.isArray(r.body?.execSessions)) this.execSessions = r.body.execSessions;
    return r;
  }

  async getLogSessions(): Promise<AgentResponse> {
    const r = await this.request('GET', '/agent/logs/sessions');
    if (r.status === 200 && Array.isArray(r.body?.logSessions)) this.logSessions = r.body.logSessions;
    return r;
  }

  registerController(body: Record<string, unknown>): Promise<AgentResponse> {
    return this.request('POST', '/agent/controller/register', { body });
  }

  /** DELETE /agent/delete-node; on success the agent wipes itself locally. */
  async deleteNode(): Promise<AgentResponse> {
    const r = await this.request('DELETE', '/agent/delete-node');
    if (isSuccess(r.status, r.body)) {
      this.deleted = true;
      this.wipe('delete-node');
    }
    return r;
  }

  /** POST /agent/deprovision {microserviceUuids} (signed with the in-memory key), then a local wipe. */
  async deprovision(uuids: string[] = [...this.running.keys()]): Promise<AgentResponse> {
    const r = await this.request('POST', '/agent/deprovision', { body: { microserviceUuids: uuids } });
    this.wipe('deprovision');
    return r;
  }

  /**
   * Local wipe: workloads stopped, desired state dropped. The signing key stays in memory so a
   * test can still sign and observe the server's refusal; `wiped` tells that Edgelet would stop.
   */
  wipe(reason: string): void {
    this.wiped = true;
    this.wipeReason = reason;
    this.running.clear();
    this.containers.clear();
    this.execSessions = [];
    this.logSessions = [];
  }

  // ── desired state ──

  /** Apply a complete desired list: absent or `delete: true` → stopped and removed. */
  reconcileMicroservices(list: Array<Record<string, any>>): void {
    const now = Date.now();
    const keep = new Set<string>();
    for (const m of list) {
      if (typeof m?.uuid !== 'string') continue; // Edgelet rejects entries without uuid
      if (m.delete) continue;
      keep.add(m.uuid);
      const prev = this.running.get(m.uuid);
      const c = this.containers.get(m.uuid);
      const needsContainer = !prev || !c || m.rebuild === true || prev.imageId !== m.imageId;
      if (needsContainer) {
        this.containers.set(m.uuid, {
          containerId: randomBytes(6).toString('hex'),
          startTime: now,
          status: 'RUNNING',
          execSessionIds: c?.execSessionIds ?? [],
          configSignals: 0,
        });
        this.recreated++;
      } else if (prev.config !== m.config) {
        c.configSignals++;
        this.configSignals++;
      }
      this.running.set(m.uuid, m);
    }
    for (const uuid of [...this.running.keys()]) {
      if (!keep.has(uuid)) {
        this.running.delete(uuid);
        this.containers.delete(uuid);
      }
    }
  }

  // ── sequences ──

  /** The post-provision sequence: registries → volumeMounts → microservices → PATCH config → PUT status. */
  async boot(): Promise<AgentResponse[]> {
    const out: AgentResponse[] = [];
    out.push(await this.getRegistries());
    out.push(await this.getVolumeMounts());
    out.push(await this.getMicroservices());
    out.push(await this.patchConfig());
    out.push(await this.putStatus());
    return out;
  }

  /**
   * Restart of an already provisioned agent: probe, controller reconcile
   * (registries, volume mounts, microservices, PATCH config); the next change cycle is an
   * initialization cycle that skips the microservice list (fetched < 120 s ago).
   */
  async restart(): Promise<AgentResponse[]> {
    this.initialized = false;
    const out: AgentResponse[] = [await this.probe()];
    out.push(await this.getRegistries());
    out.push(await this.getVolumeMounts());
    const ms = await this.getMicroservices();
    out.push(ms);
    if (isSuccess(ms.status, ms.body)) this.lastReconcileAt = Date.now();
    out.push(await this.patchConfig());
    return out;
  }

  /** True until the first successful change cycle after provision / restart. */
  get initializing(): boolean {
    return !this.initialized;
  }

  /**
   * One changes cycle as Edgelet runs it (Edgelet's handler order, its initialization rules, the acknowledgement).
   * Never throws on HTTP errors; the record says what happened.
   */
  async changeCycle(): Promise<CycleRecord> {
    const init = !this.initialized;
    const record: CycleRecord = {
      flags: [],
      actions: [],
      calls: [],
      statuses: [],
      acknowledged: false,
      initialization: init,
      ok: false,
      errors: [],
    };
    this.cycleCount++;
    this.cycles.push(record);
    if (this.opts.cycleHistory !== undefined && this.cycles.length > this.opts.cycleHistory)
      this.cycles.splice(0, this.cycles.length - this.opts.cycleHistory);
    const poll = await this.pollChanges();
    if (!isSuccess(poll.status, poll.body) || poll.status !== 200) {
      record.errors.push(`GET /agent/config/changes → ${errorKey(poll)}`);
      return record;
    }
    const f = poll.body as Record<string, unknown>;
    record.flags = Object.keys(f).filter((k) => f[k] === true);
    if (typeof f.lastUpdated === 'string') record.lastUpdated = f.lastUpdated;
    const skipMs = init && this.lastReconcileAt > 0 && Date.now() - this.lastReconcileAt < 120_000;
    const plan = planCycle(f, init, skipMs);
    let ok = true;
    const track = (r: AgentResponse, method: string, path: string, success: boolean) => {
      record.calls.push(`${method} ${path}`);
      record.statuses.push(r.status);
      if (!success) record.errors.push(`${method} ${path} → ${errorKey(r)}`);
      return success;
    };
    for (const action of plan) {
      record.actions.push(action);
      switch (action) {
        case 'deleteNode': {
          const r = await this.deleteNode();
          record.ok = track(r, 'DELETE', '/agent/delete-node', isSuccess(r.status, r.body));
          this.lastCommandTime = Date.now();
          return record; // exclusive; no acknowledgement needed
        }
        case 'reboot':
          this.rebooted++;
          break;
        case 'prune':
          this.pruned++;
          break;
        case 'configPull': {
          const r = await this.getConfig();
          ok = track(r, 'GET', '/agent/config', r.status === 200 && isSuccess(r.status, r.body)) && ok;
          break;
        }
        case 'configPush': {
          const r = await this.patchConfig();
          ok = track(r, 'PATCH', '/agent/config', isSuccess(r.status, r.body)) && ok;
          break;
        }
        case 'version': {
          const r = await this.getVersion();
          ok = track(r, 'GET', '/agent/version', isSuccess(r.status, r.body) || r.status === 404) && ok;
          break;
        }
        case 'registries': {
          const r = await this.getRegistries();
          ok = track(r, 'GET', '/agent/registries', r.status === 200 && isSuccess(r.status, r.body)) && ok;
          break;
        }
        case 'volumeMounts': {
          // Errors of this handler are logged and swallowed by Edgelet.
          const r = await this.getVolumeMounts();
          track(r, 'GET', '/agent/volumeMounts', true);
          break;
        }
        case 'microservices': {
          const r = await this.getMicroservices();
          ok = track(r, 'GET', '/agent/microservices', r.status === 200 && isSuccess(r.status, r.body)) && ok;
          break;
        }
        case 'execSessions': {
          const r = await this.getExecSessions();
          ok = track(r, 'GET', '/agent/exec/sessions', isSuccess(r.status, r.body)) && ok;
          break;
        }
        case 'tunnel': {
          const r = await this.getTunnel();
          ok = track(r, 'GET', '/agent/tunnel', isSuccess(r.status, r.body) || r.status === 404) && ok;
          break;
        }
        case 'logs': {
          const r = await this.getLogSessions();
          ok = track(r, 'GET', '/agent/logs/sessions', isSuccess(r.status, r.body)) && ok;
          break;
        }
      }
    }
    if (plan.length) this.lastCommandTime = Date.now();
    record.ok = ok;
    if (shouldAcknowledge(ok, f.lastUpdated)) {
      const ack = await this.ackChanges(f.lastUpdated);
      record.acknowledged = track(ack, 'PATCH', '/agent/config/changes', isSuccess(ack.status, ack.body));
    }
    if (ok) this.initialized = true;
    return record;
  }
}

/** A response body: parsed JSON when it is JSON, else the text; undefined when empty. */
function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Unix time in nanoseconds, decimal (Edgelet's Request-Id). */
function epochNs(): string {
  return (BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n).toString();
}
