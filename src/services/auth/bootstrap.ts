import { and, eq, isNull } from 'drizzle-orm';
import { authGroup, authUser, authUserGroup, controllerSetting } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { hashPassword, passwordPolicyProblem, verifyPassword } from '../../auth/passwords';
import { normalizeLogin } from './users-repo';

const FINGERPRINT_KEY = 'bootstrap_admin_fingerprint';

async function rememberFingerprint(ctx: AppCtx, value: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    await tx.db
      .insert(controllerSetting)
      .values({ key: FINGERPRINT_KEY, value, updatedAt: tx.clock.now() })
      .onConflictDoUpdate({ target: controllerSetting.key, set: { value, updatedAt: tx.clock.now() } });
  });
}

/**
 * The bootstrap admin (platform §3.9), evaluated at every start from OIDC_BOOTSTRAP_ADMIN_*:
 * unset → keep what exists; same credentials → nothing to do; otherwise the previous bootstrap
 * user is replaced. A regular user that already owns the name is never touched.
 */
export async function ensureBootstrapAdmin(ctx: AppCtx): Promise<'unchanged' | 'created' | 'replaced' | 'skipped'> {
  const cfg = ctx.config.bootstrapAdmin;
  if (!cfg) return 'unchanged';
  const email = normalizeLogin(cfg.username);
  const problem = passwordPolicyProblem(cfg.password);
  if (problem) {
    ctx.logger.error('bootstrap admin not created: OIDC_BOOTSTRAP_ADMIN_PASSWORD violates the password policy', { rule: problem });
    return 'skipped';
  }
  const [current] = await ctx.db.select().from(authUser).where(and(eq(authUser.isBootstrap, true), isNull(authUser.deletedAt))).limit(1);
  // A keyed fingerprint of the configured credentials + the user's current hash lets a restart skip
  // the (deliberately slow) Argon2 verification when nothing changed.
  const fingerprint = current ? await ctx.vault.mac(`${email}\n${cfg.password}\n${current.passwordHash}`, FINGERPRINT_KEY) : undefined;
  if (current && current.email === email) {
    const [stored] = await ctx.db.select().from(controllerSetting).where(eq(controllerSetting.key, FINGERPRINT_KEY)).limit(1);
    if (stored?.value === fingerprint) return 'unchanged';
    if (await verifyPassword(cfg.password, current.passwordHash)) {
      await rememberFingerprint(ctx, fingerprint!);
      return 'unchanged';
    }
  }
  const [owner] = await ctx.db.select().from(authUser).where(and(eq(authUser.email, email), isNull(authUser.deletedAt))).limit(1);
  if (owner && !owner.isBootstrap) {
    ctx.logger.warn('bootstrap admin skipped: a regular user already has this login name', { username: email });
    return 'skipped';
  }
  const passwordHash = await hashPassword(cfg.password);
  const id = ctx.ids.uuid();
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const [admin] = await tx.db.select().from(authGroup).where(eq(authGroup.name, 'admin')).limit(1);
    if (!admin) throw new Error('system group admin is missing');
    await tx.db.delete(authUser).where(eq(authUser.isBootstrap, true));
    await tx.db.insert(authUser).values({ id, email, passwordHash, isBootstrap: true, mustChangePassword: false, passwordChangedAt: now, createdAt: now, updatedAt: now });
    await tx.db.insert(authUserGroup).values({ userId: id, groupId: admin.id });
  });
  await rememberFingerprint(ctx, await ctx.vault.mac(`${email}\n${cfg.password}\n${passwordHash}`, FINGERPRINT_KEY));
  ctx.logger.info(current ? 'bootstrap admin replaced' : 'bootstrap admin created', { username: email });
  return current ? 'replaced' : 'created';
}
