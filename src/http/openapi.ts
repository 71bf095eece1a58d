import type { z } from '@hono/zod-openapi';
import { ServiceError } from '../errors';

/** A JSON response entry for `responses`. */
export const jsonOk = <T extends z.ZodTypeAny>(description: string, schema: T) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });

/**
 * Reads an optional JSON body: no body (or an empty one) is `{}` even when the client sent
 * `Content-Type: application/json`; a body that is not JSON is a 400 naming the problem.
 */
export async function optionalJson(req: { text(): Promise<string> }): Promise<Record<string, unknown>> {
  const text = (await req.text()).trim();
  if (text === '') return {};
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new ServiceError('MALFORMED_BODY', 'Malformed request body: expected a JSON object or no body');
}
