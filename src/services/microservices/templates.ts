import { asc, eq } from 'drizzle-orm';
import { applicationTemplate } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { conflict, invalid, notFound } from '../../errors';
import { auditTarget } from '../events/audit';

/**
 * Application templates (operator-api §2.8): an application spec with `{{variable}}` placeholders,
 * deployed through POST/PUT /application (or Application YAML) with `template: {name, variables}`.
 *
 * Variables have a `type` (string | number | boolean, default string), an optional `defaultValue`
 * and `required` (default: required when there is no default). A template may also use placeholders it
 * does not declare (v3.8 accepts such templates and checks them at deploy): the deploy must give them a
 * value, untyped, and a placeholder left without one is a 400 naming it. Placeholders are replaced in every
 * string of the spec, recursively; a string that is exactly one placeholder takes the variable's typed
 * value (`"{{replicas}}"` → 3). Plain text substitution — no expressions, nothing is evaluated.
 * The result then goes through the same validation as any application.
 */

export type VariableType = 'string' | 'number' | 'boolean';
export interface TemplateVariable {
  key: string;
  description?: string;
  defaultValue?: string | number | boolean;
  type?: VariableType;
  required?: boolean;
}
export interface TemplateApplication {
  microservices: Array<Record<string, unknown> & { name: string }>;
  natsConfig?: Record<string, unknown>;
}
export interface TemplateInput {
  name: string;
  description?: string;
  variables?: TemplateVariable[];
  application: TemplateApplication;
}

/** `{{ key }}`; keys follow the name rule (operator-api §3: nameRegex). */
const PLACEHOLDER = /\{\{\s*([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}\s]+)\s*\}\}$/;

function pathOf(path: (string | number)[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');
}

/** Every placeholder in the spec, with where it is. */
function placeholders(value: unknown, path: (string | number)[] = ['application']): Array<{ key: string; at: string }> {
  if (typeof value === 'string') return [...value.matchAll(PLACEHOLDER)].map((m) => ({ key: m[1]!, at: pathOf(path) }));
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholders(v, [...path, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => placeholders(v, [...path, k]));
  return [];
}

function typeOf(v: TemplateVariable): VariableType {
  return v.type ?? 'string';
}

function checkDefault(v: TemplateVariable, i: number): void {
  if (v.defaultValue === undefined) return;
  const t = typeOf(v);
  if (typeof v.defaultValue !== t) throw invalid(`variables[${i}].defaultValue: must be a ${t} (the variable's type)`);
}

function checkTemplate(input: TemplateInput): void {
  const vars = input.variables ?? [];
  const seen = new Set<string>();
  vars.forEach((v, i) => {
    if (seen.has(v.key)) throw invalid(`variables[${i}].key: ${v.key} is declared twice`);
    seen.add(v.key);
    checkDefault(v, i);
  });
}

type Row = typeof applicationTemplate.$inferSelect;
const iso = (ms: number) => new Date(ms).toISOString();
function present(r: Row) {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    variables: JSON.parse(r.variables) as TemplateVariable[],
    application: JSON.parse(r.application) as TemplateApplication,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

export async function listTemplates(ctx: AppCtx) {
  return { applicationTemplates: (await ctx.db.select().from(applicationTemplate).orderBy(asc(applicationTemplate.name))).map(present) };
}

async function requireTemplate(ctx: AppCtx, name: string): Promise<Row> {
  const [row] = await ctx.db.select().from(applicationTemplate).where(eq(applicationTemplate.name, name)).limit(1);
  if (!row) throw notFound(`Application template ${name}`);
  return row;
}

export async function getTemplate(ctx: AppCtx, name: string) {
  return present(await requireTemplate(ctx, name));
}

export async function createTemplate(ctx: AppCtx, input: TemplateInput): Promise<{ id: number; name: string }> {
  checkTemplate(input);
  return withTransaction(ctx, async (tx) => {
    const [dup] = await tx.db.select({ id: applicationTemplate.id }).from(applicationTemplate).where(eq(applicationTemplate.name, input.name)).limit(1);
    if (dup) throw conflict(`Application template ${input.name} already exists`);
    const now = tx.clock.now();
    const [row] = await tx.db
      .insert(applicationTemplate)
      .values({ name: input.name, description: input.description ?? '', variables: JSON.stringify(input.variables ?? []), application: JSON.stringify(input.application), createdAt: now, updatedAt: now })
      .returning({ id: applicationTemplate.id });
    auditTarget(tx, input.name);
    return { id: row!.id, name: input.name };
  });
}

/** PUT: replaces the template named in the path, or creates it. The body's name must match the path. */
export async function putTemplate(ctx: AppCtx, name: string, input: TemplateInput): Promise<{ id: number; name: string }> {
  if (input.name !== name) throw invalid(`name: must equal the template name in the path (${name})`);
  checkTemplate(input);
  return withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const values = { description: input.description ?? '', variables: JSON.stringify(input.variables ?? []), application: JSON.stringify(input.application), updatedAt: now };
    const [row] = await tx.db
      .insert(applicationTemplate)
      .values({ name, ...values, createdAt: now })
      .onConflictDoUpdate({ target: applicationTemplate.name, set: values })
      .returning({ id: applicationTemplate.id });
    auditTarget(tx, name);
    return { id: row!.id, name };
  });
}

export async function patchTemplate(ctx: AppCtx, name: string, input: { name?: string; description?: string }): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const [row] = await tx.db.select({ id: applicationTemplate.id }).from(applicationTemplate).where(eq(applicationTemplate.name, name)).limit(1);
    if (!row) throw notFound(`Application template ${name}`);
    if (input.name !== undefined && input.name !== name) {
      const [dup] = await tx.db.select({ id: applicationTemplate.id }).from(applicationTemplate).where(eq(applicationTemplate.name, input.name)).limit(1);
      if (dup) throw conflict(`Application template ${input.name} already exists`);
    }
    await tx.db
      .update(applicationTemplate)
      .set({ ...(input.name !== undefined ? { name: input.name } : {}), ...(input.description !== undefined ? { description: input.description } : {}), updatedAt: tx.clock.now() })
      .where(eq(applicationTemplate.id, row.id));
  });
}

export async function deleteTemplate(ctx: AppCtx, name: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db.delete(applicationTemplate).where(eq(applicationTemplate.name, name));
    if (r.rowsAffected === 0) throw notFound(`Application template ${name}`);
  });
}

// ---- deploy ----

export interface TemplateRef {
  name: string;
  variables?: Array<{ key: string; value: unknown }>;
}

function coerce(v: TemplateVariable, value: unknown, at: string): string | number | boolean {
  const t = typeOf(v);
  if (typeof value === t) return value as string | number | boolean;
  // YAML and query-string users write numbers and booleans as text; accept the unambiguous forms.
  if (typeof value === 'string') {
    if (t === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    if (t === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  }
  throw invalid(`${at}: must be a ${t}`);
}

function substitute(value: unknown, values: Map<string, string | number | boolean>): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole && values.has(whole[1]!)) return values.get(whole[1]!);
    return value.replace(PLACEHOLDER, (_m, key: string) => String(values.get(key)));
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, values));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values)]));
  return value;
}

/**
 * The application spec of a template with the request's variables: missing ones take their default,
 * required ones without a value, unknown ones and wrongly typed ones are a 400 naming the variable.
 * Template metadata (ids, timestamps) never reaches the application.
 */
export async function instantiate(ctx: AppCtx, ref: TemplateRef): Promise<TemplateApplication> {
  const [row] = await ctx.db.select().from(applicationTemplate).where(eq(applicationTemplate.name, ref.name)).limit(1);
  if (!row) throw invalid(`template.name: no application template named ${ref.name}`);
  const declared = JSON.parse(row.variables) as TemplateVariable[];
  const byKey = new Map(declared.map((v) => [v.key, v]));
  const spec = JSON.parse(row.application) as unknown;
  const used = placeholders(spec);
  const usedKeys = new Set(used.map((p) => p.key));
  const given = new Map<string, unknown>();
  (ref.variables ?? []).forEach((v, i) => {
    // A key the template neither declares nor uses is most likely a typo: say so rather than ignore it.
    if (!byKey.has(v.key) && !usedKeys.has(v.key)) {
      throw invalid(`template.variables[${i}].key: ${v.key} is not a variable of template ${ref.name} (${[...new Set([...byKey.keys(), ...usedKeys])].join(', ') || 'it has none'})`);
    }
    if (given.has(v.key)) throw invalid(`template.variables[${i}].key: ${v.key} is given twice`);
    given.set(v.key, v.value);
  });
  const values = new Map<string, string | number | boolean>();
  for (const v of declared) {
    if (given.has(v.key)) {
      values.set(v.key, coerce(v, given.get(v.key), `template.variables.${v.key}`));
    } else if (v.defaultValue !== undefined) {
      values.set(v.key, v.defaultValue);
    } else if (v.required !== false) {
      throw invalid(`template.variables.${v.key}: required (template ${ref.name} has no default for it)`);
    } else {
      values.set(v.key, '');
    }
  }
  // Placeholders the template uses without declaring them: the deploy's value as given (untyped).
  for (const [key, value] of given) {
    if (byKey.has(key)) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw invalid(`template.variables.${key}: must be a string, number or boolean`);
    }
    values.set(key, value);
  }
  const unresolved = used.find((p) => !values.has(p.key));
  if (unresolved) {
    throw invalid(`${unresolved.at}: {{${unresolved.key}}} is not resolved (template ${ref.name} does not declare it and template.variables gives no value for it)`);
  }
  return substitute(spec, values) as TemplateApplication;
}
