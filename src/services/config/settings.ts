import { asc, eq } from 'drizzle-orm';
import { configEntry } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { notFound } from '../../errors';
import { auditTarget } from '../events/audit';
import type { SettingListT, SettingT } from './schemas';

/**
 * Operator-visible Controller settings (`/config`): free key/value strings kept
 * for operators and tooling. They are separate from the Controller's own internal settings, which
 * are never listed here.
 */
export async function listSettings(ctx: AppCtx): Promise<SettingListT> {
  const rows = await ctx.db.select({ key: configEntry.key, value: configEntry.value }).from(configEntry).orderBy(asc(configEntry.key));
  return { config: rows };
}

export async function getSetting(ctx: AppCtx, key: string): Promise<SettingT> {
  const [row] = await ctx.db
    .select({ key: configEntry.key, value: configEntry.value })
    .from(configEntry)
    .where(eq(configEntry.key, key))
    .limit(1);
  if (!row) throw notFound(`Config key ${key}`);
  return row;
}

export async function putSetting(ctx: AppCtx, key: string, value: string): Promise<SettingT> {
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db
      .insert(configEntry)
      .values({ key, value, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({ target: configEntry.key, set: { value, updatedAt: now } });
    auditTarget(tx, key);
  });
  return { key, value };
}
