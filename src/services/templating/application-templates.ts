import { asc, eq } from 'drizzle-orm';
import { applicationTemplate } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { conflict, invalid, notFound } from '../../errors';
import { auditTarget } from '../events/audit';
import { renderBodyTemplates } from './liquid';
import type { TemplateApplication, TemplateInput, TemplateResponse, TemplateVariable } from '../microservices/schemas';

/**
 * Application templates: an application spec with `{{variable}}` placeholders,
 * deployed through POST/PUT /application (or Application YAML) with `template: {name, variables}`.
 *
 * Variables have a `type` (string | number | boolean, default string), an optional `defaultValue`
 * and `required` (default: required when there is no default). A template may also use placeholders it
 * does not declare (v3.8 accepts such templates and checks them at deploy): the deploy must give them a
 * value, untyped, and a placeholder left without one is a 400 naming it. At deploy every string of the spec
 * is rendered as a Liquid template, as upstream does, with the variables and `self` (the application being
 * built) in scope and the templating filters (services/templating); a string that is exactly one
 * placeholder takes the variable's typed value (`"{{replicas}}"` → 3). The result then goes through the
 * same validation as any application.
 */

export type VariableType = 'string' | 'number' | 'boolean';
export type { TemplateApplication, TemplateInput, TemplateVariable };

/** `{{ key }}`; keys follow the same lower-case name rule as resource names, dotted for nested keys. */
const PLACEHOLDER = /\{\{\s*([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\s*\}\}/g;

function pathOf(path: (string | number)[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');
}

/** Names a Liquid string binds itself (`{% assign x = … %}`, `{% capture x %}`, `{% for x in … %}`). */
const LOCAL = /\{%-?\s*(?:assign|capture|for|increment|decrement)\s+([\w-]+)/g;

/** Every placeholder in the spec naming a template variable, with where it is (`self` and a string's own names are not variables). */
function placeholders(value: unknown, path: (string | number)[] = ['application']): Array<{ key: string; at: string }> {
  if (typeof value === 'string') {
    const locals = new Set([...value.matchAll(LOCAL)].map((m) => m[1]!));
    return [...value.matchAll(PLACEHOLDER)]
      .map((m) => ({ key: m[1]!, at: pathOf(path) }))
      .filter(({ key }) => !key.startsWith('self.') && key !== 'self' && !locals.has(key.split('.')[0]!));
  }
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
function present(r: Row): TemplateResponse {
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
    const [dup] = await tx.db
      .select({ id: applicationTemplate.id })
      .from(applicationTemplate)
      .where(eq(applicationTemplate.name, input.name))
      .limit(1);
    if (dup) throw conflict(`Application template ${input.name} already exists`);
    const now = tx.clock.now();
    const [row] = await tx.db
      .insert(applicationTemplate)
      .values({
        name: input.name,
        description: input.description ?? '',
        variables: JSON.stringify(input.variables ?? []),
        application: JSON.stringify(input.application),
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: applicationTemplate.id });
    auditTarget(tx, input.name);
    return { id: row!.id, name: input.name };
  });
}

/** PUT: replaces the template named in the path, or creates it. The body's name must match the path. */
export async function putTemplate(
  ctx: AppCtx,
  name: string,
  given: Omit<TemplateInput, 'name'> & { name?: string },
): Promise<{ id: number; name: string }> {
  // The path names the template; a body that names one must name the same.
  if (given.name !== undefined && given.name !== name) throw invalid(`name: must equal the template name in the path (${name})`);
  const input = { ...given, name };
  checkTemplate(input);
  return withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const values = {
      description: input.description ?? '',
      variables: JSON.stringify(input.variables ?? []),
      application: JSON.stringify(input.application),
      updatedAt: now,
    };
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
    const [row] = await tx.db
      .select({ id: applicationTemplate.id })
      .from(applicationTemplate)
      .where(eq(applicationTemplate.name, name))
      .limit(1);
    if (!row) throw notFound(`Application template ${name}`);
    if (input.name !== undefined && input.name !== name) {
      const [dup] = await tx.db
        .select({ id: applicationTemplate.id })
        .from(applicationTemplate)
        .where(eq(applicationTemplate.name, input.name))
        .limit(1);
      if (dup) throw conflict(`Application template ${input.name} already exists`);
    }
    await tx.db
      .update(applicationTemplate)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        updatedAt: tx.clock.now(),
      })
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

/** The variables as Liquid scope: a key with dots (`db.host`) is reached as a property path. */
function variableScope(values: Map<string, string | number | boolean>): Record<string, unknown> {
  const scope: Record<string, unknown> = {};
  for (const [key, value] of values) {
    const parts = key.split('.');
    let at = scope;
    for (const part of parts.slice(0, -1)) {
      const next = at[part];
      at = (at[part] = next !== null && typeof next === 'object' ? next : {}) as Record<string, unknown>;
    }
    at[parts[parts.length - 1]!] = value;
  }
  return scope;
}

/**
 * The application spec of a template with the request's variables: missing ones take their default,
 * required ones without a value, unknown ones and wrongly typed ones are a 400 naming the variable.
 * Template metadata (ids, timestamps) never reaches the application.
 */
export async function instantiate(ctx: AppCtx, ref: TemplateRef, app: Record<string, unknown> = {}): Promise<TemplateApplication> {
  const [row] = await ctx.db.select().from(applicationTemplate).where(eq(applicationTemplate.name, ref.name)).limit(1);
  if (!row) throw invalid(`template.name: no application template named ${ref.name}`);
  const declared = JSON.parse(row.variables) as TemplateVariable[];
  const byKey = new Map(declared.map((v) => [v.key, v]));
  const spec = JSON.parse(row.application) as TemplateApplication;
  const used = placeholders(spec);
  const usedKeys = new Set(used.map((p) => p.key));
  const given = new Map<string, unknown>();
  (ref.variables ?? []).forEach((v, i) => {
    // A key the template neither declares nor uses is most likely a typo: say so rather than ignore it.
    if (!byKey.has(v.key) && !usedKeys.has(v.key)) {
      throw invalid(
        `template.variables[${i}].key: ${v.key} is not a variable of template ${ref.name} (${[...new Set([...byKey.keys(), ...usedKeys])].join(', ') || 'it has none'})`,
      );
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
    throw invalid(
      `${unresolved.at}: {{${unresolved.key}}} is not resolved (template ${ref.name} does not declare it and template.variables gives no value for it)`,
    );
  }
  // `self` is the application being deployed (the request's fields and the template's spec), as upstream.
  const rendered = await renderBodyTemplates(
    ctx,
    { ...app, ...spec },
    {
      scope: variableScope(values),
      // The request's own fields were rendered on the way in; here they are only context.
      keys: ['microservices', 'natsConfig'],
      pathOf: (p) => `template ${ref.name}: ${pathOf(p)}`,
    },
  );
  return { microservices: rendered.microservices, ...(rendered.natsConfig !== undefined ? { natsConfig: rendered.natsConfig } : {}) };
}
