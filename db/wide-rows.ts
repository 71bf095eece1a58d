import { Column, getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from './client';
import { isPg } from './dialect';

/**
 * Many rows of a wide table (a page of fogs: 87 columns) read from the embedded database.
 *
 * The libSQL binding hands each column value to JavaScript on its own, ~0.25 µs a value: for a list of
 * 10,000 fogs that was a fifth of the route's time, more than building and writing the answer. Here
 * SQLite puts a row's integer and text columns into one JSON array (`json_array`, in C), which
 * `JSON.parse` reads back at a fraction of that cost. Columns of other types come as their own values:
 * SQLite writes REAL values in JSON with 15 significant digits (0.1 + 0.2 would read back as 0.3) and
 * cannot put a BLOB in JSON at all.
 *
 * Integers beyond 2^53 cannot come back exactly from JSON; such a value is refused with the client's own
 * RangeError rather than read as a different number. Each column's driver mapping (booleans, JSON text,
 * times) is applied as drizzle applies it, so a row reads as `db.select().from(table)` reads it, in the
 * same key order. On PostgreSQL the selection is the table's columns and the rows are drizzle's.
 */
export class WideRows<T extends SQLiteTable> {
  readonly #keys: string[];
  readonly #columns: Column[];
  /** Per column: its place in the JSON array, or -1 where it is selected as its own value. */
  readonly #inJson: number[];
  readonly #integer: boolean[];
  readonly #identity: boolean[];
  #libsql?: Record<string, SQL | SQLiteColumn>;

  constructor(private readonly table: T) {
    const cols = getTableColumns(table) as Record<string, Column>;
    this.#keys = Object.keys(cols);
    this.#columns = Object.values(cols);
    let at = 0;
    this.#inJson = this.#columns.map((c) => (jsonSafe(c) ? at++ : -1));
    this.#integer = this.#columns.map((c) => c.getSQLType() === 'integer');
    this.#identity = this.#columns.map((c) => c.mapFromDriverValue === Column.prototype.mapFromDriverValue);
  }

  /** What to select: on libSQL one JSON text and the columns that cannot go into it, on PostgreSQL the table's columns. */
  selection(db: Db): Record<string, SQL | SQLiteColumn> {
    if (isPg(db)) return getTableColumns(this.table) as Record<string, SQLiteColumn>;
    if (this.#libsql) return this.#libsql;
    const json = this.#columns.filter((_, i) => this.#inJson[i]! >= 0);
    const out: Record<string, SQL | SQLiteColumn> = { [JSON_KEY]: sql<string>`json_array(${sql.join(json, sql`, `)})` };
    this.#columns.forEach((c, i) => {
      if (this.#inJson[i]! < 0) out[this.#keys[i]!] = c as SQLiteColumn;
    });
    return (this.#libsql = out);
  }

  /** The table's rows from rows selected with `selection(db)`. */
  rows(db: Db, selected: ReadonlyArray<Record<string, unknown>>): Array<T['$inferSelect']> {
    if (isPg(db)) return selected as Array<T['$inferSelect']>;
    const keys = this.#keys;
    const columns = this.#columns;
    const inJson = this.#inJson;
    const out = new Array<T['$inferSelect']>(selected.length);
    for (let r = 0; r < selected.length; r++) {
      const row = selected[r]!;
      const values = JSON.parse(row[JSON_KEY] as string) as unknown[];
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const at = inJson[i]!;
        if (at < 0) {
          obj[keys[i]!] = row[keys[i]!]; // selected as its own value: drizzle has mapped it
          continue;
        }
        const v = values[at];
        if (v === null) {
          obj[keys[i]!] = null;
          continue;
        }
        if (this.#integer[i] && typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v))
          throw new RangeError('Received integer which cannot be safely represented as a JavaScript number');
        obj[keys[i]!] = this.#identity[i] ? v : columns[i]!.mapFromDriverValue(v);
      }
      out[r] = obj as T['$inferSelect'];
    }
    return out;
  }
}

const JSON_KEY = '__row';

/** Columns whose every value JSON carries exactly: INTEGER (within 2^53, checked on reading) and TEXT. */
function jsonSafe(c: Column): boolean {
  const type = c.getSQLType().toLowerCase();
  return type === 'integer' || type === 'text' || type.startsWith('text(');
}
