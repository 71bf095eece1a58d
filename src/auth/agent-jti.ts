import { and, gt, inArray, sql } from 'drizzle-orm';
import { agentJtiBatch } from '../../db/schema/index';
import { withTransaction, type TxHost } from '../../db/tx';
import type { Clock } from '../lib/clock';
import { every } from '../lib/periodic';
import type { Logger } from '../lib/logger';
import { errorFields } from '../lib/logger';
import { DigestTable, digest64 } from './digest-table';

/**
 * Used agent-token ids (each token is accepted once, so a captured one cannot be replayed), built for the hot path: every agent request checks
 * and records its `jti` in memory and never waits for the database. New ids are persisted in batches
 * every `flushMs`; every `syncMs` each instance reads the batches the other instances wrote since its
 * last look and adds their ids to its memory. So a token used on one instance is refused on every
 * other instance sharing the database within about `flushMs + syncMs` plus two short queries (0.5 s
 * with the defaults); the batches are also loaded at start, so protection survives a restart.
 *
 * Limits, by design: a replay that reaches another instance inside that window is accepted there (it
 * is logged when the ids meet during the sync); a crash loses at most the last `flushMs` of ids.
 * Tokens are bound to TLS and minted per request by Edgelet, so the residual window is small. A
 * synchronous check of a shared table on every request would close it, at the cost of a database
 * round trip and write per agent request.
 *
 * In memory an id is a 64-bit digest of `{fogUuid}:{jti}`: a fresh id is taken for a used one only if
 * the digests match (about 2 × 10⁻¹³ per request with 2 million ids remembered). The database keeps
 * the same digests, 12 bytes per id with its expiry: the ids themselves (~88 bytes each as text lines)
 * were ~260 KB per second at 10,000 agents, and deleting 5 minutes of such rows blocked the event loop
 * for seconds.
 */
const EXPIRY_BUCKET_MS = 10_000;
/**
 * How far back (in time) the sync re-reads batch ids. Ids come from a sequence, and on a database with
 * concurrent writers (PostgreSQL) a batch can commit after one with a higher id was already read; each
 * sync therefore looks again at ids handed out in the last few seconds and skips the batches it has
 * already merged. A batch whose commit lags its id by longer than this would be missed by the
 * instances that were running (not by those starting later); write transactions last milliseconds.
 */
const SYNC_LOOKBACK_MS = 10_000;
/** Persisted bytes per id: two little-endian uint32 digest words and the expiry in seconds. */
const ENTRY_BYTES = 12;
const expirySeconds = (expiresAt: number) => Math.max(1, Math.ceil(expiresAt / 1000));

// Rows from before migration 0015 hold `{fogUuid}:{jti}` keys as text lines; a key carrying the line
// format's own separators was written as a JSON string (a fog uuid never starts with a quote).
const decodeKey = (text: string): string => (text.startsWith('"') ? (JSON.parse(text) as string) : text);

export class JtiStore {
  // Remembered ids as 64-bit digests of `{fogUuid}:{jti}` (digest-table.ts): ~46 bytes each with the
  // expiry lists, instead of ~190 as strings in a Map — 10 minutes of tokens at 10,000 agents is
  // ~1.8 million ids (82 vs 326 MB).
  #seen = new DigestTable(1 << 14);
  // The same digests by expiry (10 s buckets, pairs of int32 words): a sweep visits only what has
  // expired, instead of every remembered id, which stalled the event loop once a second.
  #expiring = new Map<number, number[]>();
  readonly #d = new Uint32Array(2);
  // Ids not yet persisted: (digest word 0, digest word 1, expiry in seconds) triples, and their latest expiry.
  #pending: number[] = [];
  #pendingExpiresAt = 0;
  #timer?: { stop(): void };
  #flushing?: Promise<void>;
  #ticking?: Promise<void>;
  // Batch ids already in memory (written here, loaded or merged), down to the sync floor.
  #knownBatches = new Set<number>();
  // The highest batch id seen by each recent sync, oldest first: the floor is the one from
  // SYNC_LOOKBACK_MS ago.
  #syncMarks: Array<{ at: number; id: number }> = [];
  #syncFloor = 0;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly flushMs = 250,
    private readonly syncMs = 250,
  ) {}

  get size(): number {
    return this.#seen.size;
  }

  /** Loads unexpired ids persisted by earlier runs (and other instances). */
  async load(host: TxHost): Promise<void> {
    const now = this.clock.now();
    const rows = await host.store.db
      .select({ id: agentJtiBatch.id, ids: agentJtiBatch.ids, digests: agentJtiBatch.digests })
      .from(agentJtiBatch)
      .where(sql`${agentJtiBatch.expiresAt} > ${now}`);
    let highest = 0;
    for (const r of rows) {
      this.#merge(r, now);
      this.#knownBatches.add(r.id);
      if (r.id > highest) highest = r.id;
    }
    this.#syncMarks = [{ at: now, id: highest }];
  }

  /** Adds the unexpired ids of a persisted batch; returns how many of them were already known. */
  #merge(r: { ids: string; digests: Uint8Array | null }, now: number): number {
    const d = this.#d;
    let known = 0;
    if (r.digests) {
      const view = new DataView(r.digests.buffer, r.digests.byteOffset, r.digests.byteLength);
      for (let o = 0; o + ENTRY_BYTES <= view.byteLength; o += ENTRY_BYTES) {
        const expiresAt = view.getUint32(o + 8, true) * 1000;
        if (expiresAt <= now) continue;
        d[0] = view.getUint32(o, true);
        d[1] = view.getUint32(o + 4, true);
        if (!this.#add(expiresAt)) known++;
      }
      return known;
    }
    // A row from before migration 0015: the ids as text lines.
    for (const line of r.ids.split('\n')) {
      const tab = line.lastIndexOf('\t');
      const expiresAt = Number(line.slice(tab + 1));
      if (tab > 0 && expiresAt > now) {
        digest64(decodeKey(line.slice(0, tab)), d);
        if (!this.#add(expiresAt)) known++;
      }
    }
    return known;
  }

  /**
   * Adds to memory the ids other instances persisted since the last sync. Reads only batch ids above
   * the floor (a few rows), then the digests of the batches not yet known here; with one instance the
   * second query never runs.
   */
  async sync(host: TxHost): Promise<void> {
    const now = this.clock.now();
    const marks = this.#syncMarks;
    while (marks.length > 1 && marks[1]!.at <= now - SYNC_LOOKBACK_MS) marks.shift();
    const floor = marks[0]?.at !== undefined && marks[0].at <= now - SYNC_LOOKBACK_MS ? marks[0].id : this.#syncFloor;
    if (floor > this.#syncFloor) {
      this.#syncFloor = floor;
      for (const id of this.#knownBatches) if (id <= floor) this.#knownBatches.delete(id);
    }
    const db = host.store.db;
    const ids = await db
      .select({ id: agentJtiBatch.id })
      .from(agentJtiBatch)
      .where(and(gt(agentJtiBatch.id, this.#syncFloor), gt(agentJtiBatch.expiresAt, now)));
    let highest = marks.at(-1)?.id ?? 0;
    const unknown: number[] = [];
    for (const { id } of ids) {
      if (id > highest) highest = id;
      if (!this.#knownBatches.has(id)) unknown.push(id);
    }
    marks.push({ at: now, id: highest });
    if (unknown.length === 0) return;
    let replays = 0;
    for (let i = 0; i < unknown.length; i += 100) {
      const rows = await db
        .select({ id: agentJtiBatch.id, ids: agentJtiBatch.ids, digests: agentJtiBatch.digests })
        .from(agentJtiBatch)
        .where(inArray(agentJtiBatch.id, unknown.slice(i, i + 100)));
      for (const r of rows) {
        replays += this.#merge(r, now);
        this.#knownBatches.add(r.id);
      }
    }
    // Another instance accepted an id this one had accepted too (or merged from a third): a replay
    // that reached two instances before either had told the other.
    if (replays > 0) this.logger.warn('agent token ids accepted on two instances (replay inside the sync window)', { count: replays });
  }

  /** Adds the digest in `#d`; false when it was already there. Expiries are kept in whole seconds, rounded up. */
  #add(expiresAt: number): boolean {
    const d = this.#d;
    if (!this.#seen.add(d[0]!, d[1]!, expirySeconds(expiresAt))) return false;
    const bucket = Math.floor(expiresAt / EXPIRY_BUCKET_MS);
    const words = this.#expiring.get(bucket);
    if (words) words.push(d[0]! | 0, d[1]! | 0);
    else this.#expiring.set(bucket, [d[0]! | 0, d[1]! | 0]);
    return true;
  }

  /** Records `jti`; false when it was already used. */
  use(jti: string, fogUuid: string, expiresAt: number): boolean {
    const d = this.#d;
    digest64(`${fogUuid}:${jti}`, d);
    if (!this.#add(expiresAt)) return false;
    this.#pending.push(d[0]!, d[1]!, expirySeconds(expiresAt));
    if (expiresAt > this.#pendingExpiresAt) this.#pendingExpiresAt = expiresAt;
    return true;
  }

  start(host: TxHost): void {
    let sinceSync = 0;
    const step = Math.min(this.flushMs, this.syncMs);
    // Flush and sync take turns on one timer: a sync that ran while this instance's own insert was
    // committing would take that batch for another instance's.
    this.#timer = every(step, () => {
      if (this.#ticking) return;
      sinceSync += step;
      const syncNow = sinceSync >= this.syncMs;
      if (syncNow) sinceSync = 0;
      this.#ticking = this.flush(host)
        .then(() => (syncNow ? this.sync(host) : undefined))
        .catch((err) => this.logger.warn('could not read the agent token ids of other instances; will retry', errorFields(err)))
        .finally(() => (this.#ticking = undefined));
    });
  }

  async stop(host: TxHost): Promise<void> {
    this.#timer?.stop();
    await this.#ticking;
    await this.flush(host);
  }

  /** Writes pending ids in one transaction and forgets expired ones from memory. */
  async flush(host: TxHost): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const batch = this.#pending;
    if (batch.length === 0) {
      this.#sweep();
      return;
    }
    const expiresAt = this.#pendingExpiresAt;
    this.#pending = [];
    this.#pendingExpiresAt = 0;
    const digests = new Uint8Array((batch.length / 3) * ENTRY_BYTES);
    const view = new DataView(digests.buffer);
    for (let i = 0, o = 0; i < batch.length; i += 3, o += ENTRY_BYTES) {
      view.setUint32(o, batch[i]!, true);
      view.setUint32(o + 4, batch[i + 1]!, true);
      view.setUint32(o + 8, batch[i + 2]!, true);
    }
    this.#flushing = withTransaction(host, async (tx) => {
      const [row] = await tx.db.insert(agentJtiBatch).values({ expiresAt, ids: '', digests }).returning({ id: agentJtiBatch.id });
      return row!.id;
    })
      .then((id) => void this.#knownBatches.add(id))
      .catch((err) => {
        // Keep them for the next attempt; memory still protects this instance meanwhile.
        this.#pending = batch.concat(this.#pending);
        this.#pendingExpiresAt = Math.max(this.#pendingExpiresAt, expiresAt);
        this.logger.warn('could not persist used agent token ids; will retry', errorFields(err));
      })
      .finally(() => {
        this.#flushing = undefined;
        this.#sweep();
      });
    return this.#flushing;
  }

  /** Forgets expired ids (a token past its expiry is refused before its id is looked at). */
  #sweep(): void {
    const now = this.clock.now();
    const nowSec = Math.floor(now / 1000);
    for (const [bucket, words] of this.#expiring) {
      // Every expiry in the bucket, rounded up to whole seconds, is ≤ the bucket's end.
      if ((bucket + 1) * EXPIRY_BUCKET_MS > now) continue;
      for (let i = 0; i < words.length; i += 2) this.#seen.deleteExpired(words[i]!, words[i + 1]!, nowSec);
      this.#expiring.delete(bucket);
    }
  }
}
