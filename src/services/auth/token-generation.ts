import { eq, inArray, sql } from 'drizzle-orm';
import { authUser, authUserGroup } from '../../../db/schema/index';
import { VersionWatch, bumpVersion } from '../shared/version-watch';
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
  #watch: VersionWatch;
  #generations = new Map<string, number>();

  constructor(checkEveryMs = 1000) {
    this.#watch = new VersionWatch(TOKEN_VERSION_KEY, checkEveryMs);
  }

  /** Forces the next check to read the stored version (used after a local write). */
  invalidate(): void {
    this.#watch.invalidate();
  }

  #fresh(ctx: AppCtx): Promise<void> {
    return this.#watch.fresh(ctx, async () => {
      const rows = await ctx.store.db
        .select({ id: authUser.id, gen: authUser.tokenGeneration, deletedAt: authUser.deletedAt })
        .from(authUser);
      this.#generations = new Map(rows.map((r) => [r.id, r.deletedAt === null ? r.gen : GONE]));
    });
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

/**
 * Inside the write transaction of a change that must end the users' access tokens now: bumps their
 * generations and the version every instance watches.
 */
export async function revokeAccessTokens(tx: AppCtx, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx.db
    .update(authUser)
    .set({ tokenGeneration: sql`${authUser.tokenGeneration} + 1` })
    .where(inArray(authUser.id, [...userIds]));
  await bumpVersion(tx, TOKEN_VERSION_KEY);
  tx.onSettled?.push(() => tx.tokenGenerations.invalidate());
}

/** The members of a group (for a rename or delete, which changes the `groups` claim of their tokens). */
export async function groupMemberIds(db: Db, groupId: string): Promise<string[]> {
  return (await db.select({ id: authUserGroup.userId }).from(authUserGroup).where(eq(authUserGroup.groupId, groupId))).map((r) => r.id);
}
