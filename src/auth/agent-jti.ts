import { sql } from 'drizzle-orm';
import { agentJtiBatch } from '../../db/schema/index';
import { withTransaction, type TxHost } from '../../db/tx';
import type { Clock } from '../lib/clock';
import { every } from '../lib/periodic';
import type { Logger } from '../lib/logger';
import { errorFields } from '../lib/logger';
import { DigestTable, digest64 } from './digest-table';

/**
 * Used agent-token ids (agent-api §1.4.3 step 7), built for the hot path: every agent request checks
 * and records its `jti` in memory (no disk write per request); new ids are persisted in batches every
 * `flushMs`, and loaded back at start so replay protection survives a restart for the token lifetime.
 *
 * Limits, by design: a crash loses at most the last `flushMs` of ids (a replay of such a token
 * within its 10-minute life would be accepted); instances sharing a database each know their own ids
 * plus what the others had flushed when they loaded — a replay that reaches another instance within
 * the flush window is not detected. Tokens are bound to TLS and minted per request by Edgelet, so the
 * residual window is small; deployments that need strict cross-instance replay protection should
 * route each agent to one instance (sticky by fog uuid). In memory an id is a 64-bit digest of
 * `{fogUuid}:{jti}`: a fresh id is taken for a used one only if the digests match (about 2 × 10⁻¹³
 * per request with 2 million ids remembered); the database keeps the ids themselves.
 */
const EXPIRY_BUCKET_MS = 10_000;

// A key is `{fogUuid}:{jti}` and the jti is the agent's choice: one carrying the line format's own
// separators is stored as a JSON string (a fog uuid never starts with a quote).
const SEPARATORS = /[\t\n\r]/;
const encodeKey = (key: string): string => (SEPARATORS.test(key) ? JSON.stringify(key) : key);
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
  #pending: Array<{ key: string; expiresAt: number }> = [];
  #timer?: { stop(): void };
  #flushing?: Promise<void>;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly flushMs = 1000,
  ) {}

  get size(): number {
    return this.#seen.size;
  }

  /** Loads unexpired ids persisted by earlier runs (and other instances). */
  async load(host: TxHost): Promise<void> {
    const now = this.clock.now();
    const rows = await host.store.db.select({ ids: agentJtiBatch.ids }).from(agentJtiBatch).where(sql`${agentJtiBatch.expiresAt} > ${now}`);
    for (const r of rows) {
      for (const line of r.ids.split('\n')) {
        const tab = line.lastIndexOf('\t');
        const expiresAt = Number(line.slice(tab + 1));
        if (tab > 0 && expiresAt > now) this.#remember(decodeKey(line.slice(0, tab)), expiresAt);
      }
    }
  }

  /** Adds the key; false when it was already there. Expiries are kept in whole seconds, rounded up. */
  #remember(key: string, expiresAt: number): boolean {
    const d = this.#d;
    digest64(key, d);
    if (!this.#seen.add(d[0]!, d[1]!, Math.max(1, Math.ceil(expiresAt / 1000)))) return false;
    const bucket = Math.floor(expiresAt / EXPIRY_BUCKET_MS);
    const words = this.#expiring.get(bucket);
    if (words) words.push(d[0]! | 0, d[1]! | 0);
    else this.#expiring.set(bucket, [d[0]! | 0, d[1]! | 0]);
    return true;
  }

  /** Records `jti`; false when it was already used. */
  use(jti: string, fogUuid: string, expiresAt: number): boolean {
    const key = `${fogUuid}:${jti}`;
    if (!this.#remember(key, expiresAt)) return false;
    this.#pending.push({ key, expiresAt });
    return true;
  }

  start(host: TxHost): void {
    this.#timer = every(this.flushMs, () => void this.flush(host));
  }

  async stop(host: TxHost): Promise<void> {
    this.#timer?.stop();
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
    this.#pending = [];
    let expiresAt = 0;
    for (const b of batch) if (b.expiresAt > expiresAt) expiresAt = b.expiresAt;
    const ids = batch.map((b) => `${encodeKey(b.key)}\t${b.expiresAt}`).join('\n');
    this.#flushing = withTransaction(host, async (tx) => {
      await tx.db.insert(agentJtiBatch).values({ expiresAt, ids });
    })
      .catch((err) => {
        // Keep them for the next attempt; memory still protects this instance meanwhile.
        this.#pending = batch.concat(this.#pending);
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
