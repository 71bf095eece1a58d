import { createRequire } from 'node:module';

/**
 * @libsql/client prepares every statement anew on each call. Statements of the native `libsql`
 * binding are reusable (each run resets them), so on the embedded database we keep the prepared
 * statements of each connection, keyed by SQL text (bounded per connection). A connection that is
 * closed takes its cache with it. Node, Deno and Bun only: Workers talk to a libSQL server.
 */
export function enableStatementCache(max = 256): boolean {
  let Database: { prototype: { prepare(sql: string): unknown; __cachedPrepare?: boolean } };
  try {
    const require = createRequire(import.meta.url);
    // Resolve the binding the way @libsql/client does (it is a dependency of the client).
    const clientEntry = require.resolve('@libsql/client');
    Database = createRequire(clientEntry)('libsql');
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
      stmt = prepare.call(this, sql);
      if (cache.size < max) cache.set(sql, stmt);
    }
    return stmt;
  };
  proto.__cachedPrepare = true;
  return true;
}
