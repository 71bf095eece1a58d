import { and, eq, inArray, isNull } from 'drizzle-orm';
import { authGroup, authMfa, authUser, authUserGroup } from '../../../db/schema/index';
import type { Db } from '../../../db/client';

export type UserRow = typeof authUser.$inferSelect;
export type GroupRow = typeof authGroup.$inferSelect;

export const normalizeLogin = (email: string) => email.trim().toLowerCase();

export async function findActiveUserByLogin(db: Db, login: string): Promise<UserRow | undefined> {
  const rows = await db
    .select()
    .from(authUser)
    .where(and(eq(authUser.email, normalizeLogin(login)), isNull(authUser.deletedAt)))
    .limit(1);
  return rows[0];
}

export async function findActiveUserById(db: Db, id: string): Promise<UserRow | undefined> {
  const rows = await db
    .select()
    .from(authUser)
    .where(and(eq(authUser.id, id), isNull(authUser.deletedAt)))
    .limit(1);
  return rows[0];
}

export async function groupsOf(db: Db, userIds: string[]): Promise<Map<string, GroupRow[]>> {
  const out = new Map<string, GroupRow[]>();
  if (userIds.length === 0) return out;
  const rows = await db
    .select({ userId: authUserGroup.userId, group: authGroup })
    .from(authUserGroup)
    .innerJoin(authGroup, eq(authGroup.id, authUserGroup.groupId))
    .where(inArray(authUserGroup.userId, userIds));
  for (const r of rows) {
    const list = out.get(r.userId) ?? [];
    list.push(r.group);
    out.set(r.userId, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}

export async function mfaEnabledOf(db: Db, userIds: string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await db
    .select({ userId: authMfa.userId })
    .from(authMfa)
    .where(and(inArray(authMfa.userId, userIds), eq(authMfa.enabled, true)));
  return new Set(rows.map((r) => r.userId));
}

/** Resolves group names to rows; throws the list of unknown names for a precise 400. */
export async function resolveGroups(db: Db, names: string[]): Promise<{ found: GroupRow[]; unknown: string[] }> {
  const wanted = [...new Set(names.map((n) => n.trim().toLowerCase()))];
  if (wanted.length === 0) return { found: [], unknown: [] };
  const found = await db.select().from(authGroup).where(inArray(authGroup.name, wanted));
  const have = new Set(found.map((g) => g.name));
  return { found, unknown: wanted.filter((n) => !have.has(n)) };
}
