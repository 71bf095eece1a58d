import { and, eq, isNull, lt, lte, or } from 'drizzle-orm';
import { authLoginFailure, authMfa, authRecoveryCode } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx, RequestCtx } from '../../context';
import { ServiceError } from '../../errors';
import { sha256Hex } from '../../lib/ids';
import { verifyTotp } from '../../auth/totp';
import { authRefreshToken } from '../../../db/schema/index';
import { findActiveUserByLogin, groupsOf, type UserRow } from './users-repo';
import { prepareTokenPair, type TokenPair } from './tokens';

export const MAX_FAILED_ATTEMPTS = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;

export type { LoginInput } from './schemas';
import type { LoginInput } from './schemas';

/** Every failure is the same 401 so that the response does not reveal whether the user exists. */
const badCredentials = () => new ServiceError('INVALID_CREDENTIALS', 'Invalid credentials');

/**
 * A fixed hash with the parameters of our own hashes. Every credential failure that has no hash of
 * its own to check (unknown or deleted user, locked address) verifies against it, so all failures
 * take one Argon2 run and the timing does not tell which case it was.
 */
export const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Qb4XWlCxYV8vJ1f0U6qlqEt7vCGrC3RqXQ4kIEv0Gk';

/** The address failures are counted against; the same key for every login of one client. */
const clientKey = (ctx: AppCtx) => (ctx as RequestCtx).ip ?? 'unknown';

/**
 * Counts a failure of (account, client address); the fifth locks that pair for LOCKOUT_MS. Counting
 * per address keeps an attacker who guesses wrong from locking the account's owner out (the
 * bootstrap admin above all); the per-address rate limit on the auth routes bounds the guessing.
 */
async function recordFailure(ctx: AppCtx, user: UserRow): Promise<void> {
  const ip = clientKey(ctx);
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const key = and(eq(authLoginFailure.userId, user.id), eq(authLoginFailure.clientIp, ip));
    const [fresh] = await tx.db.select().from(authLoginFailure).where(key).limit(1);
    // A lock that ran out, or failures older than a lock period, start a new count.
    const counting = fresh && fresh.updatedAt > now - LOCKOUT_MS && (fresh.lockedUntil === null || fresh.lockedUntil > now);
    const failed = (counting ? fresh.failedAttempts : 0) + 1;
    const locked = failed >= MAX_FAILED_ATTEMPTS;
    const row = { failedAttempts: locked ? 0 : failed, lockedUntil: locked ? now + LOCKOUT_MS : null, updatedAt: now };
    await tx.db
      .insert(authLoginFailure)
      .values({ userId: user.id, clientIp: ip, ...row })
      .onConflictDoUpdate({ target: [authLoginFailure.userId, authLoginFailure.clientIp], set: row });
    if (locked) tx.logger.warn('login locked for one client address after repeated failures', { userId: user.id, ip });
  });
}

async function lockedFor(ctx: AppCtx, user: UserRow): Promise<boolean> {
  const [row] = await ctx.db
    .select({ lockedUntil: authLoginFailure.lockedUntil })
    .from(authLoginFailure)
    .where(and(eq(authLoginFailure.userId, user.id), eq(authLoginFailure.clientIp, clientKey(ctx))))
    .limit(1);
  return row?.lockedUntil != null && row.lockedUntil > ctx.clock.now();
}

/** Clears the failure count of this client address (inside the login's transaction). */
async function clearFailures(tx: AppCtx, user: UserRow): Promise<void> {
  await tx.db.delete(authLoginFailure).where(and(eq(authLoginFailure.userId, user.id), eq(authLoginFailure.clientIp, clientKey(tx))));
}

/** Every lockout of the user, from every address: a new password is the owner's way back in. */
export async function clearAllFailures(tx: AppCtx, userId: string): Promise<void> {
  await tx.db.delete(authLoginFailure).where(eq(authLoginFailure.userId, userId));
}

/** Failure rows that no longer lock anything nor count towards a lock; run by the cleanup job. */
export async function pruneLoginFailures(tx: AppCtx): Promise<number> {
  const now = tx.clock.now();
  const res = await tx.db
    .delete(authLoginFailure)
    .where(
      and(
        lt(authLoginFailure.updatedAt, now - LOCKOUT_MS),
        or(isNull(authLoginFailure.lockedUntil), lte(authLoginFailure.lockedUntil, now)),
      ),
    );
  return res.rowsAffected;
}

/** Password step of every login: lockout, constant-time miss, failure counting. Returns the user. */
export async function checkPassword(ctx: AppCtx, email: string, password: string): Promise<UserRow> {
  const user = await findActiveUserByLogin(ctx.db, email);
  if (!user || (await lockedFor(ctx, user))) {
    await ctx.passwords.verify(password, DUMMY_HASH);
    throw badCredentials();
  }
  if (!(await ctx.passwords.verify(password, user.passwordHash))) {
    await recordFailure(ctx, user);
    throw badCredentials();
  }
  return user;
}

export async function mfaEnabledFor(ctx: AppCtx, user: UserRow): Promise<boolean> {
  const [mfa] = await ctx.db.select({ enabled: authMfa.enabled }).from(authMfa).where(eq(authMfa.userId, user.id)).limit(1);
  return Boolean(mfa?.enabled) && !user.isBootstrap;
}

export interface SecondFactor {
  usedStep?: number;
  usedRecoveryId?: string;
}

/** A TOTP (not replayed) or an unused recovery code; a failure counts towards the lockout. */
export async function checkSecondFactor(ctx: AppCtx, user: UserRow, code: string): Promise<SecondFactor> {
  const [mfa] = await ctx.db.select().from(authMfa).where(eq(authMfa.userId, user.id)).limit(1);
  if (!mfa?.enabled) return {};
  if (code.trim() === '') throw new ServiceError('MFA_REQUIRED', 'A TOTP code (or a recovery code) is required for this account');
  const secret = await ctx.vault.decrypt(mfa.secretEnc, `totp:${user.id}`);
  let usedStep = verifyTotp(secret, code.trim(), ctx.clock.now());
  if (usedStep !== undefined && mfa.lastUsedStep !== null && usedStep <= mfa.lastUsedStep) usedStep = undefined;
  if (usedStep !== undefined) return { usedStep };
  const hash = await sha256Hex(code.trim().toLowerCase());
  const [rc] = await ctx.db
    .select()
    .from(authRecoveryCode)
    .where(and(eq(authRecoveryCode.userId, user.id), eq(authRecoveryCode.codeHash, hash), isNull(authRecoveryCode.usedAt)))
    .limit(1);
  if (!rc) {
    await recordFailure(ctx, user);
    throw new ServiceError('MFA_REQUIRED', 'Invalid TOTP or recovery code');
  }
  return { usedRecoveryId: rc.id };
}

/** Inside the login's transaction: the code is spent, the failure counter reset. */
export async function consumeSecondFactor(tx: AppCtx, user: UserRow, f: SecondFactor): Promise<void> {
  const now = tx.clock.now();
  if (f.usedRecoveryId) {
    const res = await tx.db
      .update(authRecoveryCode)
      .set({ usedAt: now })
      .where(and(eq(authRecoveryCode.id, f.usedRecoveryId), isNull(authRecoveryCode.usedAt)));
    if (res.rowsAffected !== 1) throw badCredentials();
  }
  if (f.usedStep !== undefined) await tx.db.update(authMfa).set({ lastUsedStep: f.usedStep }).where(eq(authMfa.userId, user.id));
  await clearFailures(tx, user);
}

/** Direct (CLI) login: credentials for a token pair, without a browser. */
export async function login(ctx: AppCtx, input: LoginInput): Promise<TokenPair> {
  const user = await checkPassword(ctx, input.email, input.password);
  const groups = (await groupsOf(ctx.db, [user.id])).get(user.id) ?? [];
  const mfaEnabled = await mfaEnabledFor(ctx, user);
  const factor = mfaEnabled ? await checkSecondFactor(ctx, user, input.totp ?? '') : {};
  const needsEnrollment = !user.isBootstrap && !mfaEnabled && groups.some((g) => g.mfaRequired);
  const { pair, row } = await prepareTokenPair(
    ctx,
    user,
    groups.map((g) => g.name),
    { mfaEnrollmentRequired: needsEnrollment },
  );
  await withTransaction(ctx, async (tx) => {
    await consumeSecondFactor(tx, user, factor);
    await tx.db.insert(authRefreshToken).values(row);
  });
  return pair;
}
