// The used-token-id store's digest table (src/auth/digest-table.ts): the same answers as a plain
// Set/Map under random adds, lookups and expiries, including long collision chains that wrap around
// the end of the table, growth and shrinking; and a digest that does not collide on realistic keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { DigestTable, digest64 } from '../../src/auth/digest-table';

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('digest table: random adds and expiries give the answers of a Map, through growth and shrinking', () => {
  for (const [seed, loBits] of [
    [1, 32],
    [2, 4], // only 16 distinct home slots: long chains, wrap-around, many backward shifts
    [3, 1],
  ] as const) {
    const r = rng(seed);
    const table = new DigestTable(16);
    const ref = new Map<string, number>();
    const live: Array<[number, number]> = [];
    let maxCapacity = 0;
    for (let step = 0; step < 40_000; step++) {
      const roll = r();
      if (roll < 0.55 || live.length === 0) {
        const hi = Math.floor(r() * 2 ** 32);
        const lo = Math.floor(r() * 2 ** loBits);
        const exp = 1 + Math.floor(r() * 100);
        const k = `${hi}:${lo}`;
        assert.equal(table.add(hi, lo, exp), !ref.has(k), `seed ${seed} step ${step}: add`);
        if (!ref.has(k)) {
          ref.set(k, exp);
          live.push([hi, lo]);
        }
      } else if (roll < 0.8) {
        // expire a random live entry (now = its expiry), or fail to expire it (now = expiry − 1)
        const idx = Math.floor(r() * live.length);
        const [hi, lo] = live[idx]!;
        const exp = ref.get(`${hi}:${lo}`)!;
        assert.equal(table.deleteExpired(hi, lo, exp - 1), false, 'not yet expired');
        assert.equal(table.deleteExpired(hi, lo, exp), true, `seed ${seed} step ${step}: expire`);
        ref.delete(`${hi}:${lo}`);
        live[idx] = live[live.length - 1]!;
        live.pop();
      } else {
        const probe =
          r() < 0.5 && live.length ? live[Math.floor(r() * live.length)]! : [Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** loBits)];
        const k = `${probe[0]}:${probe[1]}`;
        assert.equal(table.has(probe[0]!, probe[1]!), ref.has(k), `seed ${seed} step ${step}: has`);
        assert.equal(table.expiry(probe[0]!, probe[1]!), ref.get(k) ?? 0);
      }
      assert.equal(table.size, ref.size);
      maxCapacity = Math.max(maxCapacity, table.capacity);
    }
    for (const [k, exp] of ref) {
      const [hi, lo] = k.split(':').map(Number) as [number, number];
      assert.equal(table.expiry(hi, lo), exp, `seed ${seed}: every remaining entry is found`);
    }
    // Drain: the table shrinks back as entries expire.
    for (const [hi, lo] of live) assert.equal(table.deleteExpired(hi, lo, 1000), true);
    assert.equal(table.size, 0);
    assert.ok(maxCapacity >= 2 * ref.size, 'it grew');
    assert.ok(table.capacity <= 64, `it shrank back (capacity ${table.capacity}, max ${maxCapacity})`);
  }
});

test('digest table: an expiry below 1 s is refused (0 marks an empty slot)', () => {
  const t = new DigestTable();
  assert.throws(() => t.add(1, 2, 0), RangeError);
  assert.equal(t.size, 0);
});

test('digest64: no 64-bit collision over 400,000 realistic and adversarially regular keys; each half spreads like a random 32-bit value', () => {
  const fogs = Array.from({ length: 2000 }, () => randomUUID());
  const keys: string[] = [];
  for (let i = 0; i < 200_000; i++) keys.push(`${fogs[i % 2000]}:${randomBytes(33).toString('base64url').slice(0, 52).toUpperCase()}`);
  // Regular keys: one fog, sequential ids and ids differing in one character.
  for (let i = 0; i < 100_000; i++) keys.push(`${fogs[0]}:${i}`);
  for (let i = 0; i < 100_000; i++) keys.push(`${fogs[1]}:${'A'.repeat(40)}${i.toString(36).padStart(12, 'A')}`);
  const out = new Uint32Array(2);
  const full = new Set<string>();
  const his = new Set<number>();
  const los = new Set<number>();
  let hiCollisions = 0;
  let loCollisions = 0;
  for (const k of keys) {
    digest64(k, out);
    if (his.has(out[0]!)) hiCollisions++;
    if (los.has(out[1]!)) loCollisions++;
    his.add(out[0]!);
    los.add(out[1]!);
    full.add(`${out[0]}:${out[1]}`);
  }
  assert.equal(full.size, keys.length, 'no two keys share a 64-bit digest');
  // Random 32-bit values: n² / 2³³ ≈ 19 collisions expected for n = 400,000.
  assert.ok(hiCollisions < 60 && loCollisions < 60, `32-bit halves collide like random values (hi ${hiCollisions}, lo ${loCollisions})`);
  digest64('same', out);
  const a = [out[0], out[1]];
  digest64('same', out);
  assert.deepEqual([out[0], out[1]], a, 'deterministic');
});
