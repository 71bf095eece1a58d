import { createRequire } from 'node:module';
import { leanRows } from './lean-rows';
import { libsqlBindingPath } from './libsql-binding';

/**
 * @libsql/client prepares every statement anew on each call. Statements of the native `libsql`
 * binding are reusable (each run resets them), so on the embedded database we keep the prepared
 * statements of each connection, keyed by SQL text (bounded per connection). A connection that is
 * closed takes its cache with it. Node, Deno and Bun only: Workers talk to a libSQL server.
 */
export function enableStatementCache(max = 256): boolean {
  let Database: { prototype: { prepare(sql: string): unknown; __cachedPrepare?: boolean } };
  const binding = libsqlBindingPath();
  if (!binding) return false;
  try {
    Database = createRequire(import.meta.url)(binding);
  } catch {
    return false;
  }
  const proto = Database.prototype;
  if (proto.__cachedPrepare) return true;
  const prepare = proto.prepare;
  proto.prepare = function (this: { __stmts?: Map<string, unknown> }, sql: string) {
    const cache = (this.__stmts ??= new Map());
    let stmt = cache.get(sql);
    if (stmt === undefined) {
      stmt = prepare.call(this, sql) as StatementLike;
      leanStatement(Object.getPrototypeOf(stmt));
      // A star select's columns follow the schema, but a reused statement reports the list it was
      // prepared with until its next run re-prepares it: after DDL the client would pair the new
      // row with the old names. Such statements are prepared per call (the app itself names columns).
      if (STAR_SELECT.test(sql)) return stmt;
      if (cache.size < max) cache.set(sql, stmt);
    }
    return stmt;
  };
  proto.__cachedPrepare = true;
  return true;
}

// `*` or `t.*` as a result column: before `,` or FROM, or ending a `RETURNING *`.
const STAR_SELECT = /(^|[\s,(])(\w+\.)?\*\s*(,|from\b|;|$)/i;

interface StatementLike {
  raw(on?: boolean): StatementLike;
  all(...args: unknown[]): unknown[][];
  safeIntegers(on?: boolean): StatementLike;
  columns(): unknown[];
  readonly reader: boolean;
  readonly pluckMode?: boolean;
  __columns?: unknown[];
  __reader?: boolean;
  __raw?: boolean;
  __safeIntegers?: boolean;
}

// Thrown instead of the binding's error; @libsql/client only catches it (see below).
const NOT_A_READER = Object.assign(new Error('This statement does not return data'), { stack: '' });

/**
 * @libsql/client runs every statement by calling `safeIntegers(true)` and then `raw(true)`, and takes
 * the exception raw() throws for a statement that returns no data (INSERT, UPDATE, COMMIT…) as "not
 * a query". On a reused statement that is two native calls and, for every write, an Error built in
 * native code with its stack: ~15 % of the database time of an agent request. The patched methods
 * remember the statement's mode and answer from the statement's `reader` flag — exactly when the
 * binding's raw() throws — with one preallocated error.
 */
function leanStatement(proto: StatementLike & { __lean?: boolean }): void {
  if (proto.__lean) return;
  const raw = proto.raw;
  const safeIntegers = proto.safeIntegers;
  const columns = proto.columns;
  const all = proto.all;
  if (
    typeof raw !== 'function' ||
    typeof safeIntegers !== 'function' ||
    typeof columns !== 'function' ||
    typeof all !== 'function' ||
    !('reader' in proto)
  )
    return;
  // The client also asks twice per run for the result's column list; the binding builds it anew in
  // native code each time (an object per column: for a 100-column row that was ~30 % of the CPU of
  // GET /agent/config). A cached statement names its columns (star selects are not cached), so its
  // list is fixed.
  proto.columns = function (this: StatementLike) {
    return (this.__columns ??= columns.call(this));
  };
  proto.raw = function (this: StatementLike, on?: boolean) {
    const want = on ?? true;
    if (want && (this.__reader ??= this.reader) === false) throw NOT_A_READER;
    if (this.__raw !== want) {
      raw.call(this, want);
      this.__raw = want;
    }
    return this;
  };
  proto.safeIntegers = function (this: StatementLike, on?: boolean) {
    const want = on ?? true;
    if (this.__safeIntegers !== want) {
      safeIntegers.call(this, want);
      this.__safeIntegers = want;
    }
    return this;
  };
  // Raw rows become the client's row objects through a class per column list (lean-rows.ts).
  proto.all = function (this: StatementLike, ...args: unknown[]) {
    const rows = all.apply(this, args);
    return this.__raw && !this.pluckMode ? leanRows(rows, this as never) : rows;
  };
  proto.__lean = true;
}
