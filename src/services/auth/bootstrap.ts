import { and, eq, isNull } from 'drizzle-orm';
import { authGroup, authUser, authUserGroup } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { hashPassword, passwordPolicyProblem, verifyPassword } from '../../auth/passwords';
import { normalizeLogin } from './users-repo';

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
  if (current && current.email === email && (await verifyPassword(cfg.password, current.passwordHash))) return 'unchanged';
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
  ctx.logger.info(current ? 'bootstrap admin replaced' : 'bootstrap admin created', { username: email });
  return current ? 'replaced' : 'created';
}
