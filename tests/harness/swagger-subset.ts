/**
 * A validator for the part of OpenAPI 3.0 schema objects upstream's swagger.yaml uses for response
 * objects: type, properties, required, items, nullable, enum, $ref and additionalProperties: false.
 * OpenAPI 3.0 semantics: null is valid only where `nullable: true`; keys a schema does not list are
 * allowed unless it says `additionalProperties: false`; `integer` is a whole number.
 * Returns one problem per mismatch, with the field path (array positions written as `[]`).
 */

export interface SwaggerSchema {
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean';
  properties?: Record<string, SwaggerSchema>;
  required?: string[];
  items?: SwaggerSchema;
  nullable?: boolean;
  enum?: unknown[];
  additionalProperties?: boolean | SwaggerSchema;
}

export interface Problem {
  field: string;
  message: string;
}

export function swaggerProblems(schemas: Record<string, SwaggerSchema>, schema: SwaggerSchema, value: unknown, field = ''): Problem[] {
  const out: Problem[] = [];
  const at = (f: string, k: string) => (f ? `${f}.${k}` : k);
  const check = (s: SwaggerSchema, v: unknown, f: string): void => {
    if (s.$ref) {
      const name = s.$ref.replace('#/components/schemas/', '');
      const target = schemas[name];
      if (!target) throw new Error(`unknown $ref ${s.$ref} (add it to the fixture)`);
      return check(target, v, f);
    }
    if (v === null) {
      if (!s.nullable) out.push({ field: f, message: `null, but ${s.type ?? 'the schema'} is not nullable` });
      return;
    }
    if (s.enum && !s.enum.includes(v)) out.push({ field: f, message: `${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}` });
    const type = s.type ?? (s.properties ? 'object' : s.items ? 'array' : undefined);
    switch (type) {
      case 'object': {
        if (typeof v !== 'object' || Array.isArray(v))
          return void out.push({ field: f, message: `expected an object, got ${JSON.stringify(v)}` });
        const o = v as Record<string, unknown>;
        for (const k of s.required ?? []) if (!(k in o)) out.push({ field: at(f, k), message: 'required, missing' });
        for (const [k, sub] of Object.entries(s.properties ?? {})) if (k in o && o[k] !== undefined) check(sub, o[k], at(f, k));
        if (s.additionalProperties === false)
          for (const k of Object.keys(o))
            if (!(k in (s.properties ?? {}))) out.push({ field: at(f, k), message: 'not allowed (additionalProperties: false)' });
        return;
      }
      case 'array':
        if (!Array.isArray(v)) return void out.push({ field: f, message: `expected an array, got ${JSON.stringify(v)}` });
        if (s.items) for (const item of v) check(s.items, item, `${f}[]`);
        return;
      case 'string':
        if (typeof v !== 'string') out.push({ field: f, message: `expected a string, got ${JSON.stringify(v)}` });
        return;
      case 'number':
        if (typeof v !== 'number') out.push({ field: f, message: `expected a number, got ${JSON.stringify(v)}` });
        return;
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v)) out.push({ field: f, message: `expected an integer, got ${JSON.stringify(v)}` });
        return;
      case 'boolean':
        if (typeof v !== 'boolean') out.push({ field: f, message: `expected a boolean, got ${JSON.stringify(v)}` });
        return;
      default:
        return;
    }
  };
  check(schema, value, field);
  // One report per field and message: list items repeat the same mismatch.
  const seen = new Set<string>();
  return out.filter((p) => !seen.has(`${p.field}|${p.message}`) && Boolean(seen.add(`${p.field}|${p.message}`)));
}
