import { Param, Placeholder, is, type Query } from 'drizzle-orm';
import type { Db } from './client';

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
 */
export class ReusableStatement {
  private constructor(private readonly query: Query) {}

  /**
   * `query` is the `.toSQL()` of a builder whose every value is a placeholder. A value rendered into
   * the parameters (a literal, or a column's `$onUpdate`) would be frozen into every later call, so
   * it is refused.
   */
  static from(query: Query): ReusableStatement {
    for (const p of query.params) {
      if (!is(p, Placeholder) && !(is(p, Param) && is(p.value, Placeholder))) {
        throw new Error(`ReusableStatement: every value must be a placeholder (${query.sql})`);
      }
    }
    return new ReusableStatement(query);
  }

  run(db: Db, values: Record<string, unknown>): Promise<unknown> {
    // drizzle's session API (what `.prepare()` calls); it does not re-render the query.
    return (db as unknown as { session: DrizzleSession }).session.prepareQuery(this.query, undefined, 'run', false).run(values);
  }
}

interface DrizzleSession {
  prepareQuery(query: Query, fields: undefined, executeMethod: 'run', isResponseInArrayMode: boolean): { run(values: Record<string, unknown>): Promise<unknown> };
}

/** Reusable statements by shape (e.g. the set of columns an UPDATE writes), at most `max` shapes; others are built per call. */
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
