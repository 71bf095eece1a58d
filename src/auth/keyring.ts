import {
  SignJWT,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyResult,
} from 'jose';
import { eq, gt, isNull, or } from 'drizzle-orm';
import { authSigningKey } from '../../db/schema/index';
import type { Db } from '../../db/client';
import { withTransaction, type TxHost } from '../../db/tx';
import type { Vault } from '../crypto/vault';
import type { Clock } from '../lib/clock';
import type { Ids } from '../lib/ids';
import type { AppCtx } from '../context';
import { VersionWatch, bumpVersion } from '../services/shared/version-watch';

export const SIGNING_ALG = 'EdDSA';
/** Seconds of clock skew accepted between instances (exp, nbf and iat). */
export const CLOCK_TOLERANCE_SEC = 5;

const isLive = (k: { active: boolean; publishUntil: number | null }, now: number) =>
  k.active || k.publishUntil === null || k.publishUntil > now;

interface LoadedKey {
  kid: string;
  active: boolean;
  publicJwk: JWK;
  verifyKey: CryptoKey;
  signKey?: CryptoKey;
  publishUntil: number | null;
}

export interface KeyRingHost extends TxHost {
  vault: Vault;
  clock: Clock;
  ids: Ids;
}

export const SIGNING_KEYS_VERSION_KEY = 'auth.signing-keys.version';

/**
 * The token signing keys: generated on first need, stored encrypted, cached as imported CryptoKeys.
 * Retired keys stay in the JWKS and are accepted by the verifier until their `publishUntil`.
 * A rotation bumps a version row in its transaction; `refresh` (called before signing, verifying and
 * publishing the JWKS) compares it at most once per `checkEveryMs`, so every instance sharing the
 * database signs with the new key and publishes it within about that long. A token with an unknown
 * `kid` still triggers an immediate reload, at most once per second.
 */
export class KeyRing {
  #keys = new Map<string, LoadedKey>();
  #active?: LoadedKey;
  #lastReload = 0;
  #watch: VersionWatch;

  constructor(checkEveryMs = 1000) {
    this.#watch = new VersionWatch(SIGNING_KEYS_VERSION_KEY, checkEveryMs);
  }

  /** Reloads the ring when any instance rotated since the last load (checked at most once per interval). */
  async refresh(ctx: AppCtx): Promise<void> {
    await this.#watch.fresh(ctx, () => this.load(ctx.store.db, ctx.vault, ctx.clock.now()));
  }

  get ready(): boolean {
    return this.#active !== undefined;
  }

  async load(db: Db, vault: Vault, now: number): Promise<void> {
    const rows = await db
      .select()
      .from(authSigningKey)
      .where(or(eq(authSigningKey.active, true), isNull(authSigningKey.publishUntil), gt(authSigningKey.publishUntil, now)));
    const next = new Map<string, LoadedKey>();
    let active: LoadedKey | undefined;
    let activeCreated = 0;
    for (const row of rows) {
      if (!row.active && row.publishUntil !== null && row.publishUntil <= now) continue;
      const known = this.#keys.get(row.kid);
      const publicJwk = JSON.parse(row.publicJwk) as JWK;
      const loaded: LoadedKey = known ?? {
        kid: row.kid,
        active: row.active,
        publicJwk,
        verifyKey: (await importJWK(publicJwk, row.alg)) as CryptoKey,
        publishUntil: row.publishUntil,
      };
      loaded.active = row.active;
      loaded.publishUntil = row.publishUntil;
      if (row.active && !loaded.signKey) {
        const priv = JSON.parse(await vault.decrypt(row.privateJwkEnc, `signing-key:${row.kid}`)) as JWK;
        loaded.signKey = (await importJWK(priv, row.alg)) as CryptoKey;
      }
      if (row.active && (!active || row.createdAt >= activeCreated)) {
        active = loaded;
        activeCreated = row.createdAt;
      }
      next.set(row.kid, loaded);
    }
    this.#keys = next;
    this.#active = active;
    this.#lastReload = now;
  }

  /** Ensures an active key exists (first start), then loads the ring. Key generation happens outside the transaction. */
  async init(ctx: KeyRingHost): Promise<void> {
    await this.load(ctx.store.db, ctx.vault, ctx.clock.now());
    if (this.#active) return;
    const candidate = await this.#generate(ctx);
    await withTransaction(ctx, async (tx) => {
      const existing = await tx.db.select({ kid: authSigningKey.kid }).from(authSigningKey).where(eq(authSigningKey.active, true)).limit(1);
      if (existing.length === 0) await tx.db.insert(authSigningKey).values(candidate);
    });
    await this.load(ctx.store.db, ctx.vault, ctx.clock.now());
  }

  /** Makes a new active key; the previous ones stay published for `retainMs`. */
  async rotate(ctx: AppCtx, retainMs: number): Promise<{ kid: string; rotatedAt: number }> {
    const candidate = await this.#generate(ctx);
    const now = ctx.clock.now();
    await withTransaction(ctx, async (tx) => {
      await tx.db
        .update(authSigningKey)
        .set({ active: false, retiredAt: now, publishUntil: now + retainMs })
        .where(eq(authSigningKey.active, true));
      await tx.db.insert(authSigningKey).values(candidate);
      await bumpVersion(tx, SIGNING_KEYS_VERSION_KEY);
    });
    this.#watch.invalidate();
    await this.load(ctx.store.db, ctx.vault, ctx.clock.now());
    return { kid: candidate.kid, rotatedAt: now };
  }

  async #generate(ctx: KeyRingHost) {
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
    const kid = ctx.ids.uuid();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
    const privateJwk = await exportJWK(privateKey);
    return {
      kid,
      alg: SIGNING_ALG,
      publicJwk: JSON.stringify(publicJwk),
      privateJwkEnc: await ctx.vault.encrypt(JSON.stringify(privateJwk), `signing-key:${kid}`),
      active: true,
      createdAt: ctx.clock.now(),
    };
  }

  /**
   * The published keys at `now`: a retired key drops out once its retention has passed, even when no
   * reload happened since (the ring is only reloaded on rotation or an unknown kid).
   */
  jwks(now: number): { keys: JWK[] } {
    return { keys: [...this.#keys.values()].filter((k) => isLive(k, now)).map((k) => k.publicJwk) };
  }

  async sign(
    payload: JWTPayload,
    opts: { subject: string; issuer: string; audience: string; ttlSec: number; nowSec: number; jti: string; typ: string },
  ): Promise<string> {
    const key = this.#active;
    if (!key?.signKey) throw new Error('no active signing key');
    return new SignJWT(payload)
      .setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: opts.typ })
      .setSubject(opts.subject)
      .setIssuer(opts.issuer)
      .setAudience(opts.audience)
      .setIssuedAt(opts.nowSec)
      .setExpirationTime(opts.nowSec + opts.ttlSec)
      .setJti(opts.jti)
      .sign(key.signKey);
  }

  async verify(
    token: string,
    opts: { issuer: string; audience: string; nowSec: number; reload: () => Promise<void> },
  ): Promise<JWTVerifyResult> {
    const result = await jwtVerify(
      token,
      async (header) => {
        const kid = header.kid ?? '';
        let key = this.#keys.get(kid);
        if (!key && opts.nowSec * 1000 - this.#lastReload > 1000) {
          await opts.reload();
          key = this.#keys.get(kid);
        }
        if (!key) throw new Error('unknown signing key');
        if (!isLive(key, opts.nowSec * 1000)) throw new Error('retired signing key');
        return key.verifyKey;
      },
      // Every token this ring signs carries exp and iat; one without exp would never expire, so it is refused.
      {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms: [SIGNING_ALG],
        currentDate: new Date(opts.nowSec * 1000),
        clockTolerance: CLOCK_TOLERANCE_SEC,
        requiredClaims: ['exp', 'iat'],
      },
    );
    // jose checks iat only against a maxTokenAge; a token "issued" in the future beyond the tolerance was
    // not minted by this clock and would outlive its intended lifetime, so it is refused here.
    if (typeof result.payload.iat !== 'number' || result.payload.iat > opts.nowSec + CLOCK_TOLERANCE_SEC) {
      throw new joseErrors.JWTClaimValidationFailed(
        '"iat" claim timestamp check failed (it is in the future)',
        result.payload,
        'iat',
        'check_failed',
      );
    }
    return result;
  }
}
