import { Buffer } from 'node:buffer';

/**
 * @libsql/client turns every raw row of the embedded database into an object with one
 * `Object.defineProperty` per column for its index and one for its name: a dictionary-mode object that
 * costs ~100 µs for a 70-column fog row (a third of `GET /iofog-list`'s CPU at 3,000 fogs). A reused
 * statement's `all()` answers an array whose `map` — the client's only use of it — builds each row from a
 * class made once per column list instead: the same own enumerable names in the same order, index and
 * `length` readable and not enumerable, integers as numbers and blobs as ArrayBuffers, as the client does.
 *
 * Rows are checked against the client's own mapping (the callback it passes to `map`) until a row with an
 * integer has matched: a statement whose rows would differ (another `intMode`, a client that maps rows
 * differently after an upgrade) keeps the client's mapping from then on.
 */

interface LeanStatement {
  columns(): Array<{ name: string }>;
  __rowClass?: RowClass | null;
  __rowsVerified?: boolean;
  __rowsDiffer?: boolean;
}

type RowClass = new (values: unknown[]) => object;

const STATEMENT = Symbol('statement');
/** The values behind a row of a reused statement, for a reader that would otherwise copy them through the index getters (db/row-mapping.ts). */
export const ROW_VALUES = Symbol('rowValues');
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

class LeanRows extends Array<unknown[]> {
  declare [STATEMENT]: LeanStatement;
  static override get [Symbol.species]() {
    return Array;
  }
}

/** The rows of `all()` on a raw-mode statement, ready for the client's `map`. */
export function leanRows(rows: unknown[][], statement: LeanStatement): unknown[][] {
  Object.setPrototypeOf(rows, LeanRows.prototype);
  (rows as LeanRows)[STATEMENT] = statement;
  return rows;
}

Object.defineProperty(LeanRows.prototype, 'map', {
  configurable: true,
  writable: true,
  value: function map(this: LeanRows, fn: (row: unknown[], i: number, all: unknown[][]) => unknown) {
    const stmt = this[STATEMENT];
    const plainMap = () => Array.prototype.map.call(this, fn as never) as unknown[];
    if (stmt.__rowsDiffer || this.length === 0) return plainMap();
    if (stmt.__rowClass === undefined) stmt.__rowClass = rowClass(stmt.columns().map((c) => c.name));
    const Row = stmt.__rowClass;
    if (Row === null) return plainMap();
    const out = new Array(this.length);
    let i = 0;
    if (!stmt.__rowsVerified) {
      // The client's row first (it reads the raw values, which are converted in place below).
      const theirs = fn(this[0]!, 0, this) as Record<string, unknown>;
      const hadInteger = convert(this[0]!);
      const ours = new Row(this[0]!);
      if (!sameRow(ours as Record<string, unknown>, theirs)) {
        stmt.__rowsDiffer = true;
        out[0] = theirs;
        for (i = 1; i < this.length; i++) out[i] = fn(this[i]!, i, this);
        return out;
      }
      if (hadInteger) stmt.__rowsVerified = true;
      out[0] = ours;
      i = 1;
    }
    for (; i < this.length; i++) {
      const values = this[i]!;
      convert(values);
      out[i] = new Row(values);
    }
    return out;
  },
});

/** Integers as numbers (a RangeError beyond 2^53, as the client), blobs as their ArrayBuffer. True if it met an integer. */
function convert(values: unknown[]): boolean {
  let integer = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'bigint') {
      if (v < MIN_SAFE || v > MAX_SAFE) throw new RangeError('Received integer which cannot be safely represented as a JavaScript number');
      values[i] = Number(v);
      integer = true;
    } else if (v instanceof Buffer) {
      values[i] = v.buffer;
    }
  }
  return integer;
}

/** A class whose instances read like the client's rows for these columns; null where names would clash with indices. */
function rowClass(columns: string[]): RowClass | null {
  if (columns.some((c) => c === 'length' || /^\d+$/.test(c))) return null;
  const names: string[] = [];
  const at: number[] = [];
  columns.forEach((c, i) => {
    if (names.includes(c)) return; // the first column of a name wins, as in the client
    names.push(c);
    at.push(i);
  });
  class Row {
    readonly #values: unknown[];
    constructor(values: unknown[]) {
      this.#values = values;
      const self = this as unknown as Record<string, unknown>;
      for (let k = 0; k < names.length; k++) self[names[k]!] = values[at[k]!];
    }
    static valueAt(row: Row, i: number): unknown {
      return row.#values[i];
    }
    get [ROW_VALUES](): unknown[] {
      return this.#values;
    }
  }
  for (let i = 0; i < columns.length; i++)
    Object.defineProperty(Row.prototype, i, {
      get(this: Row) {
        return Row.valueAt(this, i);
      },
    });
  Object.defineProperty(Row.prototype, 'length', { value: columns.length });
  return Row;
}

function sameRow(ours: Record<string, unknown>, theirs: Record<string, unknown>): boolean {
  const keys = Object.keys(ours);
  const theirKeys = Object.keys(theirs);
  if (keys.length !== theirKeys.length || keys.some((k, i) => k !== theirKeys[i])) return false;
  if (ours.length !== theirs.length) return false;
  for (const k of keys) if (!Object.is(ours[k], theirs[k])) return false;
  for (let i = 0; i < (ours.length as number); i++) if (!Object.is(ours[i], theirs[i])) return false;
  return true;
}
