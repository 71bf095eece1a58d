import { decodeJwt, errors as joseErrors, importJWK, jwtVerify, type JWK } from 'jose';
import { eq } from 'drizzle-orm';
import { fog, fogPublicKey } from '../../db/schema/index';
import type { AppCtx } from '../context';
import { ServiceError, classifyDbError, type ErrorCode } from '../errors';

/** Agent-token clock tolerance (agent-api §1.4.3 step 6 recommends 10–30 s). */
export const AGENT_CLOCK_TOLERANCE_SEC = 30;
const KEY_CACHE_TTL_MS = 60_000;

interface CachedKey {
  jwk: string;
  key: CryptoKey;
  loadedAt: number;
}

export interface AgentIdentity {
  fogUuid: string;
  jti: string;
}

const fail = (code: ErrorCode, message: string) => new ServiceError(code, message);

/**
 * Imported fog public keys, cached in memory: the key is not a secret, and importing it on every
 * request is what caps upstream near 23 req/s. Entries are re-validated against the database after
 * a minute, and immediately when a signature does not verify (another instance may have re-provisioned).
 */
export class AgentKeyCache {
  #keys = new Map<string, CachedKey>();

  invalidate(fogUuid: string): void {
    this.#keys.delete(fogUuid);
  }

  get size(): number {
    return this.#keys.size;
  }

  async get(ctx: AppCtx, fogUuid: string, opts: { fresh?: boolean } = {}): Promise<CryptoKey> {
    const now = ctx.clock.now();
    const cached = this.#keys.get(fogUuid);
    if (cached && !opts.fresh && now - cached.loadedAt < KEY_CACHE_TTL_MS) return cached.key;
    const rows = await ctx.store.db
      .select({ uuid: fog.uuid, jwk: fogPublicKey.publicJwk })
      .from(fog)
      .leftJoin(fogPublicKey, eq(fogPublicKey.fogUuid, fog.uuid))
      .where(eq(fog.uuid, fogUuid))
      .limit(1);
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
      return cached.key;
    }
    const key = (await importJWK(JSON.parse(row.jwk) as JWK, 'EdDSA')) as CryptoKey;
    this.#keys.set(fogUuid, { jwk: row.jwk, key, loadedAt: now });
    return key;
  }
}

/**
 * Verifies an agent request (agent-api §1.4.3). Positively identified bad tokens are 401 with a
 * structured code; everything else — database trouble, unexpected failures, clock skew — is a
 * retryable 503, because Edgelet wipes itself after repeated 401s.
 */
export async function authenticateAgent(ctx: AppCtx, authorization: string | undefined): Promise<AgentIdentity> {
  try {
    return await verify(ctx, authorization);
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    throw classifyDbError(err) ?? new ServiceError('CONTROLLER_AUTH_VERIFICATION_FAILED', 'Token verification failed; retry', { retryAfterSec: 1, cause: err });
  }
}

async function verify(ctx: AppCtx, authorization: string | undefined): Promise<AgentIdentity> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) throw fail('AGENT_AUTH_HEADER_INVALID', 'Authorization header must be "Bearer <agent token>"');
  const token = m[1]!;
  let claims;
  try {
    claims = decodeJwt(token);
  } catch {
    throw fail('AGENT_JWT_MALFORMED', 'Token is not a decodable JWT');
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw fail('AGENT_JWT_MISSING_SUBJECT', 'Token has no subject');
  if (typeof claims.jti !== 'string' || claims.jti === '') throw fail('AGENT_JWT_MALFORMED', 'Token has no jti');
  const fogUuid = claims.sub;
  const nowMs = ctx.clock.now();
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
  const iat = typeof payload.iat === 'number' ? payload.iat : undefined;
  if (iat !== undefined && iat * 1000 > nowMs + AGENT_CLOCK_TOLERANCE_SEC * 1000) {
    throw new ServiceError('CONTROLLER_AGENT_CLOCK_SKEW', 'Token issued in the future; check the agent clock', { retryAfterSec: 5 });
  }
  const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : nowMs + 600_000;
  if (!ctx.agentJtis.use(claims.jti, fogUuid, exp + AGENT_CLOCK_TOLERANCE_SEC * 1000)) {
    throw fail('AGENT_JWT_ALREADY_USED', 'Token already used');
  }
  ctx.agentActivity.touch(fogUuid, nowMs);
  return { fogUuid, jti: claims.jti };
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
  return classifyDbError(err) ?? new ServiceError('CONTROLLER_AUTH_VERIFICATION_FAILED', 'Token verification failed; retry', { retryAfterSec: 1, cause: err });
}
