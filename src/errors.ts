/**
 * The one error model. Every failure a caller can see has a code from this closed list;
 * the table gives its HTTP status and the upstream-compatible error `name`.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, name: 'ValidationError' },
  MALFORMED_BODY: { status: 400, name: 'ValidationError' },
  /** The HTTP server could not parse the request itself (request line, headers, framing). */
  MALFORMED_REQUEST: { status: 400, name: 'BadRequestError' },
  AUTH_REQUIRED: { status: 401, name: 'AuthenticationError' },
  AUTH_TOKEN_INVALID: { status: 401, name: 'AuthenticationError' },
  INVALID_CREDENTIALS: { status: 401, name: 'InvalidCredentialsError' },
  MFA_REQUIRED: { status: 401, name: 'AuthenticationError' },
  PROVISIONING_KEY_EXPIRED: { status: 401, name: 'AuthenticationError' },
  MFA_ENROLLMENT_REQUIRED: { status: 401, name: 'AuthenticationError' },
  REFRESH_TOKEN_INVALID: { status: 401, name: 'AuthenticationError' },
  FORBIDDEN: { status: 403, name: 'ForbiddenError' },
  PASSWORD_CHANGE_REQUIRED: { status: 403, name: 'ForbiddenError' },
  /** A route that only a Kubernetes control plane serves (GET /nats/bootstrap); not an RBAC refusal. */
  NOT_KUBERNETES_CONTROL_PLANE: { status: 403, name: 'ForbiddenError' },
  NOT_FOUND: { status: 404, name: 'NotFoundError' },
  ROUTE_NOT_FOUND: { status: 404, name: 'NotFoundError' },
  METHOD_NOT_ALLOWED: { status: 405, name: 'MethodNotAllowedError' },
  CONFLICT: { status: 409, name: 'ConflictError' },
  PAYLOAD_TOO_LARGE: { status: 413, name: 'PayloadTooLargeError' },
  REQUEST_TIMEOUT: { status: 408, name: 'RequestTimeoutError' },
  REQUEST_HEADERS_TOO_LARGE: { status: 431, name: 'RequestHeaderFieldsTooLargeError' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, name: 'UnsupportedMediaTypeError' },
  UPGRADE_REQUIRED: { status: 426, name: 'UpgradeRequiredError' },
  RATE_LIMITED: { status: 429, name: 'RateLimitExceededError' },
  NOT_IMPLEMENTED: { status: 501, name: 'NotImplementedError' },
  INTERNAL: { status: 500, name: 'InternalServerError' },
  AGENT_AUTH_HEADER_INVALID: { status: 401, name: 'AuthenticationError' },
  AGENT_JWT_MALFORMED: { status: 401, name: 'AuthenticationError' },
  AGENT_JWT_MISSING_SUBJECT: { status: 401, name: 'AuthenticationError' },
  AGENT_FOG_NOT_FOUND: { status: 401, name: 'AuthenticationError' },
  AGENT_PUBLIC_KEY_NOT_FOUND: { status: 401, name: 'AuthenticationError' },
  AGENT_JWT_SIGNATURE_INVALID: { status: 401, name: 'AuthenticationError' },
  AGENT_JWT_EXPIRED: { status: 401, name: 'AuthenticationError' },
  AGENT_JWT_ALREADY_USED: { status: 401, name: 'AuthenticationError' },
  CONTROLLER_AUTH_VERIFICATION_FAILED: { status: 503, name: 'ServiceUnavailable' },
  CONTROLLER_AGENT_CLOCK_SKEW: { status: 503, name: 'ServiceUnavailable' },
  CONTROLLER_NOT_READY: { status: 503, name: 'ServiceUnavailable' },
  SERVER_DRAINING: { status: 503, name: 'ServiceUnavailable' },
  CONTROLLER_DB_BUSY: { status: 503, name: 'ServiceUnavailable' },
  CONTROLLER_DB_UNAVAILABLE: { status: 503, name: 'ServiceUnavailable' },
  /** Load shed by admission control (src/http/admission.ts): retry after Retry-After. */
  CONTROLLER_OVERLOADED: { status: 503, name: 'ServiceUnavailable' },
} as const satisfies Record<string, { status: number; name: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  name: string;
  message: string;
  code: ErrorCode;
  requestId: string;
  retryable?: boolean;
  /** What Edgelet reads: "Unauthorized" on structured 401s (repeated ones make it wipe itself), "ServiceUnavailable" on 503s (it retries). */
  error?: 'Unauthorized' | 'ServiceUnavailable';
}

export class ServiceError extends Error {
  readonly code: ErrorCode;
  /** Seconds a client should wait before retrying (429, 503). */
  readonly retryAfterSec?: number;
  readonly headers?: Record<string, string>;
  constructor(code: ErrorCode, message: string, opts: { retryAfterSec?: number; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.name = ERROR_CODES[code].name;
    this.retryAfterSec = opts.retryAfterSec;
    this.headers = opts.headers;
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
  get retryable(): boolean {
    return this.status === 503 || this.status === 429;
  }
}

export const notFound = (what: string) => new ServiceError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new ServiceError('CONFLICT', message);
export const invalid = (message: string) => new ServiceError('VALIDATION_FAILED', message);
export const forbidden = (message: string) => new ServiceError('FORBIDDEN', message);

/**
 * Database failures the caller can act on: "try again later" (busy, unreachable, a transaction that
 * lost a race and kept losing it) or a constraint the request broke. SQLite/libSQL and PostgreSQL
 * (SQLSTATE codes) alike; drizzle wraps the driver's error, so the causes are walked too.
 */
export function classifyDbError(err: unknown): ServiceError | undefined {
  for (let e = err as DbErrorLike | undefined, depth = 0; e && depth < 5; e = e.cause as DbErrorLike | undefined, depth++) {
    const found = classifyOne(e, err);
    if (found) return found;
    if (e.cause === e) break;
  }
  return undefined;
}

interface DbErrorLike {
  code?: unknown;
  message?: string;
  cause?: unknown;
  constraint_name?: string;
  column_name?: string;
  table_name?: string;
}

function classifyOne(e: DbErrorLike, err: unknown): ServiceError | undefined {
  const code = typeof e.code === 'string' ? e.code : '';
  const text = `${code} ${e.message ?? ''}`;
  const busy = () => new ServiceError('CONTROLLER_DB_BUSY', 'The database is busy; retry shortly', { retryAfterSec: 1, cause: err });
  const down = () =>
    new ServiceError('CONTROLLER_DB_UNAVAILABLE', 'The database is unavailable; retry shortly', { retryAfterSec: 5, cause: err });
  if (/SQLITE_BUSY|SQLITE_LOCKED|database is locked/i.test(text)) return busy();
  if (/SQLITE_CANTOPEN|SQLITE_IOERR|SQLITE_FULL|ECONNREFUSED|ECONNRESET|fetch failed|SERVER_ERROR|HRANA|CLIENT_CLOSED/i.test(text))
    return down();
  // PostgreSQL: serialization failure and deadlock (already retried by withTransaction), lock timeout.
  if (code === '40001' || code === '40P01' || code === '55P03') return busy();
  // The server went away, is starting or stopping, has no connection slot, or the pool lost its socket.
  if (/^(08|57P0|53300)/.test(code) || /^(CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|ETIMEDOUT|EPIPE)$/.test(code)) return down();
  if (code === '23505' || /SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)|UNIQUE constraint failed/.test(text)) {
    return new ServiceError('CONFLICT', `A record with the same key already exists${e.constraint_name ? ` (${e.constraint_name})` : ''}`, {
      cause: err,
    });
  }
  if (code === '23503' || /SQLITE_CONSTRAINT_FOREIGNKEY|FOREIGN KEY constraint failed/.test(text)) {
    return new ServiceError('CONFLICT', 'The record refers to, or is referred to by, a record that does not exist or still exists', {
      cause: err,
    });
  }
  // PostgreSQL cannot store NUL in text (SQLite can) and refuses text that is not a number where a
  // number column is compared: both are bad input, not a server fault.
  if (code === '22021' || code === '22P05') {
    return new ServiceError('VALIDATION_FAILED', 'text values must not contain NUL (\\u0000) characters', { cause: err });
  }
  if (code === '22P02' || code === '22003') {
    return new ServiceError('VALIDATION_FAILED', `a value is not a valid number or is out of range: ${e.message ?? ''}`, { cause: err });
  }
  if (code === '23502' || /SQLITE_CONSTRAINT_NOTNULL|NOT NULL constraint failed/.test(text)) {
    return new ServiceError('VALIDATION_FAILED', `${e.column_name ?? 'a required field'}: must not be empty`, { cause: err });
  }
  return undefined;
}

export function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  return classifyDbError(err) ?? new ServiceError('INTERNAL', 'Internal server error', { cause: err });
}

export function errorBody(err: ServiceError, requestId: string): ErrorBody {
  const body: ErrorBody = { name: err.name, message: err.message, code: err.code, requestId };
  if (err.status === 503) {
    body.error = 'ServiceUnavailable';
    body.retryable = true;
  } else if (err.code.startsWith('AGENT_')) {
    // Structured agent auth failure: Edgelet does not retry it and counts it toward its deprovision gate.
    body.error = 'Unauthorized';
    body.retryable = false;
  }
  return body;
}
