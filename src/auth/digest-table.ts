/**
 * A set of 64-bit digests with an expiry each, in three typed arrays (open addressing, linear
 * probing, backward-shift deletion): 12 bytes per slot, 24–48 per entry at the load it keeps (at
 * most half full), and no object per entry for the garbage collector to trace. Built for the
 * used-token-id store, which for a large fleet holds millions of ids (every token of the last ten
 * minutes): as strings in a Map they took several times the heap this table and its expiry lists do.
 *
 * A digest is two 32-bit words (`hi`, `lo`); `lo` picks the home slot. An expiry of 0 marks an empty
 * slot, so expiries are stored as seconds ≥ 1.
 */
export class DigestTable {
  #hi: Uint32Array;
  #lo: Uint32Array;
  #exp: Uint32Array;
  #mask: number;
  #count = 0;
  readonly #minCapacity: number;

  constructor(capacity = 1024) {
    const c = pow2(Math.max(16, capacity));
    this.#minCapacity = c;
    this.#hi = new Uint32Array(c);
    this.#lo = new Uint32Array(c);
    this.#exp = new Uint32Array(c);
    this.#mask = c - 1;
  }

  get size(): number {
    return this.#count;
  }

  get capacity(): number {
    return this.#mask + 1;
  }

  #find(hi: number, lo: number): number {
    const mask = this.#mask;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      if (this.#exp[i] === 0) return -1;
      if (this.#lo[i] === lo && this.#hi[i] === hi) return i;
    }
  }

  has(hi: number, lo: number): boolean {
    return this.#find(hi >>> 0, lo >>> 0) >= 0;
  }

  /** Expiry (seconds) of the digest, or 0 when absent. */
  expiry(hi: number, lo: number): number {
    const i = this.#find(hi >>> 0, lo >>> 0);
    return i < 0 ? 0 : this.#exp[i]!;
  }

  /** Adds the digest (false when it is already there; its expiry is then left as it was). */
  add(hi: number, lo: number, expSec: number): boolean {
    hi >>>= 0;
    lo >>>= 0;
    if (!(expSec >= 1)) throw new RangeError('expiry must be ≥ 1 s');
    if ((this.#count + 1) * 2 > this.#mask + 1) this.#resize((this.#mask + 1) * 2);
    const mask = this.#mask;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      if (this.#exp[i] === 0) {
        this.#hi[i] = hi;
        this.#lo[i] = lo;
        this.#exp[i] = Math.min(expSec, 0xffffffff);
        this.#count++;
        return true;
      }
      if (this.#lo[i] === lo && this.#hi[i] === hi) return false;
    }
  }

  /** Removes the digest if its expiry is ≤ `nowSec`; true when removed. */
  deleteExpired(hi: number, lo: number, nowSec: number): boolean {
    const i = this.#find(hi >>> 0, lo >>> 0);
    if (i < 0 || this.#exp[i]! > nowSec) return false;
    this.#removeAt(i);
    if (this.#count * 8 < this.#mask + 1 && this.#mask + 1 > this.#minCapacity) this.#resize((this.#mask + 1) / 2);
    return true;
  }

  // Backward-shift deletion: entries after the hole that may live there move back, so lookups never
  // need tombstones.
  #removeAt(hole: number): void {
    const mask = this.#mask;
    const hi = this.#hi;
    const lo = this.#lo;
    const exp = this.#exp;
    for (let j = (hole + 1) & mask; exp[j] !== 0; j = (j + 1) & mask) {
      const home = lo[j]! & mask;
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      hi[hole] = hi[j]!;
      lo[hole] = lo[j]!;
      exp[hole] = exp[j]!;
      hole = j;
    }
    exp[hole] = 0;
    this.#count--;
  }

  #resize(capacity: number): void {
    const oldHi = this.#hi;
    const oldLo = this.#lo;
    const oldExp = this.#exp;
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#exp = new Uint32Array(capacity);
    this.#mask = capacity - 1;
    const mask = this.#mask;
    for (let k = 0; k < oldExp.length; k++) {
      const e = oldExp[k]!;
      if (e === 0) continue;
      let i = oldLo[k]! & mask;
      while (this.#exp[i] !== 0) i = (i + 1) & mask;
      this.#hi[i] = oldHi[k]!;
      this.#lo[i] = oldLo[k]!;
      this.#exp[i] = e;
    }
  }
}

function pow2(n: number): number {
  let c = 16;
  while (c < n) c *= 2;
  return c;
}

/**
 * A 64-bit digest of a string as two 32-bit words (two multiply-xor hashes over the UTF-16 code
 * units with different seeds, each finalised like MurmurHash3's fmix32). Not cryptographic; the
 * store keys it on `{fogUuid}:{jti}` and a wrong "already used" needs a 64-bit match with one of the
 * ids remembered — about 2 × 10⁻¹³ per request with 2 million of them.
 */
export function digest64(s: string, out: Uint32Array): void {
  let h1 = 0x9e3779b9 ^ s.length;
  let h2 = 0x85ebca6b ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  out[0] = fmix32(h1 ^ Math.imul(h2, 0x27d4eb2d));
  out[1] = fmix32(h2 ^ Math.imul(h1, 0x165667b1));
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
