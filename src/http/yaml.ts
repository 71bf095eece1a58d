import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ServiceError } from '../errors';
import type { HonoEnv } from './types';

/**
 * YAML upload endpoints: `multipart/form-data` with exactly one file part whose
 * field name depends on the route (`application`, `secret`, `configMap`, …), or — for scripts and
 * curl users — the YAML document as the raw request body.
 */
export function yamlUploadBody(field: string) {
  return {
    content: {
      'multipart/form-data': {
        schema: z.object({ [field]: z.any().optional().openapi({ type: 'string', format: 'binary', description: 'The YAML file' }) }),
      },
      'application/yaml': { schema: z.string().openapi({ description: 'The YAML document as the raw body' }) },
    },
    required: true,
  };
}

const RAW_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];
const MAX_FIELDS = 10;

/** Reads the YAML text of an upload; 400 naming the field when the file part is missing. */
export async function readYamlUpload(c: Context<HonoEnv>, field: string): Promise<string> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    let form: Record<string, string | File | (string | File)[]>;
    try {
      form = await c.req.parseBody({ all: true });
    } catch {
      throw new ServiceError('VALIDATION_FAILED', 'body: malformed multipart/form-data');
    }
    const keys = Object.keys(form);
    if (keys.length > MAX_FIELDS) throw new ServiceError('VALIDATION_FAILED', `body: at most ${MAX_FIELDS} form fields are accepted`);
    const part = form[field];
    if (part === undefined) {
      throw new ServiceError(
        'VALIDATION_FAILED',
        `${field}: a YAML file in multipart field "${field}" is required${keys.length ? ` (got ${keys.join(', ')})` : ''}`,
      );
    }
    if (Array.isArray(part)) throw new ServiceError('VALIDATION_FAILED', `${field}: exactly one file is accepted`);
    return typeof part === 'string' ? part : await part.text();
  }
  if (type && !RAW_TYPES.some((t) => type.startsWith(t))) {
    throw new ServiceError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${type.split(';')[0]} is not accepted: send multipart/form-data (field "${field}") or application/yaml`,
    );
  }
  const text = await c.req.text();
  if (!text.trim()) throw new ServiceError('VALIDATION_FAILED', `${field}: the YAML document is empty`);
  return text;
}
