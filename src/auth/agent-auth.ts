import { decodeJwt, errors as joseErrors, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { eq, sql } from 'drizzle-orm';
import { fog, fogPublicKey } from '../../db/schema/index';
import { ReusableSelect, renderOnce } from '../../db/statements';
import type { AppCtx } from '../context';
import { ServiceError, classifyDbError, type ErrorCode } from '../errors';

/** Agent-token clock tolerance: field agents' clocks drift, and the agent contract allows 10–30 s of skew. */
export const AGENT_CLOCK_TOLERANCE_SEC = 30;
const KEY_CACHE_TTL_MS = 60_000;

/**
 * Ed25519 signature checks outside WebCrypto, supplied by a runtime adapter that has a cheaper one
 * (Node: node:crypto). WebCrypto verification goes through a job queue and promises per call, about
 * a fifth of the CPU of an agent request on Node; the synchronous node:crypto call is a fraction of that.
 */
export interface Ed25519Verifier {
  /** A verification key for the public JWK `{kty: 'OKP', crv: 'Ed25519', x}`. */
  importPublicJwk(jwk: JWK): unknown;
  /**
   * True when `signature` (base64url) is a valid signature of the ASCII text `signingInput`. May
   * answer asynchronously, e.g. to verify off the event loop.
   */
  verify(key: unknown, signingInput: string, signature: string): boolean | Promise<boolean>;
  /** What checks the signatures (for the start-up log). */
  backend?(): string;
}

interface CachedKey {
  jwk: string;
  key: CryptoKey;
  /** The same key for the runtime's Ed25519Verifier, when there is one. */
  fast?: unknown;
  loadedAt: number;
}

export interface AgentIdentity {
  fogUuid: string;
  jti: string;
}

const fail = (code: ErrorCode, message: string) => new ServiceError(code, message);

/**
 * Imported fog public keys, cached in memory: the key is not a secret, and importing it on every
 * request is what caps upstream's agent throughput. Entries are re-validated against the database after
 * a minute, and immediately when a signature does not verify (another instance may have re-provisioned).
 */
export class AgentKeyCache {
  #keys = new Map<string, CachedKey>();

  constructor(readonly verifier?: Ed25519Verifier) {}

  invalidate(fogUuid: string): void {
    this.#keys.delete(fogUuid);
  }

  get size(): number {
    return this.#keys.size;
  }

  async get(ctx: AppCtx, fogUuid: string, opts: { fresh?: boolean } = {}): Promise<CryptoKey> {
    return (await this.entry(ctx, fogUuid, opts)).key;
  }

  async entry(ctx: AppCtx, fogUuid: string, opts: { fresh?: boolean } = {}): Promise<CachedKey> {
    const now = ctx.clock.now();
    const cached = this.#keys.get(fogUuid);
    if (cached && !opts.fresh && now - cached.loadedAt < KEY_CACHE_TTL_MS) return cached;
    const rows = await keyOfFog(ctx.store.db).all(ctx.store.db, { fogUuid, limit: 1 });
    const row = rows[0];
    if (!row) {
      this.#keys.delete(fogUuid);
      throw fail('AGENT_FOG_NOT_FOUND', 'Fog not found');
    }
    if (!row.jwk) {
      this.#keys.delete(fogUuid);
      throw fail('AGENT_PUBLIC_KEY_NOT_FOUND', 'Fog is not provisioned (no public key)');
    }
    if (cached && cached.jwk === row.jwk) {
      cached.loadedAt = now;
      return cached;
    }
    const jwk = JSON.parse(row.jwk) as JWK;
    const key = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
    let fast: unknown;
    try {
      fast = this.verifier?.importPublicJwk(jwk);
    } catch {
      // Not a key the fast verifier takes: every token of this fog goes through jose.
    }
    const entry = { jwk: row.jwk, key, fast, loadedAt: now };
    this.#keys.set(fogUuid, entry);
    return entry;
  }
}

// Runs on every key-cache miss (each fog's key is re-validated every minute): rendered once (db/statements.ts).
const keyOfFog = renderOnce((db) =>
  ReusableSelect.from(
    db
      .select({ uuid: fog.uuid, jwk: fogPublicKey.publicJwk })
      .from(fog)
      .leftJoin(fogPublicKey, eq(fogPublicKey.fogUuid, fog.uuid))
      .where(eq(fog.uuid, sql.placeholder('fogUuid')))
      .limit(sql.placeholder('limit')),
  ),
);

/**
 * Verifies an agent request (a token the agent signs per request; see docs/agent-contract.md). Positively identified bad tokens are 401 with a
 * structured code; everything else — database trouble, unexpected failures, clock skew — is a
 * retryable 503, because Edgelet wipes itself after repeated 401s.
 */
export async function authenticateAgent(ctx: AppCtx, authorization: string | undefined): Promise<AgentIdentity> {
  try {
    return await verify(ctx, authorization);
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    throw (
      classifyDbError(err) ??
      new ServiceError('CONTROLLER_AUTH_VERIFICATION_FAILED', 'Token verification failed; retry', { retryAfterSec: 1, cause: err })
    );
  }
}

async function verify(ctx: AppCtx, authorization: string | undefined): Promise<AgentIdentity> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) throw fail('AGENT_AUTH_HEADER_INVALID', 'Authorization header must be "Bearer <agent token>"');
  const token = m[1]!;
  const nowMs = ctx.clock.now();
  const verified =
    (ctx.agentKeys.verifier && (await verifyFast(ctx, ctx.agentKeys.verifier, token, nowMs))) || (await verifyWithJose(ctx, token, nowMs));
  const { payload, fogUuid, jti } = verified;
  const iat = typeof payload.iat === 'number' ? payload.iat : undefined;
  if (iat !== undefined && iat * 1000 > nowMs + AGENT_CLOCK_TOLERANCE_SEC * 1000) {
    throw new ServiceError('CONTROLLER_AGENT_CLOCK_SKEW', 'Token issued in the future; check the agent clock', { retryAfterSec: 5 });
  }
  const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : nowMs + 600_000;
  if (!ctx.agentJtis.use(jti, fogUuid, exp + AGENT_CLOCK_TOLERANCE_SEC * 1000)) {
    throw fail('AGENT_JWT_ALREADY_USED', 'Token already used');
  }
  ctx.agentActivity.touch(fogUuid, nowMs);
  return { fogUuid, jti };
}

interface VerifiedToken {
  payload: JWTPayload;
  fogUuid: string;
  jti: string;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const ALLOWED_HEADER_KEYS = new Set(['alg', 'typ', 'kid']);
/** The last header segment verifyFast accepted. */
let acceptedHeader = '';

const NOT_ASCII = /\P{ASCII}/u;

/**
 * A JWT segment's JSON object. The segment is base64url (COMPACT_JWS), which `atob` decodes after the
 * two substitutions, as jose's decoder does; the bytes are then read as UTF-8, strictly. A JWT's
 * JSON is almost always ASCII, whose bytes are its text: then there is nothing to convert (jose's
 * decode and a TextDecoder cost ~5 µs per segment, twice per agent request).
 */
function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'));
    const text = NOT_ASCII.test(binary) ? strictUtf8.decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))) : binary;
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const optionalNumber = (v: unknown): v is number | undefined => v === undefined || typeof v === 'number';

/**
 * The common case — a well-formed Edgelet token with a valid signature — checked with the runtime's
 * Ed25519 verifier. It accepts only what jose's jwtVerify (with the options of verifyWithJose) would
 * accept and returns undefined for anything else, including a bad signature, so every rejection, its
 * error code and the stale-key retry still come from the jose path.
 */
async function verifyFast(ctx: AppCtx, verifier: Ed25519Verifier, token: string, nowMs: number): Promise<VerifiedToken | undefined> {
  if (!COMPACT_JWS.test(token)) return undefined;
  // Exactly two dots (COMPACT_JWS).
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  const h = token.slice(0, dot1);
  const p = token.slice(dot1 + 1, dot2);
  const signature = token.slice(dot2 + 1);
  if (h !== acceptedHeader) {
    // Every token of an Edgelet build has the same header: checked once, then compared as text.
    const header = decodeJsonObject(h);
    if (header?.alg !== 'EdDSA' || !Object.keys(header).every((k) => ALLOWED_HEADER_KEYS.has(k))) return undefined;
    acceptedHeader = h;
  }
  const payload = decodeJsonObject(p) as JWTPayload | undefined;
  if (!payload || typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.jti !== 'string' || payload.jti === '')
    return undefined;
  const { iat, nbf, exp } = payload;
  if (!optionalNumber(iat) || !optionalNumber(nbf) || !optionalNumber(exp)) return undefined;
  const now = Math.floor(nowMs / 1000);
  if ((nbf !== undefined && nbf > now + AGENT_CLOCK_TOLERANCE_SEC) || (exp !== undefined && exp <= now - AGENT_CLOCK_TOLERANCE_SEC))
    return undefined;
  // Unknown fog or no key: the same 401 the jose path gives for this (well-formed) token.
  const entry = await ctx.agentKeys.entry(ctx, payload.sub);
  if (entry.fast === undefined) return undefined;
  let valid = false;
  try {
    valid = await verifier.verify(entry.fast, token.slice(0, dot2), signature);
  } catch {
    valid = false;
  }
  return valid ? { payload, fogUuid: payload.sub, jti: payload.jti } : undefined;
}

async function verifyWithJose(ctx: AppCtx, token: string, nowMs: number): Promise<VerifiedToken> {
  let claims;
  try {
    claims = decodeJwt(token);
  } catch {
    throw fail('AGENT_JWT_MALFORMED', 'Token is not a decodable JWT');
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw fail('AGENT_JWT_MISSING_SUBJECT', 'Token has no subject');
  if (typeof claims.jti !== 'string' || claims.jti === '') throw fail('AGENT_JWT_MALFORMED', 'Token has no jti');
  const fogUuid = claims.sub;
  const check = async (key: CryptoKey) =>
    jwtVerify(token, key, {
      algorithms: ['EdDSA'],
      currentDate: new Date(nowMs),
      clockTolerance: AGENT_CLOCK_TOLERANCE_SEC,
    });
  let payload;
  try {
    ({ payload } = await check(await ctx.agentKeys.get(ctx, fogUuid)));
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      // The cached key may be stale (re-provisioned on another instance): retry once with a fresh read.
      try {
        ({ payload } = await check(await ctx.agentKeys.get(ctx, fogUuid, { fresh: true })));
      } catch (again) {
        throw mapJoseError(again);
      }
    } else {
      throw mapJoseError(err);
    }
  }
  return { payload, fogUuid, jti: claims.jti };
}

function mapJoseError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof joseErrors.JWTExpired) return fail('AGENT_JWT_EXPIRED', 'Token has expired');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return fail('AGENT_JWT_SIGNATURE_INVALID', 'Token signature is invalid');
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    return fail('AGENT_JWT_MALFORMED', 'Token is malformed or not EdDSA');
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed && (err.claim === 'nbf' || err.claim === 'iat')) {
    return new ServiceError('CONTROLLER_AGENT_CLOCK_SKEW', 'Token not yet valid; check the agent clock', { retryAfterSec: 5 });
  }
  return (
    classifyDbError(err) ??
    new ServiceError('CONTROLLER_AUTH_VERIFICATION_FAILED', 'Token verification failed; retry', { retryAfterSec: 1, cause: err })
  );
}
