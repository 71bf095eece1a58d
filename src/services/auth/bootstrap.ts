import { and, count, eq, isNull } from 'drizzle-orm';
import { authGroup, authUser, authUserGroup, controllerSetting } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { hashPassword, passwordPolicyProblem, verifyPassword } from '../../auth/passwords';
import { base64url } from '../../lib/ids';
import type { KeyFileStore } from '../../boot';
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
 * The bootstrap admin, evaluated at every start from OIDC_BOOTSTRAP_ADMIN_*:
 * unset → keep what exists; same credentials → nothing to do; otherwise the previous bootstrap
 * user is replaced. A regular user that already owns the name is never touched.
 */
export async function ensureBootstrapAdmin(ctx: AppCtx): Promise<'unchanged' | 'created' | 'replaced' | 'skipped'> {
  const cfg = ctx.config.bootstrapAdmin;
  if (!cfg) return 'unchanged';
  // The password policy was checked with the configuration: a bad one never gets this far.
  const email = normalizeLogin(cfg.username);
  const [current] = await ctx.db
    .select()
    .from(authUser)
    .where(and(eq(authUser.isBootstrap, true), isNull(authUser.deletedAt)))
    .limit(1);
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
  const [owner] = await ctx.db
    .select()
    .from(authUser)
    .where(and(eq(authUser.email, email), isNull(authUser.deletedAt)))
    .limit(1);
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
    await tx.db.insert(authUser).values({
      id,
      email,
      passwordHash,
      isBootstrap: true,
      mustChangePassword: false,
      passwordChangedAt: now,
      createdAt: now,
      updatedAt: now,
    });
    await tx.db.insert(authUserGroup).values({ userId: id, groupId: admin.id });
  });
  await rememberFingerprint(ctx, await ctx.vault.mac(`${email}\n${cfg.password}\n${passwordHash}`, FINGERPRINT_KEY));
  ctx.logger.info(current ? 'bootstrap admin replaced' : 'bootstrap admin created', { username: email });
  return current ? 'replaced' : 'created';
}

export const FIRST_ADMIN_LOGIN = 'admin';

/**
 * A first start with no user at all and no OIDC_BOOTSTRAP_ADMIN_* would leave a Controller nobody can log in to.
 * Instead, as Jenkins and Grafana do, create the admin `admin` with a random password written once to a 0600 file
 * next to the encryption key (`initial-admin-password`), and say where it is. The password must be changed at the
 * first login. A file left from an earlier database is reused rather than overwritten, so the file always holds the
 * password that works. Without a filesystem (Workers) nothing can be handed over: the log says what to set.
 */
export async function ensureFirstAdmin(
  ctx: AppCtx,
  keyFiles: KeyFileStore | undefined,
): Promise<{ login: string; file: string } | undefined> {
  if (ctx.config.bootstrapAdmin) return undefined;
  const [row] = await ctx.db.select({ n: count() }).from(authUser).where(isNull(authUser.deletedAt));
  if ((row?.n ?? 0) > 0) return undefined;
  if (!keyFiles) {
    ctx.logger.error(
      'no user exists and OIDC_BOOTSTRAP_ADMIN_USERNAME / OIDC_BOOTSTRAP_ADMIN_PASSWORD are not set: nobody can log in until they are',
    );
    return undefined;
  }
  const file = ctx.config.encryptionKeyFile.replace(/[^/\\]*$/, 'initial-admin-password');
  let password = (await keyFiles.read(file))?.trim();
  if (!password || passwordPolicyProblem(password)) {
    // Upper, lower and digit guaranteed, then 144 random bits.
    password = `Aa1-${base64url(crypto.getRandomValues(new Uint8Array(18)))}`;
    await keyFiles.write(file, `${password}\n`);
  }
  const passwordHash = await hashPassword(password);
  const id = ctx.ids.uuid();
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const [admin] = await tx.db.select().from(authGroup).where(eq(authGroup.name, 'admin')).limit(1);
    if (!admin) throw new Error('system group admin is missing');
    await tx.db.insert(authUser).values({
      id,
      email: FIRST_ADMIN_LOGIN,
      passwordHash,
      isBootstrap: false,
      mustChangePassword: true,
      passwordChangedAt: now,
      createdAt: now,
      updatedAt: now,
    });
    await tx.db.insert(authUserGroup).values({ userId: id, groupId: admin.id });
  });
  ctx.logger.warn('no user existed: created the admin "admin" with a one-time password; log in with it and choose a new one', {
    login: FIRST_ADMIN_LOGIN,
    passwordFile: file,
  });
  return { login: FIRST_ADMIN_LOGIN, file };
}
