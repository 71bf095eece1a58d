import { Buffer } from 'node:buffer';
import { Column, SQL, Subquery, getTableName, is, noopDecoder } from 'drizzle-orm';
import { ROW_VALUES } from '../src/runtime/lean-rows';

/**
 * drizzle maps each libSQL row to its result object by walking the selection for every row: per
 * column an `is()` check (a walk up the prototype chain) to find the decoder, a path walk, and before
 * that a copy of the row through its index getters. For a page of 50 fogs (~100 columns) that was more
 * CPU than reading the rows from SQLite (a quarter of `GET /iofog-list` at 10,000 fogs).
 *
 * For a selection whose fields sit at the top level or one object deep (`select()` of a table,
 * `select({ a: t.a, … })`, an inner join into `{ ms, app }`) the decoders are found once per selection
 * and each row is built by one loop. What it builds is what drizzle builds: the same keys in the same
 * order, `null` for SQL NULL, each column's `mapFromDriverValue`, ArrayBuffers as Buffers. Selections
 * where drizzle may replace a left-joined table's object by null, and deeper ones, keep drizzle's own
 * mapping. A plan's first rows (up to 16, until every column has been seen with a value) are checked
 * against drizzle's mapping; a plan whose row differs (a drizzle upgrade that maps differently) is
 * dropped and drizzle maps that selection from then on.
 */

/** Rows checked against drizzle's mapping per plan, at most, until every column has been seen with a value. */
const CHECKED_ROWS = 16;

interface Decoder {
  mapFromDriverValue(value: unknown): unknown;
}

interface SelectedField {
  path: string[];
  field: unknown;
}

interface Plan {
  /** Each field's place in the result: one key at the top level, or an object's key and the key in it. */
  paths: string[][];
  /** The same as text, to recognise the same selection rendered anew. */
  pathText: string[];
  /** null where the decoder returns its input as it is. */
  decoders: Array<Decoder | null>;
  /** The selection's decoders as drizzle finds them. */
  found: Decoder[];
  /** Columns not yet seen with a value in a checked row (a NULL says nothing about the decoder). */
  unseen: Set<number>;
  checks: number;
  differs: boolean;
}

type Mapper = (this: PreparedQuery, rows: unknown[], isFromBatch?: boolean) => unknown[];

interface PreparedQuery {
  fields?: SelectedField[];
  customResultMapper?: unknown;
  joinsNotNullableMap?: Record<string, boolean>;
  query: { sql: string };
}

const identity = (Column.prototype as unknown as Decoder).mapFromDriverValue;

/** Plans by selection object (a reused statement keeps its own), and by SQL text for selections built anew per query. */
const byFields = new WeakMap<object, Plan | null>();
const bySql = new Map<string, Plan>();
const MAX_BY_SQL = 512;

function decoderOf(field: unknown): Decoder {
  if (is(field, Column)) return field as unknown as Decoder;
  if (is(field, SQL)) return (field as unknown as { decoder: Decoder }).decoder;
  if (is(field, Subquery)) return (field as unknown as { _: { sql: { decoder: Decoder } } })._.sql.decoder;
  return (field as { sql: { decoder: Decoder } }).sql.decoder;
}

/**
 * Selections this mapping builds exactly as drizzle does: fields at the top level or one object deep,
 * where a table's object is never replaced by null (drizzle nulls a left-joined table's object when its
 * first column is NULL; such selections keep drizzle's mapping).
 */
function mappable(q: PreparedQuery): boolean {
  return q.fields!.every(
    ({ path, field }) =>
      path.length === 1 ||
      (path.length === 2 && (!is(field, Column) || q.joinsNotNullableMap?.[getTableName((field as Column).table)] === true)),
  );
}

function planFor(q: PreparedQuery): Plan | null {
  const fields = q.fields!;
  const known = byFields.get(fields);
  if (known !== undefined) return known;
  let plan: Plan | null = null;
  if (mappable(q)) {
    const found = fields.map((f) => decoderOf(f.field));
    const pathText = fields.map((f) => f.path.join('.'));
    const same = bySql.get(q.query.sql);
    if (
      same !== undefined &&
      same.found.length === found.length &&
      same.found.every((d, i) => d === found[i] && same.pathText[i] === pathText[i])
    ) {
      plan = same;
    } else {
      plan = {
        paths: fields.map((f) => f.path),
        pathText,
        decoders: found.map((d) => (d.mapFromDriverValue === identity || d === noopDecoder ? null : d)),
        found,
        unseen: new Set(found.keys()),
        checks: 0,
        differs: false,
      };
      if (bySql.size >= MAX_BY_SQL) bySql.clear();
      bySql.set(q.query.sql, plan);
    }
  }
  byFields.set(fields, plan);
  return plan;
}

function mapRow(plan: Plan, row: unknown): Record<string, unknown> {
  const values = ((row as { [ROW_VALUES]?: unknown[] })[ROW_VALUES] ?? Array.prototype.slice.call(row)) as unknown[];
  const { paths, decoders } = plan;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    let node = out;
    let key = path[0]!;
    if (path.length === 2) {
      if (!(key in out)) out[key] = {};
      node = out[key] as Record<string, unknown>;
      key = path[1]!;
    }
    let v = values[i];
    if (v === null) {
      node[key] = null;
      continue;
    }
    if (v instanceof ArrayBuffer && !(v instanceof Buffer)) v = Buffer.from(v);
    const d = decoders[i];
    node[key] = d === null ? v : d!.mapFromDriverValue(v);
  }
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Buffer.isBuffer(a)) return a.equals(b as Buffer);
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  // Nested objects (a table's columns, a JSON column's value: a new object per call) compare by content.
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

const INSTALLED = Symbol.for('controller.fastRowMapping');

/** drizzle's own mappings, kept on the prototype (tests compare against them). */
export const DRIZZLE_MAPPING = Symbol.for('controller.drizzleRowMapping');

/** Rows built by a plan since start (tests check that a selection took this path, not drizzle's). */
export const rowMappingStats = { planned: 0 };

/**
 * Installs the mapping on the prepared-query class of a drizzle libSQL database (once per process).
 * The class is taken from a query the session prepares (not run): its module path is not importable
 * from every build (the bundle maps `drizzle-orm/libsql/*` to its sqlite3 entry).
 */
export function enableFastRowMapping(db: unknown): void {
  const session = (db as { session?: { prepareQuery?(q: unknown, f: unknown, m: string, a: boolean): object } }).session;
  if (typeof session?.prepareQuery !== 'function') return;
  const proto = Object.getPrototypeOf(session.prepareQuery({ sql: 'select 1', params: [] }, undefined, 'all', false)) as {
    mapAllResult?: Mapper;
    mapGetResult?: Mapper;
    [INSTALLED]?: boolean;
    [DRIZZLE_MAPPING]?: { all: Mapper; get: Mapper };
  };
  if (proto[INSTALLED] || typeof proto.mapAllResult !== 'function' || typeof proto.mapGetResult !== 'function') return;
  proto[INSTALLED] = true;
  const drizzleAll = proto.mapAllResult;
  const drizzleGet = proto.mapGetResult;
  proto[DRIZZLE_MAPPING] = { all: drizzleAll, get: drizzleGet };
  const mapper = (drizzleMap: Mapper, many: boolean): Mapper =>
    function (this: PreparedQuery, rows, isFromBatch) {
      // (A flat selection's rows do not depend on joinsNotNullableMap: drizzle reads it for nested paths only.)
      if (isFromBatch || !this.fields || this.customResultMapper) return drizzleMap.call(this, rows, isFromBatch);
      const plan = planFor(this);
      if (plan === null || plan.differs || rows.length === 0) return drizzleMap.call(this, rows, isFromBatch);
      if (plan.unseen.size > 0 && plan.checks < CHECKED_ROWS) {
        plan.checks++;
        const theirs = drizzleMap.call(this, many ? rows.slice(0, 1) : rows) as unknown;
        const first = (many ? (theirs as unknown[])[0] : theirs) as Record<string, unknown>;
        if (!sameValue(mapRow(plan, rows[0]), first)) {
          plan.differs = true;
          return drizzleMap.call(this, rows, isFromBatch);
        }
        plan.paths.forEach((path, i) => {
          const v = path.length === 1 ? first[path[0]!] : (first[path[0]!] as Record<string, unknown>)[path[1]!];
          if (v !== null) plan.unseen.delete(i);
        });
      }
      if (!many) {
        rowMappingStats.planned++;
        return mapRow(plan, rows[0]) as never;
      }
      rowMappingStats.planned += rows.length;
      const out = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = mapRow(plan, rows[i]);
      return out;
    };
  proto.mapAllResult = mapper(drizzleAll, true);
  proto.mapGetResult = mapper(drizzleGet, false);
}
