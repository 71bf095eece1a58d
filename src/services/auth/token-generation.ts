import { eq, inArray, sql } from 'drizzle-orm';
import { authUser, authUserGroup, controllerSetting } from '../../../db/schema/index';
import type { Db } from '../../../db/client';
import type { AppCtx } from '../../context';

export const TOKEN_VERSION_KEY = 'auth.tokens.version';
/** The generation of a deleted user: no token matches it. */
const GONE = -1;

/**
 * Per-user token generations, held in memory so that checking an access token costs no query.
 *
 * An access token carries its user's generation (`gen`) from when it was signed. Deleting a user,
 * changing their password, groups or login name bumps the generation in the same transaction as the
 * change, plus a version row; each instance compares its version with the stored one at most once per
 * `checkEveryMs` and reloads the (small: operators, not agents) table of generations when it moved. So
 * a token revoked on one instance stops working there at once and on every other instance within
 * about `checkEveryMs`. A user this instance has not seen yet (created since the last reload) is read
 * on its own.
 */
export class TokenGenerationCache {
  #version = -1;
  #checkedAt = -Infinity;
  #generations = new Map<string, number>();
  #loading: Promise<void> | undefined;

  constructor(private readonly checkEveryMs = 1000) {}

  /** Forces the next check to read the stored version (used after a local write). */
  invalidate(): void {
    this.#checkedAt = -Infinity;
  }

  async #fresh(ctx: AppCtx): Promise<void> {
    const now = ctx.clock.now();
    if (now - this.#checkedAt < this.checkEveryMs) return;
    this.#loading ??= this.#reload(ctx, now).finally(() => (this.#loading = undefined));
    await this.#loading;
  }

  async #reload(ctx: AppCtx, now: number): Promise<void> {
    const version = await readTokenVersion(ctx.store.db);
    this.#checkedAt = now;
    if (version === this.#version) return;
    const rows = await ctx.store.db
      .select({ id: authUser.id, gen: authUser.tokenGeneration, deletedAt: authUser.deletedAt })
      .from(authUser);
    this.#generations = new Map(rows.map((r) => [r.id, r.deletedAt === null ? r.gen : GONE]));
    this.#version = version;
  }

  /** Whether a token of `userId` signed at generation `gen` is still good. */
  async accepts(ctx: AppCtx, userId: string, gen: number): Promise<boolean> {
    await this.#fresh(ctx);
    let current = this.#generations.get(userId);
    if (current === undefined) {
      const [row] = await ctx.store.db
        .select({ gen: authUser.tokenGeneration, deletedAt: authUser.deletedAt })
        .from(authUser)
        .where(eq(authUser.id, userId))
        .limit(1);
      current = row && row.deletedAt === null ? row.gen : GONE;
      // Only a row that exists is remembered: an id nobody has cannot fill the map.
      if (row) this.#generations.set(userId, current);
    }
    return current !== GONE && current === gen;
  }
}

export async function readTokenVersion(db: Db): Promise<number> {
  const [row] = await db
    .select({ value: controllerSetting.value })
    .from(controllerSetting)
    .where(eq(controllerSetting.key, TOKEN_VERSION_KEY))
    .limit(1);
  return row ? Number(row.value) : 0;
}

/**
 * Inside the write transaction of a change that must end the users' access tokens now: bumps their
 * generations and the version every instance watches.
 */
export async function revokeAccessTokens(tx: AppCtx, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  const now = tx.clock.now();
  await tx.db
    .update(authUser)
    .set({ tokenGeneration: sql`${authUser.tokenGeneration} + 1` })
    .where(inArray(authUser.id, [...userIds]));
  await tx.db
    .insert(controllerSetting)
    .values({ key: TOKEN_VERSION_KEY, value: '1', updatedAt: now })
    .onConflictDoUpdate({
      target: controllerSetting.key,
      set: { value: sql`CAST(${controllerSetting.value} AS INTEGER) + 1`, updatedAt: now },
    });
  tx.onSettled?.push(() => tx.tokenGenerations.invalidate());
}

/** The members of a group (for a rename or delete, which changes the `groups` claim of their tokens). */
export async function groupMemberIds(db: Db, groupId: string): Promise<string[]> {
  return (await db.select({ id: authUserGroup.userId }).from(authUserGroup).where(eq(authUserGroup.groupId, groupId))).map((r) => r.id);
}
