import { and, asc, eq, isNull, ne } from 'drizzle-orm';
import { authGroup, authRefreshToken, authResetToken, authUser, authUserGroup } from '../../../db/schema/index';
import { sha256Hex } from '../../lib/ids';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { conflict, forbidden, invalid, notFound } from '../../errors';
import { hashPassword, passwordPolicyProblem } from '../../auth/passwords';
import { SYSTEM_GROUPS } from '../../auth/rbac';
import { findActiveUserById, groupsOf, mfaEnabledOf, normalizeLogin, resolveGroups, type GroupRow, type UserRow } from './users-repo';
import { storePassword } from './self';
import { groupMemberIds, revokeAccessTokens } from './token-generation';
import { auditTarget } from '../events/audit';

import type { AuthGroup, AuthUser, CreateGroupInput, CreateUserInput, IdentityExportT, UpdateGroupInput, UpdateUserInput } from './schemas';
export type { AuthGroup, AuthUser } from './schemas';

const iso = (ms: number) => new Date(ms).toISOString();

export function toAuthGroup(g: GroupRow): AuthGroup {
  return {
    id: g.id,
    name: g.name,
    isSystem: g.isSystem,
    mfaRequired: g.mfaRequired,
    createdAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
  };
}

async function present(ctx: AppCtx, users: UserRow[]): Promise<AuthUser[]> {
  const ids = users.map((u) => u.id);
  const [groups, mfa] = await Promise.all([groupsOf(ctx.db, ids), mfaEnabledOf(ctx.db, ids)]);
  return users.map((u) => ({
    id: u.id,
    email: u.email,
    groups: (groups.get(u.id) ?? []).map((g) => g.name),
    mustChangePassword: u.mustChangePassword,
    mfaEnabled: mfa.has(u.id),
    isBootstrap: u.isBootstrap,
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
  }));
}

async function requireUser(ctx: AppCtx, id: string): Promise<UserRow> {
  const user = await findActiveUserById(ctx.db, id);
  if (!user) throw notFound(`User ${id}`);
  return user;
}

async function groupIdsFor(ctx: AppCtx, names: string[]): Promise<string[]> {
  const { found, unknown } = await resolveGroups(ctx.db, names);
  if (unknown.length > 0) throw invalid(`groups: unknown group${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}`);
  return found.map((g) => g.id);
}

export async function listUsers(ctx: AppCtx): Promise<AuthUser[]> {
  const rows = await ctx.db.select().from(authUser).where(isNull(authUser.deletedAt)).orderBy(asc(authUser.email));
  return present(ctx, rows);
}

export async function getUser(ctx: AppCtx, id: string): Promise<AuthUser> {
  return (await present(ctx, [await requireUser(ctx, id)]))[0]!;
}

export async function createUser(ctx: AppCtx, input: CreateUserInput): Promise<AuthUser> {
  const email = normalizeLogin(input.email);
  const problem = passwordPolicyProblem(input.password);
  if (problem) throw invalid(problem);
  const groupIds = await groupIdsFor(ctx, input.groups ?? []);
  const passwordHash = await hashPassword(input.password);
  const id = ctx.ids.uuid();
  await withTransaction(ctx, async (tx) => {
    const dup = await tx.db
      .select({ id: authUser.id })
      .from(authUser)
      .where(and(eq(authUser.email, email), isNull(authUser.deletedAt)))
      .limit(1);
    if (dup.length > 0) throw conflict(`A user with email ${email} already exists`);
    const now = tx.clock.now();
    await tx.db
      .insert(authUser)
      .values({ id, email, passwordHash, mustChangePassword: true, passwordChangedAt: now, createdAt: now, updatedAt: now });
    if (groupIds.length) await tx.db.insert(authUserGroup).values(groupIds.map((groupId) => ({ userId: id, groupId })));
    auditTarget(tx, id);
  });
  return getUser(ctx, id);
}

export async function updateUser(ctx: AppCtx, id: string, input: UpdateUserInput): Promise<AuthUser> {
  const user = await requireUser(ctx, id);
  const groupIds = input.groups ? await groupIdsFor(ctx, input.groups) : undefined;
  const email = input.email !== undefined ? normalizeLogin(input.email) : undefined;
  if (user.isBootstrap && groupIds) {
    const admin = (await resolveGroups(ctx.db, ['admin'])).found[0];
    if (admin && !groupIds.includes(admin.id)) throw forbidden('The bootstrap admin must stay in the admin group');
  }
  await withTransaction(ctx, async (tx) => {
    if (email && email !== user.email) {
      const dup = await tx.db
        .select({ id: authUser.id })
        .from(authUser)
        .where(and(eq(authUser.email, email), isNull(authUser.deletedAt), ne(authUser.id, id)))
        .limit(1);
      if (dup.length > 0) throw conflict(`A user with email ${email} already exists`);
    }
    await tx.db
      .update(authUser)
      .set({ ...(email ? { email } : {}), updatedAt: tx.clock.now() })
      .where(eq(authUser.id, id));
    if (groupIds) {
      await tx.db.delete(authUserGroup).where(eq(authUserGroup.userId, id));
      if (groupIds.length) await tx.db.insert(authUserGroup).values(groupIds.map((groupId) => ({ userId: id, groupId })));
    }
    // Groups and the user name are in the token and decide its RBAC: old tokens must not keep the old rights.
    if (groupIds || (email && email !== user.email)) await revokeAccessTokens(tx, [id]);
  });
  return getUser(ctx, id);
}

export async function deleteUser(ctx: AppCtx, id: string): Promise<void> {
  const user = await requireUser(ctx, id);
  if (user.isBootstrap) throw forbidden('The bootstrap admin cannot be deleted');
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db.update(authUser).set({ deletedAt: now, updatedAt: now }).where(eq(authUser.id, id));
    await tx.db
      .update(authRefreshToken)
      .set({ revokedAt: now })
      .where(and(eq(authRefreshToken.userId, id), isNull(authRefreshToken.revokedAt)));
    await revokeAccessTokens(tx, [id]);
  });
}

/** A random temporary password that satisfies the policy. */
function temporaryPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const body = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  return `${body}Aa1`;
}

export async function resetPassword(ctx: AppCtx, id: string): Promise<{ temporaryPassword: string; mustChangePassword: true }> {
  const user = await requireUser(ctx, id);
  const password = temporaryPassword();
  await storePassword(ctx, user.id, user.passwordHash, await hashPassword(password), true);
  return { temporaryPassword: password, mustChangePassword: true };
}

export const RESET_TOKEN_TTL_SEC = 3600;

/**
 * POST /users/:id/reset-token: a one-time token (1 h) with which the user sets a new password through
 * POST /user/change-password without being able to log in. Only its SHA-256 is stored; issuing a new
 * token voids the user's earlier unused ones.
 */
export async function issueResetToken(ctx: AppCtx, id: string): Promise<{ resetToken: string; expiresIn: number }> {
  const user = await requireUser(ctx, id);
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  const tokenHash = await sha256Hex(token);
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db
      .update(authResetToken)
      .set({ usedAt: now })
      .where(and(eq(authResetToken.userId, user.id), isNull(authResetToken.usedAt)));
    await tx.db.insert(authResetToken).values({ tokenHash, userId: user.id, expiresAt: now + RESET_TOKEN_TTL_SEC * 1000, createdAt: now });
  });
  return { resetToken: token, expiresIn: RESET_TOKEN_TTL_SEC };
}

// ---- groups ----

const GROUP_NAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;

function checkGroupName(name: string): string {
  const n = name.trim().toLowerCase();
  if (!GROUP_NAME.test(n))
    throw invalid('name must be 1-64 lower-case letters, digits, ".", "_" or "-", starting and ending with a letter or digit');
  return n;
}

async function requireGroup(ctx: AppCtx, name: string): Promise<GroupRow> {
  const [g] = await ctx.db.select().from(authGroup).where(eq(authGroup.name, name.trim().toLowerCase())).limit(1);
  if (!g) throw notFound(`Group ${name}`);
  return g;
}

export async function listGroups(ctx: AppCtx): Promise<AuthGroup[]> {
  return (await ctx.db.select().from(authGroup).orderBy(asc(authGroup.name))).map(toAuthGroup);
}

export async function getGroup(ctx: AppCtx, name: string): Promise<AuthGroup> {
  return toAuthGroup(await requireGroup(ctx, name));
}

export async function createGroup(ctx: AppCtx, input: CreateGroupInput): Promise<AuthGroup> {
  const name = checkGroupName(input.name);
  const id = ctx.ids.uuid();
  await withTransaction(ctx, async (tx) => {
    const dup = await tx.db.select({ id: authGroup.id }).from(authGroup).where(eq(authGroup.name, name)).limit(1);
    if (dup.length) throw conflict(`Group ${name} already exists`);
    const now = tx.clock.now();
    await tx.db
      .insert(authGroup)
      .values({ id, name, isSystem: false, mfaRequired: input.mfaRequired ?? false, createdAt: now, updatedAt: now });
  });
  return getGroup(ctx, name);
}

export async function updateGroup(ctx: AppCtx, current: string, input: UpdateGroupInput): Promise<AuthGroup> {
  const group = await requireGroup(ctx, current);
  if (input.name === undefined && input.mfaRequired === undefined) throw invalid('body must set name or mfaRequired');
  const name = input.name !== undefined ? checkGroupName(input.name) : group.name;
  if (group.isSystem && name !== group.name) throw forbidden(`System group ${group.name} cannot be renamed; only mfaRequired can change`);
  await withTransaction(ctx, async (tx) => {
    if (name !== group.name) {
      const dup = await tx.db.select({ id: authGroup.id }).from(authGroup).where(eq(authGroup.name, name)).limit(1);
      if (dup.length) throw conflict(`Group ${name} already exists`);
    }
    await tx.db
      .update(authGroup)
      .set({ name, mfaRequired: input.mfaRequired ?? group.mfaRequired, updatedAt: tx.clock.now() })
      .where(eq(authGroup.id, group.id));
    // The members' tokens name the group: after a rename they would match neither name correctly.
    if (name !== group.name) await revokeAccessTokens(tx, await groupMemberIds(tx.db, group.id));
  });
  return getGroup(ctx, name);
}

export async function deleteGroup(ctx: AppCtx, name: string): Promise<void> {
  const group = await requireGroup(ctx, name);
  if (group.isSystem) throw forbidden(`System group ${group.name} cannot be deleted`);
  await withTransaction(ctx, async (tx) => {
    await revokeAccessTokens(tx, await groupMemberIds(tx.db, group.id));
    await tx.db.delete(authGroup).where(eq(authGroup.id, group.id));
  });
}

// ---- seeding ----

/** Ensures the system groups exist (idempotent, every start). */
export async function seedSystemGroups(ctx: AppCtx): Promise<void> {
  const present = await ctx.db.select({ name: authGroup.name }).from(authGroup).where(eq(authGroup.isSystem, true));
  if (SYSTEM_GROUPS.every((g) => present.some((p) => p.name === g))) return;
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    for (const name of SYSTEM_GROUPS) {
      await tx.db
        .insert(authGroup)
        .values({ id: tx.ids.uuid(), name, isSystem: true, mfaRequired: false, createdAt: now, updatedAt: now })
        .onConflictDoNothing({ target: authGroup.name });
    }
  });
}

// ---- migration export ----

/**
 * POST /auth/migration/export: the users (active ones) and groups, for re-creating them in an
 * external IdP. Carries no password hashes, MFA secrets, recovery codes or tokens.
 */
export async function exportIdentities(ctx: AppCtx): Promise<IdentityExportT> {
  const [users, groups] = await Promise.all([listUsers(ctx), listGroups(ctx)]);
  return {
    exportedAt: new Date(ctx.clock.now()).toISOString(),
    authMode: 'embedded' as const,
    users: users.map((u) => ({ id: u.id, email: u.email, groups: u.groups })),
    groups: groups.map((g) => ({ id: g.id, name: g.name, isSystem: g.isSystem })),
  };
}
