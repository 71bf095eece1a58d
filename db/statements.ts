import { type Column, Param, Placeholder, is, sql, type Query } from 'drizzle-orm';
import type { Db } from './client';
import { isPg } from './dialect';

/**
 * Statements of the agent hot path whose SQL drizzle renders once.
 *
 * Why: drizzle's query builder renders the SQL anew on every call, walking every column of the
 * table. For an UPDATE of `fog` (about 100 columns) with the ~35 fields of a status report that is
 * ~0.35 ms of CPU, against ~0.04 ms to execute it — at thousands of agents the largest share of a
 * status report's cost. A `ReusableStatement` is built with `sql.placeholder(...)` values once per
 * shape; each call fills the placeholders (through the columns' driver mapping, exactly as a
 * `.prepare()`d query does) and runs the text on the handle it is given, the database or an open
 * transaction. `.prepare()` itself cannot be reused across transactions: it is bound to one session.
 *
 * On PostgreSQL the same objects run through drizzle's postgres-js session with `prepare` on: the
 * driver then keeps one server-side prepared statement per text and connection (it names them
 * itself, so one name per text is guaranteed), and the server skips parsing and planning too.
 */
export class ReusableStatement {
  // Each parameter's placeholder name and the column encoder drizzle would apply to its value.
  readonly #binders: ReadonlyArray<{ name: string; encoder?: { mapToDriverValue(v: unknown): unknown } }>;

  private constructor(private readonly query: Query) {
    this.#binders = query.params.map((p) =>
      is(p, Placeholder) ? { name: p.name } : { name: ((p as Param).value as Placeholder).name, encoder: (p as Param).encoder },
    );
  }

  /** `query` is the `.toSQL()` of a builder whose every value is a placeholder (others are refused). */
  static from(query: Query): ReusableStatement {
    return new ReusableStatement(onlyPlaceholders(query, 'ReusableStatement'));
  }

  async run(db: Db, values: Record<string, unknown>): Promise<{ rowsAffected: number }> {
    // drizzle's session API (what `.prepare()` calls); it does not re-render the query.
    if (isPg(db)) {
      const r = (await pgSessionOf(db).prepareQuery(this.query, undefined, PREPARED, false).execute(values)) as { count: number };
      return { rowsAffected: r.count };
    }
    // On libSQL the statement goes to the session's client (or its open transaction) as drizzle's
    // prepared query sends it — `{ sql, args }` — with the arguments bound here from the list built
    // once: drizzle's binding identifies every parameter's class anew on each call (`is()` walks
    // prototypes), ~15 % of a status report's CPU. Errors reach the caller unwrapped; everything that
    // reads them walks `cause` chains and sees the same driver error.
    const session = sessionOf(db);
    const target = session.tx ?? session.client;
    if (!target) return (await session.prepareQuery(this.query, undefined, 'run', false).run(values)) as { rowsAffected: number };
    const binders = this.#binders;
    const args = new Array<unknown>(binders.length);
    for (let i = 0; i < binders.length; i++) {
      const { name, encoder } = binders[i]!;
      const value = values[name];
      if (value === undefined && !(name in values)) throw new Error(`No value for placeholder "${name}" was provided`);
      args[i] = encoder ? encoder.mapToDriverValue(value) : value;
    }
    return (await target.execute({ sql: this.query.sql, args })) as { rowsAffected: number };
  }
}

/**
 * A SELECT rendered once, the reading counterpart of ReusableStatement: each call runs the same text
 * on the handle it is given (the database or an open transaction) and drizzle maps the rows with
 * the builder's own field list, exactly as running the builder would.
 */
export class ReusableSelect<Row> {
  private constructor(
    private readonly query: Query,
    private readonly fields: unknown,
    private readonly joinsNotNullableMap: unknown,
  ) {}

  /** `builder` is a select whose every value is a placeholder; it is never run. */
  static from<B extends { prepare(): unknown; toSQL(): Query; all(...args: never[]): Promise<unknown[]> }>(
    builder: B,
  ): ReusableSelect<Awaited<ReturnType<B['all']>>[number]> {
    // `.prepare()` only renders: it hands back the query text, the ordered field list and the
    // left-join nullability that the row mapping needs (drizzle keeps them on the prepared query).
    const prepared = builder.prepare() as { getQuery(): Query; fields?: unknown; joinsNotNullableMap?: unknown };
    return new ReusableSelect(onlyPlaceholders(prepared.getQuery(), 'ReusableSelect'), prepared.fields, prepared.joinsNotNullableMap);
  }

  all(db: Db, values: Record<string, unknown>): Promise<Row[]> {
    if (isPg(db)) {
      const q = pgSessionOf(db).prepareQuery(this.query, this.fields, PREPARED, true);
      q.joinsNotNullableMap = this.joinsNotNullableMap;
      return q.execute(values) as Promise<Row[]>;
    }
    const q = sessionOf(db).prepareQuery(this.query, this.fields, 'all', true);
    q.joinsNotNullableMap = this.joinsNotNullableMap;
    return q.all(values) as Promise<Row[]>;
  }
}

/**
 * Statements of a module rendered on first use with whichever handle of a dialect comes first (the
 * text depends only on the schema and the dialect, never on the handle or on data), then reused.
 * One rendering per dialect: a process may hold both (e.g. `db copy`, tests).
 */
export function renderOnce<T>(build: (db: Db) => T): (db: Db) => T {
  let sqlite: T | undefined;
  let pg: T | undefined;
  return (db) => (isPg(db) ? (pg ??= build(db)) : (sqlite ??= build(db)));
}

/**
 * The number of placeholders to render for an IN list of `n` values: the next power of two, so a
 * list of any length up to `max` needs one of log2(max) + 1 statement texts. The caller fills the
 * spare placeholders by repeating a value of the list, which `IN` does not count twice.
 */
export function inListSlots(n: number): number {
  let slots = 1;
  while (slots < n) slots *= 2;
  return slots;
}

/** Placeholder values `{ [prefix]0: values[0], … }` for an IN list of `slots` placeholders, padded with the last value. */
export function inListValues(prefix: string, values: readonly unknown[], slots: number): Record<string, unknown> {
  return fillInList({}, placeholderNames(prefix, slots), values);
}

// The names `in0`, `in1`, … of each list size, made once (a page of a list fills 128 of them per query).
const namesBySize = new Map<string, string[]>();
function placeholderNames(prefix: string, slots: number): string[] {
  const key = `${prefix}:${slots}`;
  let names = namesBySize.get(key);
  if (!names) namesBySize.set(key, (names = Array.from({ length: slots }, (_, i) => `${prefix}${i}`)));
  return names;
}

function fillInList(out: Record<string, unknown>, names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  if (values.length === 0 || values.length > names.length)
    throw new Error(`inListValues: ${values.length} values for ${names.length} slots`);
  const last = values.length - 1;
  for (let i = 0; i < names.length; i++) out[names[i]!] = values[Math.min(i, last)];
  return out;
}

/**
 * A placeholder compared with `column` whose value goes through the column's driver mapping, as a literal
 * would (`eq(column, sql.placeholder(…))` passes the value as it is: a boolean reaches PostgreSQL's bigint
 * columns as a boolean, which it refuses).
 */
export function columnPlaceholder(column: Column, name: string): Param {
  return new Param(sql.placeholder(name), column as never);
}

/** The longest IN list one InListSelect statement takes; longer lists are read in chunks of this size. */
const IN_LIST_MAX = 512;

/**
 * A SELECT with one IN list (`build` puts `list` where the values go), rendered once per dialect and
 * list size — padded to a power of two, so at most 10 texts — instead of on every call: drizzle's
 * rendering of a page's detail queries cost more than running them. `all` reads every value's rows;
 * lists longer than 512 values are read in chunks. Other values of the statement are placeholders too
 * (`values` of `all`).
 */
export class InListSelect<Row> {
  readonly #statements = new Map<string, ReusableSelect<Row>>();

  private constructor(private readonly build: (db: Db, list: Placeholder[]) => unknown) {}

  static from<B extends { prepare(): unknown; toSQL(): Query; all(...args: never[]): Promise<unknown[]> }>(
    build: (db: Db, list: Placeholder[]) => B,
  ): InListSelect<Awaited<ReturnType<B['all']>>[number]> {
    return new InListSelect(build);
  }

  async all(db: Db, list: readonly unknown[], values: Record<string, unknown> = {}): Promise<Row[]> {
    if (list.length === 0) return [];
    if (list.length > IN_LIST_MAX) {
      const out: Row[] = [];
      for (let i = 0; i < list.length; i += IN_LIST_MAX) out.push(...(await this.all(db, list.slice(i, i + IN_LIST_MAX), values)));
      return out;
    }
    const slots = inListSlots(list.length);
    const key = `${isPg(db) ? 'pg' : 'sqlite'}:${slots}`;
    let stmt = this.#statements.get(key);
    if (!stmt) {
      const placeholders = Array.from({ length: slots }, (_, i) => sql.placeholder(`in${i}`));
      stmt = ReusableSelect.from(this.build(db, placeholders) as never) as ReusableSelect<Row>;
      this.#statements.set(key, stmt);
    }
    return stmt.all(db, fillInList({ ...values }, placeholderNames('in', slots), list));
  }
}

/**
 * A value rendered into the parameters (a literal, or a column's `$onUpdate`/`$defaultFn`) would be
 * frozen into every later call, so every parameter must be a placeholder.
 */
function onlyPlaceholders(query: Query, what: string): Query {
  for (const p of query.params) {
    if (!is(p, Placeholder) && !(is(p, Param) && is(p.value, Placeholder))) {
      throw new Error(`${what}: every value must be a placeholder (${query.sql})`);
    }
  }
  return query;
}

interface DrizzlePrepared {
  run(values: Record<string, unknown>): Promise<unknown>;
  all(values: Record<string, unknown>): Promise<unknown[]>;
  joinsNotNullableMap?: unknown;
}

interface DrizzleSession {
  prepareQuery(query: Query, fields: unknown, executeMethod: 'run' | 'all', isResponseInArrayMode: boolean): DrizzlePrepared;
  /** drizzle's libSQL session: the client, and inside a transaction the client's transaction. */
  client?: LibsqlExecutor;
  tx?: LibsqlExecutor;
}

interface LibsqlExecutor {
  execute(stmt: { sql: string; args: unknown[] }): Promise<unknown>;
}

const sessionOf = (db: Db) => (db as unknown as { session: DrizzleSession }).session;

interface PgPrepared {
  execute(values: Record<string, unknown>): Promise<unknown>;
  joinsNotNullableMap?: unknown;
}

/** drizzle's PostgreSQL session: a name asks the driver to prepare the statement on the server. */
interface PgDrizzleSession {
  prepareQuery(query: Query, fields: unknown, name: string | undefined, isResponseInArrayMode: boolean): PgPrepared;
}

/** Any name turns on postgres.js's per-connection prepared statements; the driver picks the real names by text. */
const PREPARED = 'reusable';

const pgSessionOf = (db: Db) => (db as unknown as { session: PgDrizzleSession }).session;

/**
 * Reusable statements by shape (e.g. the set of columns an UPDATE writes), at most `max` shapes; others
 * are built per call. `build` renders with one handle, so an instance serves one dialect.
 */
export class StatementShapes {
  #byShape = new Map<string, ReusableStatement>();
  constructor(
    private readonly build: (shape: readonly string[]) => Query,
    private readonly max = 32,
  ) {}

  get(shape: readonly string[]): ReusableStatement {
    const key = shape.join(',');
    let stmt = this.#byShape.get(key);
    if (!stmt) {
      stmt = ReusableStatement.from(this.build(shape));
      if (this.#byShape.size < this.max) this.#byShape.set(key, stmt);
    }
    return stmt;
  }
}
