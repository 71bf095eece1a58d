import { eq, sql } from 'drizzle-orm';
import { controllerSetting } from '../../../db/schema/index';
import type { Db } from '../../../db/client';
import type { AppCtx } from '../../context';

/**
 * How an in-memory cache learns about writes made on any instance: each write bumps a counter row
 * (`controller_setting[key]`) in its own transaction; a reader compares the stored counter with the one it
 * loaded at most once per `checkEveryMs` and reloads only when it moved. Callers that arrive during a check
 * share it. Used by the RBAC policy and the access-token generations.
 */
export class VersionWatch {
  #version = -1;
  #checkedAt = -Infinity;
  #checking: Promise<void> | undefined;

  constructor(
    readonly key: string,
    private readonly checkEveryMs = 1000,
  ) {}

  /** Forces the next `fresh` to read the stored counter (after a write on this instance). */
  invalidate(): void {
    this.#checkedAt = -Infinity;
  }

  /** Runs `reload` when the stored counter moved since the last load (checked at most once per interval). */
  async fresh(ctx: AppCtx, reload: () => Promise<void>): Promise<void> {
    const now = ctx.clock.now();
    if (now - this.#checkedAt < this.checkEveryMs) return;
    this.#checking ??= (async () => {
      const version = await readVersion(ctx.store.db, this.key);
      this.#checkedAt = now;
      if (version === this.#version) return;
      await reload();
      this.#version = version;
    })().finally(() => (this.#checking = undefined));
    await this.#checking;
  }
}

export async function readVersion(db: Db, key: string): Promise<number> {
  const [row] = await db.select({ value: controllerSetting.value }).from(controllerSetting).where(eq(controllerSetting.key, key)).limit(1);
  return row ? Number(row.value) : 0;
}

/** Inside a write transaction: bumps the counter every instance's VersionWatch on `key` compares. */
export async function bumpVersion(tx: AppCtx, key: string): Promise<void> {
  const now = tx.clock.now();
  await tx.db
    .insert(controllerSetting)
    .values({ key, value: '1', updatedAt: now })
    .onConflictDoUpdate({
      target: controllerSetting.key,
      set: { value: sql`CAST(${controllerSetting.value} AS INTEGER) + 1`, updatedAt: now },
    });
}
