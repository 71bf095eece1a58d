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

/** SQLite/libSQL failures that mean "try again later", never "your request is wrong". */
export function classifyDbError(err: unknown): ServiceError | undefined {
  const e = err as { code?: string; rawCode?: number; message?: string } | undefined;
  const text = `${e?.code ?? ''} ${e?.message ?? ''}`;
  if (/SQLITE_BUSY|SQLITE_LOCKED|database is locked/i.test(text)) {
    return new ServiceError('CONTROLLER_DB_BUSY', 'The database is busy; retry shortly', { retryAfterSec: 1, cause: err });
  }
  if (/SQLITE_CANTOPEN|SQLITE_IOERR|SQLITE_FULL|ECONNREFUSED|ECONNRESET|fetch failed|SERVER_ERROR|HRANA|CLIENT_CLOSED/i.test(text)) {
    return new ServiceError('CONTROLLER_DB_UNAVAILABLE', 'The database is unavailable; retry shortly', {
      retryAfterSec: 5,
      cause: err,
    });
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
