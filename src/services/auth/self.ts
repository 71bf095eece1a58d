import { and, desc, eq, isNull } from 'drizzle-orm';
import { authMfa, authPasswordHistory, authRecoveryCode, authRefreshToken, authResetToken, authUser } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { Actor, AppCtx } from '../../context';
import { ServiceError, invalid, notFound } from '../../errors';
import { sha256Hex } from '../../lib/ids';
import { hashPassword, passwordPolicyProblem, verifyPassword } from '../../auth/passwords';
import { newTotpSecret, otpauthUrl, verifyTotp } from '../../auth/totp';
import { findActiveUserById, groupsOf } from './users-repo';
import { clearAllFailures } from './login';
import { revokeAccessTokens } from './token-generation';
import type { ChangePasswordInput, EmbeddedProfileT, MfaDisableInput } from './schemas';

export const PASSWORD_HISTORY = 5;
export const RECOVERY_CODES = 10;

async function requireUser(ctx: AppCtx, actor: Actor) {
  const user = await findActiveUserById(ctx.db, actor.userId);
  if (!user) throw new ServiceError('AUTH_TOKEN_INVALID', 'The user of this token no longer exists');
  return user;
}

export async function getProfile(ctx: AppCtx, actor: Actor): Promise<EmbeddedProfileT> {
  const user = await requireUser(ctx, actor);
  const groups = (await groupsOf(ctx.db, [user.id])).get(user.id) ?? [];
  const [mfa] = await ctx.db.select({ enabled: authMfa.enabled }).from(authMfa).where(eq(authMfa.userId, user.id)).limit(1);
  return {
    sub: user.id,
    ...(user.email.includes('@') ? { email: user.email } : {}),
    preferred_username: user.email,
    groups: groups.map((g) => g.name),
    ...(user.mustChangePassword ? { password_change_required: true } : {}),
    mfaEnabled: Boolean(mfa?.enabled),
  };
}

/** Rejects the policy violations and the last five passwords; returns the new hash. */
export async function newPasswordHash(ctx: AppCtx, userId: string, current: string, password: string): Promise<string> {
  const problem = passwordPolicyProblem(password);
  if (problem) throw invalid(problem);
  const history = await ctx.db
    .select({ hash: authPasswordHistory.passwordHash })
    .from(authPasswordHistory)
    .where(eq(authPasswordHistory.userId, userId))
    .orderBy(desc(authPasswordHistory.createdAt))
    .limit(PASSWORD_HISTORY);
  for (const h of [current, ...history.map((r) => r.hash)].slice(0, PASSWORD_HISTORY)) {
    if (await verifyPassword(password, h)) throw invalid(`password must differ from the last ${PASSWORD_HISTORY} passwords`);
  }
  return hashPassword(password);
}

/** Stores a new password hash, keeps history, clears the forced-change flag and signs out other sessions. */
export async function storePassword(ctx: AppCtx, userId: string, oldHash: string, newHash: string, mustChange: boolean): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db.insert(authPasswordHistory).values({ id: tx.ids.uuid(), userId, passwordHash: oldHash, createdAt: now });
    await tx.db
      .update(authUser)
      .set({
        passwordHash: newHash,
        mustChangePassword: mustChange,
        passwordChangedAt: now,
        updatedAt: now,
        failedAttempts: 0,
        lockedUntil: null,
      })
      .where(eq(authUser.id, userId));
    await tx.db
      .update(authRefreshToken)
      .set({ revokedAt: now })
      .where(and(eq(authRefreshToken.userId, userId), isNull(authRefreshToken.revokedAt)));
    // A new password is the way back in for an owner locked out from an address (an admin's reset included).
    await clearAllFailures(tx, userId);
    // And whoever held a token of the old password loses it now, not at its expiry.
    await revokeAccessTokens(tx, [userId]);
  });
}

/**
 * Change-password with a reset token (no bearer): the token must be unexpired and unused; it is
 * consumed in the same transaction as the new password, so it works exactly once.
 */
async function changePasswordWithResetToken(ctx: AppCtx, resetToken: string, newPassword: string) {
  const hash = await sha256Hex(resetToken);
  const now = ctx.clock.now();
  const [row] = await ctx.db.select().from(authResetToken).where(eq(authResetToken.tokenHash, hash)).limit(1);
  const invalidToken = () =>
    new ServiceError('AUTH_TOKEN_INVALID', 'resetToken is invalid, used or expired; ask an administrator for a new one');
  if (!row || row.usedAt !== null || row.expiresAt <= now) throw invalidToken();
  const user = await findActiveUserById(ctx.db, row.userId);
  if (!user) throw invalidToken();
  const newHash = await newPasswordHash(ctx, user.id, user.passwordHash, newPassword);
  await withTransaction(ctx, async (tx) => {
    const used = await tx.db
      .update(authResetToken)
      .set({ usedAt: tx.clock.now() })
      .where(and(eq(authResetToken.tokenHash, hash), isNull(authResetToken.usedAt)));
    if (used.rowsAffected !== 1) throw invalidToken();
    await storePassword(tx, user.id, user.passwordHash, newHash, false);
  });
  return { status: 'password changed; sign in again' };
}

export async function changePassword(ctx: AppCtx, actor: Actor | undefined, input: ChangePasswordInput) {
  if (input.resetToken !== undefined) return changePasswordWithResetToken(ctx, input.resetToken, input.newPassword);
  if (!actor)
    throw new ServiceError('AUTH_REQUIRED', 'Authentication required: send Authorization: Bearer <access token>, or a resetToken');
  const user = await requireUser(ctx, actor);
  if (!input.currentPassword) throw invalid('currentPassword is required');
  if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
    throw new ServiceError('INVALID_CREDENTIALS', 'currentPassword is incorrect');
  }
  const hash = await newPasswordHash(ctx, user.id, user.passwordHash, input.newPassword);
  await storePassword(ctx, user.id, user.passwordHash, hash, false);
  return { status: 'password changed; sign in again' };
}

export async function enrollMfa(ctx: AppCtx, actor: Actor) {
  const user = await requireUser(ctx, actor);
  const [existing] = await ctx.db.select().from(authMfa).where(eq(authMfa.userId, user.id)).limit(1);
  if (existing?.enabled) throw new ServiceError('CONFLICT', 'MFA is already enabled; disable it first to enroll a new authenticator');
  const secret = newTotpSecret();
  const secretEnc = await ctx.vault.encrypt(secret, `totp:${user.id}`);
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db
      .insert(authMfa)
      .values({ userId: user.id, secretEnc, enabled: false, createdAt: now })
      .onConflictDoUpdate({
        target: authMfa.userId,
        set: { secretEnc, enabled: false, createdAt: now, confirmedAt: null, lastUsedStep: null },
      });
  });
  return { secret, otpauthUrl: otpauthUrl(secret, user.email) };
}

function recoveryCode(): string {
  return [...crypto.getRandomValues(new Uint8Array(5))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function confirmMfa(ctx: AppCtx, actor: Actor, code: string) {
  const user = await requireUser(ctx, actor);
  const [mfa] = await ctx.db.select().from(authMfa).where(eq(authMfa.userId, user.id)).limit(1);
  if (!mfa) throw notFound('MFA enrollment');
  if (mfa.enabled) throw new ServiceError('CONFLICT', 'MFA is already enabled');
  const step = verifyTotp(await ctx.vault.decrypt(mfa.secretEnc, `totp:${user.id}`), code.trim(), ctx.clock.now());
  if (step === undefined) throw invalid('code is not a valid TOTP code for the enrolled secret');
  const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
  const hashes = await Promise.all(codes.map((c) => sha256Hex(c)));
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db.update(authMfa).set({ enabled: true, confirmedAt: now, lastUsedStep: step }).where(eq(authMfa.userId, user.id));
    await tx.db.delete(authRecoveryCode).where(eq(authRecoveryCode.userId, user.id));
    await tx.db.insert(authRecoveryCode).values(hashes.map((codeHash) => ({ id: tx.ids.uuid(), userId: user.id, codeHash })));
  });
  return { status: 'mfa enabled', recoveryCodes: codes };
}

export async function disableMfa(ctx: AppCtx, actor: Actor, input: MfaDisableInput) {
  const user = await requireUser(ctx, actor);
  const [mfa] = await ctx.db.select().from(authMfa).where(eq(authMfa.userId, user.id)).limit(1);
  if (!mfa) throw notFound('MFA enrollment');
  if (!(await verifyPassword(input.password, user.passwordHash))) throw new ServiceError('INVALID_CREDENTIALS', 'password is incorrect');
  if (mfa.enabled) {
    const code = input.code?.trim() ?? '';
    const ok =
      verifyTotp(await ctx.vault.decrypt(mfa.secretEnc, `totp:${user.id}`), code, ctx.clock.now()) !== undefined ||
      (code !== '' &&
        (
          await ctx.db
            .select({ id: authRecoveryCode.id })
            .from(authRecoveryCode)
            .where(
              and(
                eq(authRecoveryCode.userId, user.id),
                eq(authRecoveryCode.codeHash, await sha256Hex(code.toLowerCase())),
                isNull(authRecoveryCode.usedAt),
              ),
            )
        ).length > 0);
    if (!ok) throw invalid('code must be a valid TOTP or unused recovery code');
  }
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(authMfa).where(eq(authMfa.userId, user.id));
    await tx.db.delete(authRecoveryCode).where(eq(authRecoveryCode.userId, user.id));
  });
  return { status: 'mfa disabled' };
}
