import { sql } from 'drizzle-orm';
import { agentJtiBatch } from '../../db/schema/index';
import { withTransaction, type TxHost } from '../../db/tx';
import type { Clock } from '../lib/clock';
import { every } from '../lib/periodic';
import type { Logger } from '../lib/logger';
import { errorFields } from '../lib/logger';

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
 * route each agent to one instance (sticky by fog uuid).
 */
const EXPIRY_BUCKET_MS = 10_000;

// A key is `{fogUuid}:{jti}` and the jti is the agent's choice: one carrying the line format's own
// separators is stored as a JSON string (a fog uuid never starts with a quote).
const SEPARATORS = /[\t\n\r]/;
const encodeKey = (key: string): string => (SEPARATORS.test(key) ? JSON.stringify(key) : key);
const decodeKey = (text: string): string => (text.startsWith('"') ? (JSON.parse(text) as string) : text);

export class JtiStore {
  #seen = new Map<string, number>();
  // The same ids by expiry (10 s buckets): a sweep visits only what has expired, instead of every
  // remembered id — about 0.6 × the request rate × 630 s of them, millions at 10,000 agents, which
  // stalled the event loop once a second.
  #expiring = new Map<number, string[]>();
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

  #remember(key: string, expiresAt: number): void {
    this.#seen.set(key, expiresAt);
    const bucket = Math.floor(expiresAt / EXPIRY_BUCKET_MS);
    const keys = this.#expiring.get(bucket);
    if (keys) keys.push(key);
    else this.#expiring.set(bucket, [key]);
  }

  /** Records `jti`; false when it was already used. */
  use(jti: string, fogUuid: string, expiresAt: number): boolean {
    const key = `${fogUuid}:${jti}`;
    if (this.#seen.has(key)) return false;
    this.#remember(key, expiresAt);
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
    for (const [bucket, keys] of this.#expiring) {
      if ((bucket + 1) * EXPIRY_BUCKET_MS > now) continue;
      for (const k of keys) if (this.#seen.get(k)! <= now) this.#seen.delete(k);
      this.#expiring.delete(bucket);
    }
  }
}
