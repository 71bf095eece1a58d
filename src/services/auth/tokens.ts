import { and, eq, isNull } from 'drizzle-orm';
import { errors as joseErrors } from 'jose';
import { authRefreshToken } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { Actor, AppCtx } from '../../context';
import { ServiceError } from '../../errors';
import { sha256Hex } from '../../lib/ids';
import { findActiveUserById, groupsOf, mfaEnabledOf, type UserRow } from './users-repo';

export type { TokenPair } from './schemas';
import type { TokenPair } from './schemas';

interface AccessClaims {
  token_use: 'access';
  preferred_username: string;
  email?: string;
  groups: string[];
  /** The user's token generation at signing; a later bump (delete, password, groups) revokes the token. */
  gen: number;
  password_change_required?: true;
  mfa_enrollment_required?: true;
}

export type RefreshRow = typeof authRefreshToken.$inferInsert;

/**
 * Signs an access + refresh pair. Signing happens before any transaction opens; the caller stores
 * the returned refresh row inside its own (short) transaction.
 */
export async function prepareTokenPair(
  ctx: AppCtx,
  user: UserRow,
  groups: string[],
  opts: { familyId?: string; mfaEnrollmentRequired?: boolean } = {},
): Promise<{ pair: TokenPair; row: RefreshRow }> {
  const nowMs = ctx.clock.now();
  const nowSec = Math.floor(nowMs / 1000);
  const claims: AccessClaims = { token_use: 'access', preferred_username: user.email, groups, gen: user.tokenGeneration };
  if (user.email.includes('@')) claims.email = user.email;
  if (user.mustChangePassword) claims.password_change_required = true;
  if (opts.mfaEnrollmentRequired) claims.mfa_enrollment_required = true;
  const base = { subject: user.id, issuer: ctx.config.issuer, audience: ctx.config.clientId, nowSec };
  await ctx.keys.refresh(ctx);
  const accessToken = await ctx.keys.sign(
    { ...claims },
    { ...base, ttlSec: ctx.config.accessTokenTtlSec, jti: ctx.ids.uuid(), typ: 'at+jwt' },
  );
  const familyId = opts.familyId ?? ctx.ids.uuid();
  const jti = ctx.ids.token(24);
  const refreshToken = await ctx.keys.sign(
    { token_use: 'refresh', family_id: familyId },
    { ...base, ttlSec: ctx.config.refreshTokenTtlSec, jti, typ: 'JWT' },
  );
  return {
    pair: { accessToken, refreshToken },
    row: {
      jtiHash: await sha256Hex(jti),
      userId: user.id,
      familyId,
      expiresAt: nowMs + ctx.config.refreshTokenTtlSec * 1000,
      createdAt: nowMs,
    },
  };
}

/** Callers run `ctx.keys.refresh` first, outside their catch: a database failure there is a 503, not a bad token. */
async function verifyJwt(ctx: AppCtx, token: string) {
  return ctx.keys.verify(token, {
    issuer: ctx.config.issuer,
    audience: ctx.config.clientId,
    nowSec: Math.floor(ctx.clock.now() / 1000),
    reload: () => ctx.keys.load(ctx.store.db, ctx.vault, ctx.clock.now()),
  });
}

/** Verifies a bearer access token and returns the actor it names. */
export async function authenticateAccessToken(ctx: AppCtx, token: string): Promise<Actor & { mfaEnrollmentRequired: boolean }> {
  if (ctx.idp) return ctx.idp.authenticate(token);
  await ctx.keys.refresh(ctx);
  let payload;
  try {
    ({ payload } = await verifyJwt(ctx, token));
  } catch (err) {
    const expired = err instanceof joseErrors.JWTExpired;
    throw new ServiceError('AUTH_TOKEN_INVALID', expired ? 'Access token has expired' : 'Access token is invalid');
  }
  if (payload.token_use !== 'access' || typeof payload.sub !== 'string') {
    throw new ServiceError('AUTH_TOKEN_INVALID', 'Access token is invalid');
  }
  // Tokens signed before generations existed carry none: they belong to generation 0.
  const gen = payload.gen === undefined ? 0 : payload.gen;
  if (typeof gen !== 'number' || !(await ctx.tokenGenerations.accepts(ctx, payload.sub, gen))) {
    throw new ServiceError(
      'AUTH_TOKEN_INVALID',
      'Access token has been revoked (user deleted, or password or groups changed): sign in again',
    );
  }
  const groups = Array.isArray(payload.groups)
    ? payload.groups.filter((g): g is string => typeof g === 'string').map((g) => g.toLowerCase())
    : [];
  return {
    kind: 'user',
    userId: payload.sub,
    username: String(payload.preferred_username ?? payload.email ?? payload.sub),
    groups,
    passwordChangeRequired: payload.password_change_required === true,
    mfaEnrollmentRequired: payload.mfa_enrollment_required === true,
  };
}

const refreshInvalid = () => new ServiceError('REFRESH_TOKEN_INVALID', 'Refresh token is invalid, expired or revoked');

/**
 * Rotating refresh: the presented token is marked rotated and a new pair in the same family is issued.
 * Presenting an already-rotated token means it was copied: the whole family is revoked.
 */
export async function refreshSession(ctx: AppCtx, refreshToken: string): Promise<TokenPair> {
  await ctx.keys.refresh(ctx);
  let payload;
  try {
    ({ payload } = await verifyJwt(ctx, refreshToken));
  } catch {
    throw refreshInvalid();
  }
  if (
    payload.token_use !== 'refresh' ||
    typeof payload.jti !== 'string' ||
    typeof payload.sub !== 'string' ||
    typeof payload.family_id !== 'string'
  ) {
    throw refreshInvalid();
  }
  const jtiHash = await sha256Hex(payload.jti);
  const [current] = await ctx.db.select().from(authRefreshToken).where(eq(authRefreshToken.jtiHash, jtiHash)).limit(1);
  if (!current || current.userId !== payload.sub || current.familyId !== payload.family_id) throw refreshInvalid();
  const user = await findActiveUserById(ctx.db, current.userId);
  if (!user) throw refreshInvalid();
  const groups = (await groupsOf(ctx.db, [user.id])).get(user.id) ?? [];
  const enrolled = (await mfaEnabledOf(ctx.db, [user.id])).has(user.id);
  const needsEnrollment = !user.isBootstrap && !enrolled && groups.some((g) => g.mfaRequired);
  const next = await prepareTokenPair(
    ctx,
    user,
    groups.map((g) => g.name),
    { familyId: current.familyId, mfaEnrollmentRequired: needsEnrollment },
  );

  const outcome = await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const [row] = await tx.db.select().from(authRefreshToken).where(eq(authRefreshToken.jtiHash, jtiHash)).limit(1);
    if (!row || row.revokedAt !== null || row.expiresAt <= now) return { error: refreshInvalid(), reuse: false };
    if (row.rotatedAt !== null) {
      await tx.db
        .update(authRefreshToken)
        .set({ revokedAt: now })
        .where(and(eq(authRefreshToken.familyId, row.familyId), isNull(authRefreshToken.revokedAt)));
      return {
        error: new ServiceError('REFRESH_TOKEN_INVALID', 'Refresh token was already used; the session has been revoked'),
        reuse: true,
      };
    }
    await tx.db.update(authRefreshToken).set({ rotatedAt: now }).where(eq(authRefreshToken.jtiHash, jtiHash));
    await tx.db.insert(authRefreshToken).values(next.row);
    return { error: undefined, reuse: false };
  });
  // The family revocation must commit even though the request fails, so the error is thrown after the transaction.
  if (outcome.error) {
    if (outcome.reuse) ctx.logger.warn('refresh token reuse detected; token family revoked', { userId: payload.sub });
    throw outcome.error;
  }
  return next.pair;
}

/** Revokes every refresh token of the user. */
export async function revokeUserSessions(ctx: AppCtx, userId: string): Promise<number> {
  return withTransaction(ctx, async (tx) => {
    const res = await tx.db
      .update(authRefreshToken)
      .set({ revokedAt: tx.clock.now() })
      .where(and(eq(authRefreshToken.userId, userId), isNull(authRefreshToken.revokedAt)));
    return res.rowsAffected;
  });
}
