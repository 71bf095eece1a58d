import type { z } from '@hono/zod-openapi';

/**
 * Validates a real response body against a declared response schema, strictly: a missing required key or a
 * wrong type fails the parse, and a key the schema does not declare is reported too (zod strips unknown keys,
 * so they are found by comparing the input with the parsed output). Returns the problems, empty when the body
 * matches; `assertShape` throws with all of them listed.
 */
export function shapeProblems(schema: z.ZodType, body: unknown): string[] {
  const r = schema.safeParse(body);
  if (!r.success) return r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const extra: string[] = [];
  collectExtraKeys(body, r.data, '', extra);
  return extra.map((p) => `${p}: not declared in the schema`);
}

export function assertShape(schema: z.ZodType, body: unknown, label = 'response'): void {
  const problems = shapeProblems(schema, body);
  if (problems.length) throw new Error(`${label} does not match its schema:\n  ${problems.join('\n  ')}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function collectExtraKeys(input: unknown, output: unknown, path: string, out: string[]): void {
  if (Array.isArray(input) && Array.isArray(output)) {
    input.forEach((v, i) => {
      collectExtraKeys(v, output[i], `${path}[${i}]`, out);
    });
    return;
  }
  if (!isPlainObject(input) || !isPlainObject(output)) return;
  for (const [k, v] of Object.entries(input)) {
    const p = path ? `${path}.${k}` : k;
    if (!(k in output)) out.push(p);
    else collectExtraKeys(v, output[k], p, out);
  }
}

/** What `defineRoute(...)` returns, as far as the contract tests read it. */
export interface DeclaredRoute {
  method: string;
  path: string;
  responses: Record<string | number, unknown>;
}

/**
 * The schema a route declares for its JSON answer with `status` (default: its first 2xx JSON response),
 * read from the route object the module exports — the same object the OpenAPI document is generated from.
 */
export function declaredSchema(route: DeclaredRoute, status?: number): z.ZodType {
  const codes =
    status !== undefined
      ? [String(status)]
      : Object.keys(route.responses)
          .filter((c) => /^2\d\d$/.test(c))
          .sort();
  for (const code of codes) {
    const entry = route.responses[code] as { content?: Record<string, { schema?: z.ZodType }> } | undefined;
    const schema = entry?.content?.['application/json']?.schema;
    if (schema) return schema;
  }
  throw new Error(`${route.method.toUpperCase()} ${route.path} declares no JSON response${status !== undefined ? ` for ${status}` : ''}`);
}

/** A real response checked strictly against what its route declares for that status. */
export function assertDeclared(route: DeclaredRoute, res: { status: number; body: unknown }): void {
  const label = `${route.method.toUpperCase()} ${route.path} → ${res.status}`;
  if (res.status < 200 || res.status > 299) throw new Error(`${label}: not a success: ${JSON.stringify(res.body)}`);
  assertShape(declaredSchema(route, res.status), res.body, label);
}
