import { and, eq, isNull } from 'drizzle-orm';
import { authMfa, authRecoveryCode, authUser } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { ServiceError } from '../../errors';
import { sha256Hex } from '../../lib/ids';
import { verifyPassword } from '../../auth/passwords';
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

// A fixed hash to verify against when the user does not exist, so timing does not reveal it either.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Qb4XWlCxYV8vJ1f0U6qlqEt7vCGrC3RqXQ4kIEv0Gk';

async function recordFailure(ctx: AppCtx, user: UserRow): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const [fresh] = await tx.db.select().from(authUser).where(eq(authUser.id, user.id)).limit(1);
    if (!fresh) return;
    const failed = fresh.failedAttempts + 1;
    const locked = failed >= MAX_FAILED_ATTEMPTS;
    await tx.db
      .update(authUser)
      .set({ failedAttempts: locked ? 0 : failed, lockedUntil: locked ? tx.clock.now() + LOCKOUT_MS : fresh.lockedUntil })
      .where(eq(authUser.id, user.id));
    if (locked) tx.logger.warn('account locked after repeated failed logins', { userId: user.id });
  });
}

/** Password step of every login: lockout, constant-time miss, failure counting. Returns the user. */
export async function checkPassword(ctx: AppCtx, email: string, password: string): Promise<UserRow> {
  const user = await findActiveUserByLogin(ctx.db, email);
  if (!user) {
    await verifyPassword(password, DUMMY_HASH);
    throw badCredentials();
  }
  if (user.lockedUntil !== null && user.lockedUntil > ctx.clock.now()) throw badCredentials();
  if (!(await verifyPassword(password, user.passwordHash))) {
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
  await tx.db.update(authUser).set({ failedAttempts: 0, lockedUntil: null }).where(eq(authUser.id, user.id));
}

/** Direct (CLI) login, platform §3.4. */
export async function login(ctx: AppCtx, input: LoginInput): Promise<TokenPair> {
  const user = await checkPassword(ctx, input.email, input.password);
  const groups = (await groupsOf(ctx.db, [user.id])).get(user.id) ?? [];
  const mfaEnabled = await mfaEnabledFor(ctx, user);
  const factor = mfaEnabled ? await checkSecondFactor(ctx, user, input.totp ?? '') : {};
  const needsEnrollment = !user.isBootstrap && !mfaEnabled && groups.some((g) => g.mfaRequired);
  const { pair, row } = await prepareTokenPair(ctx, user, groups.map((g) => g.name), { mfaEnrollmentRequired: needsEnrollment });
  await withTransaction(ctx, async (tx) => {
    await consumeSecondFactor(tx, user, factor);
    await tx.db.insert(authRefreshToken).values(row);
  });
  return pair;
}
