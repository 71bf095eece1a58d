import * as v from 'valibot';
import { passwordPolicyProblem } from './auth/password-policy';
import type { AdmissionConfig } from './http/admission';
import { parseTrustProxy, type TrustProxy } from './http/client-ip';

/**
 * Every environment variable the Controller reads, in one schema.
 * Parsed once, at the runtime entry; nothing else in the code reads the environment.
 * Precedence: a set variable wins; an unset or empty one takes the default below.
 */

const bool = (fallback: boolean) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.trim(),
    v.toLowerCase(),
    v.picklist(['true', 'false', '1', '0', 'yes', 'no'], 'must be one of true, false, 1, 0, yes, no'),
    v.transform((s) => s === 'true' || s === '1' || s === 'yes'),
  );

const int = (fallback: number, min: number, max: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.trim(),
    v.regex(/^\d+$/, `must be a whole number between ${min} and ${max}`),
    v.transform(Number),
    v.number(),
    v.minValue(min, `must be a whole number between ${min} and ${max}`),
    v.maxValue(max, `must be a whole number between ${min} and ${max}`),
  );

const optionalText = v.pipe(
  v.optional(v.string()),
  v.transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim())),
);

const url = (protocols: RegExp, rule: string) => v.pipe(v.string(), v.trim(), v.url(rule), v.regex(protocols, rule));

export const EnvSchema = v.object({
  API_PORT: int(51121, 0, 65535),
  API_HOST: v.pipe(v.optional(v.string(), '0.0.0.0'), v.trim(), v.minLength(1, 'must not be empty')),
  CONTROLLER_PUBLIC_URL: v.optional(url(/^https?:\/\//, 'must be an absolute http(s) URL such as https://controller.example.com')),
  AUTH_MODE: v.pipe(
    v.optional(v.string(), 'embedded'),
    v.trim(),
    v.toLowerCase(),
    v.picklist(['embedded', 'external'], 'must be "embedded" or "external"'),
  ),
  OIDC_ISSUER_URL: v.optional(url(/^https?:\/\//, 'must be an absolute http(s) URL, the issuer of the external IdP')),
  OIDC_CLIENT_SECRET: optionalText,
  CONSOLE_URL: v.optional(url(/^https?:\/\//, 'must be an absolute http(s) URL')),
  OIDC_CONSOLE_CLIENT_ID: optionalText,
  OIDC_CONSOLE_REDIRECT_URIS: v.optional(
    v.pipe(
      v.string(),
      v.transform((s) =>
        s
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
      ),
      v.array(
        v.pipe(
          v.string(),
          v.url('must be a comma-separated list of absolute URLs'),
          v.regex(/^https?:\/\//, 'must be a comma-separated list of absolute http(s) URLs'),
        ),
      ),
    ),
  ),
  OIDC_REDIRECT_URIS: v.optional(
    v.pipe(
      v.string(),
      v.transform((s) =>
        s
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
      ),
      v.array(
        v.pipe(
          v.string(),
          v.url('must be a comma-separated list of absolute URLs'),
          v.regex(/^https?:\/\//, 'must be a comma-separated list of absolute http(s) URLs'),
        ),
      ),
    ),
  ),
  AUTH_INSECURE_ALLOW_HTTP: bool(false),
  OIDC_CLIENT_ID: v.pipe(v.optional(v.string(), 'controller'), v.trim(), v.minLength(1, 'must not be empty')),
  OIDC_BOOTSTRAP_ADMIN_USERNAME: optionalText,
  OIDC_BOOTSTRAP_ADMIN_PASSWORD: v.optional(v.string()),
  AUTH_ACCESS_TOKEN_TTL_SECONDS: int(900, 30, 86_400),
  AUTH_REFRESH_TOKEN_TTL_SECONDS: int(3600, 60, 30 * 86_400),
  AUTH_RATE_LIMIT_ENABLED: bool(true),
  AUTH_RATE_LIMIT_MAX_REQUESTS: int(60, 1, 1_000_000),
  AUTH_RATE_LIMIT_WINDOW_MS: int(60_000, 1000, 86_400_000),
  LOG_LEVEL: v.pipe(
    v.optional(v.string(), 'info'),
    v.trim(),
    v.toLowerCase(),
    v.picklist(['debug', 'info', 'warn', 'error', 'silent'], 'must be one of debug, info, warn, error, silent'),
  ),
  TRUST_PROXY: v.pipe(
    v.optional(v.string(), 'false'),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        return parseTrustProxy(dataset.value);
      } catch (err) {
        addIssue({ message: `must be false, true, a hop count or a comma-separated list of proxy IPs/CIDRs: ${(err as Error).message}` });
        return NEVER;
      }
    }),
  ),
  TLS_PATH_CERT: optionalText,
  TLS_PATH_KEY: optionalText,
  TLS_PATH_INTERMEDIATE_CERT: optionalText,
  TLS_BASE64_CERT: optionalText,
  TLS_BASE64_KEY: optionalText,
  TLS_BASE64_INTERMEDIATE_CERT: optionalText,
  DB_URL: v.pipe(
    v.optional(v.string(), 'file:./data/controller.db'),
    v.trim(),
    v.regex(
      /^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/|postgres(ql)?:\/\/)/,
      'must start with file:, libsql://, http(s)://, ws(s)://, postgres:// or postgresql://',
    ),
  ),
  DB_AUTH_TOKEN: optionalText,
  DB_BUSY_TIMEOUT_MS: int(100, 0, 60_000),
  DB_WRITE_WAIT_MS: int(5000, 10, 120_000),
  // PostgreSQL only: connections this instance may open (each instance has its own pool).
  DB_POOL_MAX: int(10, 1, 1000),
  ENCRYPTION_KEY: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.regex(/^[A-Za-z0-9+/_-]{43}=?$/, 'must be 32 random bytes encoded as base64 (44 characters), e.g. from `openssl rand -base64 32`'),
    ),
  ),
  ENCRYPTION_KEY_FILE: v.pipe(v.optional(v.string(), './data/encryption.key'), v.trim(), v.minLength(1, 'must not be empty')),
  MAX_JSON_BODY_BYTES: int(1_048_576, 1024, 256 * 1_048_576),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100, 120_000),
  JOBS_ENABLED: bool(true),
  // Fog platform tasks the reconcile worker works at once (key generation runs on the thread pool).
  RECONCILE_CONCURRENCY: int(4, 1, 64),
  ADMISSION_ENABLED: bool(true),
  ADMISSION_MAX_QUEUE_MS: int(500, 20, 60_000),
  ADMISSION_MAX_AGENT_INFLIGHT: int(4096, 1, 1_000_000),
  ADMISSION_MAX_CONTROL_INFLIGHT: int(512, 1, 1_000_000),
  ADMISSION_RETRY_AFTER_SECONDS: int(5, 1, 3600),
  LOG_SLOW_REQUEST_MS: int(500, 0, 3_600_000),
  RBAC_API_VERSION: v.pipe(
    v.optional(v.string(), 'datasance.com/v3'),
    v.trim(),
    v.picklist(['datasance.com/v3', 'iofog.org/v3'], 'must be datasance.com/v3 or iofog.org/v3'),
  ),
  CONTROLLER_UUID: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.toLowerCase(),
      v.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a UUID'),
    ),
  ),
  CONTROLLER_HOST: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(1024, 'must be at most 1024 characters'))),
  CONTROLLER_INACTIVE_THRESHOLD_SECONDS: int(300, 30, 86_400),
  AUDIT_ENABLED: bool(true),
  AUDIT_CAPTURE_IP: bool(true),
  EVENT_RETENTION_DAYS: int(7, 0, 3650),
  WS_PING_INTERVAL: int(30_000, 100, 600_000),
  WS_SECURITY_MAX_PAYLOAD: int(1_048_576, 1024, 64 * 1_048_576),
  WS_SECURITY_MAX_REQUESTS_PER_MINUTE: int(50, 1, 1_000_000),
  WS_SECURITY_MAX_CONNECTIONS_PER_IP: int(100, 1, 1_000_000),
  WS_SECURITY_MAX_FAILED_PER_MINUTE: int(30, 1, 1_000_000),
  WS_EXEC_MAX_CONCURRENT_PER_RESOURCE: int(5, 1, 1_000_000),
  WS_LOG_MAX_CONCURRENT_PER_RESOURCE: int(5, 1, 1_000_000),
  WS_EXEC_PENDING_TIMEOUT_MS: int(60_000, 100, 3_600_000),
  WS_LOG_PENDING_TIMEOUT_MS: int(120_000, 100, 3_600_000),
  WS_EXEC_MAX_DURATION_MS: int(28_800_000, 1000, 7 * 86_400_000),
  WS_LOG_IDLE_TIMEOUT_MS: int(7_200_000, 1000, 7 * 86_400_000),
  WS_LOG_TAIL_MAX_LINES: int(5000, 1, 1_000_000),
  WS_DRAIN_TIMEOUT_MS: int(30_000, 100, 600_000),
  WS_CLEANUP_INTERVAL: int(30_000, 100, 3_600_000),
  WS_CLOSE_RESPONSE_TIMEOUT: int(5000, 100, 60_000),
  CERT_RENEW_BEFORE_DAYS: int(30, 0, 3650),
  BRIDGE_PORTS_RANGE: v.pipe(
    v.optional(v.string(), '10024-65535'),
    v.trim(),
    v.regex(/^\d{1,5}-\d{1,5}$/, 'must be a port range like 10024-65535'),
    v.transform((r) => r.split('-').map(Number) as [number, number]),
    v.check(([lo, hi]) => lo >= 1 && hi <= 65535 && lo <= hi, 'must be a port range within 1-65535, low before high'),
  ),
  // One URL, or the WebSocket listeners of every node of a NATS cluster, comma-separated: the client
  // fails over between them, so the loss of one node does not stop the relay.
  NATS_RELAY_URL: v.optional(
    v.pipe(
      v.string(),
      v.transform((list) => list.split(',').map((u) => u.trim())),
      v.check(
        (urls) => urls.every((u) => /^wss?:\/\/[^\s,]+$/.test(u)),
        'must be ws:// or wss:// URLs of NATS WebSocket listeners, comma-separated',
      ),
      v.check((urls) => new Set(urls).size === urls.length, 'lists the same URL twice'),
    ),
  ),
  NATS_RELAY_CREDS_FILE: optionalText,
  CONTROLLER_NAMESPACE: v.pipe(
    v.optional(v.string(), 'iofog'),
    v.trim(),
    v.regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label (lower-case letters, digits, "-")'),
  ),
});

export type Env = v.InferOutput<typeof EnvSchema>;

export interface TlsSource {
  cert: { path?: string; base64?: string };
  key: { path?: string; base64?: string };
  intermediate?: { path?: string; base64?: string };
}

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  issuer: string;
  authMode: 'embedded' | 'external';
  /** Where browser logins land (`{consoleUrl}/login#…`) and whose `/login/oauth` page drives the interaction; default: the Controller itself. */
  consoleUrl?: string;
  /** Embedded issuer: when set, the token endpoint also requires this client secret. */
  clientSecret?: string;
  /** Embedded issuer: redirect URIs accepted for the client besides this Controller's own callback (e.g. Controllers using it as their IdP). */
  extraRedirectUris: string[];
  /** Optional public (PKCE, no secret) client for a browser console, with its exact redirect URIs. */
  consoleClient?: { id: string; redirectUris: string[] };
  /** External mode: the IdP whose access tokens are accepted (aud must contain `clientId`). */
  external?: { issuerUrl: string; clientSecret?: string };
  clientId: string;
  bootstrapAdmin?: { username: string; password: string };
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  authRateLimit: { enabled: boolean; max: number; windowMs: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Which hops in front of the Controller are its own proxies (see src/http/client-ip.ts). */
  trustProxy: TrustProxy;
  tls?: TlsSource;
  db: { url: string; authToken?: string; busyTimeoutMs: number; writeWaitMs: number; poolMax: number };
  encryptionKey?: string;
  encryptionKeyFile: string;
  maxJsonBodyBytes: number;
  shutdownTimeoutMs: number;
  jobsEnabled: boolean;
  /** Fog platform tasks worked at once by the reconcile worker. */
  reconcileConcurrency: number;
  /** Load shedding (src/http/admission.ts). */
  admission: AdmissionConfig;
  /** Agent requests are logged at debug unless they fail or take at least this long. */
  logSlowRequestMs: number;
  /** Returned to agents at provisioning; they name local resources with it. */
  namespace: string;
  /** This replica in `/cluster/controllers`: a stable uuid (else one kept next to the key file), advertised host. */
  cluster: { uuid?: string; host?: string; inactiveThresholdSec: number };
  /** NATS is part of this Controller (trust chain, per-fog servers/leaves, microservice access): `HEAD /capabilities/nats` → 204. */
  natsEnabled: boolean;
  /** `apiVersion` reported on roles, role bindings and service accounts. */
  rbacApiVersion: string;
  /** Audit log: capture on/off, record client IPs, days kept by the cleanup job (0 = keep forever). */
  audit: { enabled: boolean; captureIp: boolean; retentionDays: number };
  /** Exec/log WebSocket sessions and their cross-instance relay. */
  ws: WsConfig;
  /** The certificate-renewal job renews Controller-signed leaves this many days before expiry (0 = off). */
  certRenewBeforeDays: number;
  /** Router TCP-bridge ports handed to services, inclusive. */
  bridgePorts: [number, number];
}

export interface WsConfig {
  pingIntervalMs: number;
  maxPayload: number;
  /** Authenticated upgrades per principal (user or fog) per minute. */
  maxRequestsPerMinute: number;
  /** Open session sockets per authenticated principal (the variable keeps its upstream name). */
  maxConnectionsPerIp: number;
  /** Failed or anonymous upgrades per client IP per minute, before credential-less upgrades are refused unchecked. */
  maxFailedPerMinute: number;
  execMaxPerResource: number;
  logMaxPerResource: number;
  execPendingMs: number;
  logPendingMs: number;
  execMaxDurationMs: number;
  logIdleMs: number;
  tailMaxLines: number;
  drainTimeoutMs: number;
  cleanupIntervalMs: number;
  closeResponseTimeoutMs: number;
  /** NATS relay between instances; absent = sessions pair on one instance only. */
  relay?: { urls: string[]; credsFile?: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}

/** Parse the environment; throws ConfigError whose message is one line naming the variable and the rule. */
export function loadConfig(raw: Record<string, string | undefined>): Config {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(EnvSchema.entries)) {
    const value = raw[key];
    // An empty variable means "unset": `FOO= npm start` must not fail on a blank value.
    input[key] = value === undefined || value.trim() === '' ? undefined : value;
  }
  const result = v.safeParse(EnvSchema, input);
  if (!result.success) {
    const issue = result.issues[0];
    const name = issue.path?.map((p) => String(p.key)).join('.') ?? 'environment';
    const got = issue.input === undefined ? 'unset' : JSON.stringify(issue.input);
    throw new ConfigError(`invalid configuration: ${name} ${issue.message} (got ${got})`);
  }
  const env = result.output;
  const publicUrl = (env.CONTROLLER_PUBLIC_URL ?? `http://localhost:${env.API_PORT}`).replace(/\/+$/, '');
  const parsed = new URL(publicUrl);
  if (parsed.protocol === 'http:' && !isLoopback(parsed.hostname) && !env.AUTH_INSECURE_ALLOW_HTTP) {
    throw new ConfigError(
      'invalid configuration: CONTROLLER_PUBLIC_URL must be https:// unless it is a loopback address or AUTH_INSECURE_ALLOW_HTTP=true',
    );
  }
  let externalIssuer: string | undefined;
  if (env.AUTH_MODE === 'external') {
    if (!env.OIDC_ISSUER_URL) throw new ConfigError('invalid configuration: OIDC_ISSUER_URL must be set when AUTH_MODE=external');
    externalIssuer = env.OIDC_ISSUER_URL.replace(/\/+$/, '');
    const host = new URL(externalIssuer).hostname;
    if (externalIssuer.startsWith('http:') && !isLoopback(host) && !env.AUTH_INSECURE_ALLOW_HTTP) {
      throw new ConfigError(
        'invalid configuration: OIDC_ISSUER_URL must be https:// unless it is a loopback address or AUTH_INSECURE_ALLOW_HTTP=true',
      );
    }
  }
  const admin = env.OIDC_BOOTSTRAP_ADMIN_USERNAME;
  const adminPassword = env.OIDC_BOOTSTRAP_ADMIN_PASSWORD;
  if (Boolean(admin) !== Boolean(adminPassword)) {
    throw new ConfigError('invalid configuration: OIDC_BOOTSTRAP_ADMIN_USERNAME and OIDC_BOOTSTRAP_ADMIN_PASSWORD must be set together');
  }
  // Checked here so a bad bootstrap password stops the start with one line instead of a Controller nobody can log in to.
  const adminPasswordProblem = adminPassword ? passwordPolicyProblem(adminPassword) : undefined;
  if (adminPasswordProblem) {
    throw new ConfigError(
      `invalid configuration: OIDC_BOOTSTRAP_ADMIN_PASSWORD does not meet the password policy: ${adminPasswordProblem}`,
    );
  }
  const certSet = Boolean(env.TLS_PATH_CERT || env.TLS_BASE64_CERT);
  const keySet = Boolean(env.TLS_PATH_KEY || env.TLS_BASE64_KEY);
  if (certSet !== keySet) {
    throw new ConfigError(
      `invalid configuration: ${certSet ? 'TLS_PATH_KEY or TLS_BASE64_KEY' : 'TLS_PATH_CERT or TLS_BASE64_CERT'} must be set together with the TLS certificate/key it pairs with`,
    );
  }
  const tls: TlsSource | undefined = certSet
    ? {
        cert: { path: env.TLS_PATH_CERT, base64: env.TLS_BASE64_CERT },
        key: { path: env.TLS_PATH_KEY, base64: env.TLS_BASE64_KEY },
        intermediate:
          env.TLS_PATH_INTERMEDIATE_CERT || env.TLS_BASE64_INTERMEDIATE_CERT
            ? { path: env.TLS_PATH_INTERMEDIATE_CERT, base64: env.TLS_BASE64_INTERMEDIATE_CERT }
            : undefined,
      }
    : undefined;
  return {
    port: env.API_PORT,
    host: env.API_HOST,
    publicUrl,
    issuer: `${publicUrl}/oidc`,
    authMode: env.AUTH_MODE as Config['authMode'],
    consoleUrl: env.CONSOLE_URL?.replace(/\/+$/, ''),
    clientSecret: env.OIDC_CLIENT_SECRET,
    extraRedirectUris: env.OIDC_REDIRECT_URIS ?? [],
    consoleClient: env.OIDC_CONSOLE_CLIENT_ID
      ? {
          id: env.OIDC_CONSOLE_CLIENT_ID,
          redirectUris: env.OIDC_CONSOLE_REDIRECT_URIS ?? [`${(env.CONSOLE_URL ?? publicUrl).replace(/\/+$/, '')}/login/callback`],
        }
      : undefined,
    external: env.AUTH_MODE === 'external' ? { issuerUrl: externalIssuer!, clientSecret: env.OIDC_CLIENT_SECRET } : undefined,
    clientId: env.OIDC_CLIENT_ID,
    bootstrapAdmin: admin && adminPassword ? { username: admin, password: adminPassword } : undefined,
    accessTokenTtlSec: env.AUTH_ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSec: env.AUTH_REFRESH_TOKEN_TTL_SECONDS,
    authRateLimit: {
      enabled: env.AUTH_RATE_LIMIT_ENABLED,
      max: env.AUTH_RATE_LIMIT_MAX_REQUESTS,
      windowMs: env.AUTH_RATE_LIMIT_WINDOW_MS,
    },
    logLevel: env.LOG_LEVEL as Config['logLevel'],
    trustProxy: env.TRUST_PROXY,
    tls,
    db: {
      url: env.DB_URL,
      authToken: env.DB_AUTH_TOKEN,
      busyTimeoutMs: env.DB_BUSY_TIMEOUT_MS,
      writeWaitMs: env.DB_WRITE_WAIT_MS,
      poolMax: env.DB_POOL_MAX,
    },
    encryptionKey: env.ENCRYPTION_KEY,
    encryptionKeyFile: env.ENCRYPTION_KEY_FILE,
    maxJsonBodyBytes: env.MAX_JSON_BODY_BYTES,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    jobsEnabled: env.JOBS_ENABLED,
    reconcileConcurrency: env.RECONCILE_CONCURRENCY,
    admission: {
      enabled: env.ADMISSION_ENABLED,
      maxQueueMs: env.ADMISSION_MAX_QUEUE_MS,
      maxAgentInflight: env.ADMISSION_MAX_AGENT_INFLIGHT,
      maxControlInflight: env.ADMISSION_MAX_CONTROL_INFLIGHT,
      retryAfterSec: env.ADMISSION_RETRY_AFTER_SECONDS,
    },
    logSlowRequestMs: env.LOG_SLOW_REQUEST_MS,
    namespace: env.CONTROLLER_NAMESPACE,
    cluster: {
      uuid: env.CONTROLLER_UUID,
      host: env.CONTROLLER_HOST || undefined,
      inactiveThresholdSec: env.CONTROLLER_INACTIVE_THRESHOLD_SECONDS,
    },
    natsEnabled: true,
    rbacApiVersion: env.RBAC_API_VERSION,
    audit: { enabled: env.AUDIT_ENABLED, captureIp: env.AUDIT_CAPTURE_IP, retentionDays: env.EVENT_RETENTION_DAYS },
    certRenewBeforeDays: env.CERT_RENEW_BEFORE_DAYS,
    bridgePorts: env.BRIDGE_PORTS_RANGE,
    ws: {
      pingIntervalMs: env.WS_PING_INTERVAL,
      maxPayload: env.WS_SECURITY_MAX_PAYLOAD,
      maxRequestsPerMinute: env.WS_SECURITY_MAX_REQUESTS_PER_MINUTE,
      maxConnectionsPerIp: env.WS_SECURITY_MAX_CONNECTIONS_PER_IP,
      maxFailedPerMinute: env.WS_SECURITY_MAX_FAILED_PER_MINUTE,
      execMaxPerResource: env.WS_EXEC_MAX_CONCURRENT_PER_RESOURCE,
      logMaxPerResource: env.WS_LOG_MAX_CONCURRENT_PER_RESOURCE,
      execPendingMs: env.WS_EXEC_PENDING_TIMEOUT_MS,
      logPendingMs: env.WS_LOG_PENDING_TIMEOUT_MS,
      execMaxDurationMs: env.WS_EXEC_MAX_DURATION_MS,
      logIdleMs: env.WS_LOG_IDLE_TIMEOUT_MS,
      tailMaxLines: env.WS_LOG_TAIL_MAX_LINES,
      drainTimeoutMs: env.WS_DRAIN_TIMEOUT_MS,
      cleanupIntervalMs: env.WS_CLEANUP_INTERVAL,
      closeResponseTimeoutMs: env.WS_CLOSE_RESPONSE_TIMEOUT,
      relay: env.NATS_RELAY_URL ? { urls: env.NATS_RELAY_URL, credsFile: env.NATS_RELAY_CREDS_FILE } : undefined,
    },
  };
}
