import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { ERROR_CODES, ServiceError, errorBody, toServiceError, type ErrorCode } from '../errors';
import { errorFields, type Logger } from '../lib/logger';
import type { HonoEnv } from './types';

const ERROR_EXAMPLES: Record<number, { name: string; message: string; code: ErrorCode }> = {
  400: { name: 'ValidationError', message: 'email: Invalid email address', code: 'VALIDATION_FAILED' },
  401: {
    name: 'AuthenticationError',
    message: 'Authentication required: send Authorization: Bearer <access token>',
    code: 'AUTH_REQUIRED',
  },
  403: { name: 'ForbiddenError', message: 'Forbidden: your roles (viewer) do not grant authUsers:create', code: 'FORBIDDEN' },
  404: { name: 'NotFoundError', message: 'User 5f0c6f0e not found', code: 'NOT_FOUND' },
  409: { name: 'ConflictError', message: 'A user with email dev@example.com already exists', code: 'CONFLICT' },
  413: { name: 'PayloadTooLargeError', message: 'Request body exceeds the limit of 1048576 bytes', code: 'PAYLOAD_TOO_LARGE' },
  429: {
    name: 'RateLimitExceededError',
    message: 'Too many authentication requests from this address; retry in 42 s',
    code: 'RATE_LIMITED',
  },
  500: { name: 'InternalServerError', message: 'Internal server error', code: 'INTERNAL' },
  503: { name: 'ServiceUnavailable', message: 'The database is busy; retry shortly', code: 'CONTROLLER_DB_BUSY' },
};

export const ErrorSchema = z
  .object({
    name: z.string().openapi({ description: 'Error class, as upstream (ValidationError, NotFoundError, …)' }),
    message: z.string().openapi({ description: 'What went wrong; for validation errors it names the field path' }),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).openapi({ description: 'Stable machine-readable code' }),
    requestId: z.string().openapi({ description: 'Same as the x-request-id response header' }),
    retryable: z
      .boolean()
      .optional()
      .openapi({ description: 'Present on 503 (true: retry after Retry-After seconds) and on agent auth failures (false)' }),
    error: z
      .enum(['Unauthorized', 'ServiceUnavailable'])
      .optional()
      .openapi({ description: 'Agent contract field on 503s and agent auth failures' }),
  })
  .openapi('Error');

const json = (description: string, status?: number) => {
  const example = status !== undefined ? ERROR_EXAMPLES[status] : undefined;
  return {
    description,
    content: {
      'application/json': {
        schema: ErrorSchema,
        ...(example
          ? {
              example: {
                ...example,
                requestId: '5f0c6f0e-8d7c-4f21-9a53-0f5ae3c1c2b1',
                ...(status === 503 ? { retryable: true, error: 'ServiceUnavailable' } : {}),
              },
            }
          : {}),
      },
    },
  };
};

/** The error responses every route may produce, spread into each route's `responses`. */
export const commonErrors = {
  400: json('The request is malformed or fails validation; `message` names the field path', 400),
  413: json('The request body is larger than the configured limit', 413),
  500: json('Unexpected server error', 500),
  503: json('Temporarily unavailable (database busy or not ready); retry after `Retry-After` seconds', 503),
} as const;

export const authErrors = {
  401: json('Missing, invalid or expired bearer token', 401),
  403: json('The token is valid but its roles do not grant this operation', 403),
} as const;

export const errorResponse = (description: string, status?: number) => json(description, status);

/** `field.path: message; other.path: message` — the path is what a user needs to fix the request. */
export function describeZodError(err: ZodError, prefix?: string): string {
  return err.issues
    .slice(0, 10)
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      // zod's wording for a missing field ("Invalid input: expected number, received undefined", or "expected
      // nonoptional") makes a user decode it; say what to do.
      if (path && i.code === 'invalid_type' && (i.expected === 'nonoptional' || /received undefined$/.test(i.message)))
        return `${path} is required`;
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

export function sendError(c: Context<HonoEnv>, err: ServiceError): Response {
  const requestId = c.get('requestId') ?? 'unknown';
  const headers: Record<string, string> = { ...(err.headers ?? {}) };
  if (err.retryAfterSec !== undefined) headers['Retry-After'] = String(err.retryAfterSec);
  return c.json(errorBody(err, requestId), err.status as 400, headers);
}

function fromHttpException(e: HTTPException): ServiceError {
  const status = e.status;
  const message = e.message || 'Request failed';
  const byStatus: Partial<Record<number, ErrorCode>> = {
    400: /json|formdata|body/i.test(message) ? 'MALFORMED_BODY' : 'VALIDATION_FAILED',
    401: 'AUTH_REQUIRED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    413: 'PAYLOAD_TOO_LARGE',
    415: 'UNSUPPORTED_MEDIA_TYPE',
    429: 'RATE_LIMITED',
  };
  const code = byStatus[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
  return new ServiceError(code, code === 'MALFORMED_BODY' ? `Malformed request body: ${message}` : message);
}

/** The one error mapper for HTTP. */
export function makeOnError(logger: Logger) {
  return (err: Error, c: Context<HonoEnv>): Response => {
    let se = err instanceof HTTPException ? fromHttpException(err) : toServiceError(err);
    if (se.code === 'UNSUPPORTED_MEDIA_TYPE' && err instanceof HTTPException) {
      const sent = c.req.header('content-type')?.split(';')[0]?.trim();
      const accepted = c.get('bodyTypes') ?? ['application/json'];
      se = new ServiceError(
        'UNSUPPORTED_MEDIA_TYPE',
        `${sent ? `Content-Type ${sent} is` : 'A body without Content-Type is'} not accepted here: send ${accepted.join(' or ')}`,
      );
    }
    if (se.status >= 500) {
      logger.error('request failed', { requestId: c.get('requestId'), code: se.code, ...errorFields(se.cause ?? err) });
    }
    return sendError(c, se);
  };
}
