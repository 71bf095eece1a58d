import { rbacRole, rbacRoleBinding } from '../../../db/schema/index';
import { VersionWatch, bumpVersion } from '../shared/version-watch';
import type { AppCtx } from '../../context';
import { allowed, SYSTEM_ROLES, type Permission, type Role, type Rule } from '../../auth/rbac';

export const POLICY_VERSION_KEY = 'rbac.version';

import type { RoleRef, Subject } from './schemas';
export type { RoleRef, Subject } from './schemas';

interface Binding {
  roleRef: RoleRef;
  subjects: Subject[];
}

/**
 * Custom roles and role bindings, held in memory and evaluated per request.
 * Every RBAC write bumps a version row in the same transaction; each instance compares its version
 * with the stored one at most once per `checkEveryMs` and reloads when it moved — so a change made
 * on any instance applies everywhere within about a second. The policy is small (roles and
 * bindings, not decisions), so evaluating it per request is cheaper than a decision cache.
 */
export class PolicyCache {
  #watch: VersionWatch;
  #roles = new Map<string, Role>();
  #bindings: Binding[] = [];

  constructor(checkEveryMs = 1000) {
    this.#watch = new VersionWatch(POLICY_VERSION_KEY, checkEveryMs);
  }

  /** Forces the next check to read the stored version (used after a local write). */
  invalidate(): void {
    this.#watch.invalidate();
  }

  #fresh(ctx: AppCtx): Promise<void> {
    return this.#watch.fresh(ctx, async () => {
      const [roles, bindings] = await Promise.all([ctx.store.db.select().from(rbacRole), ctx.store.db.select().from(rbacRoleBinding)]);
      this.#roles = new Map(
        roles.map((r) => [r.name, { name: r.name, kind: 'Role' as const, system: false, rules: JSON.parse(r.rules) as Rule[] }]),
      );
      this.#bindings = bindings.map((b) => ({ roleRef: JSON.parse(b.roleRef) as RoleRef, subjects: JSON.parse(b.subjects) as Subject[] }));
    });
  }

  /**
   * System-role shortcut first (a group named like a system role), then the rules of every
   * role bound to the user (by name) or to one of the groups (lower-cased).
   */
  async allows(ctx: AppCtx, who: { username: string; groups: readonly string[] }, p: Permission): Promise<boolean> {
    if (allowed(who.groups, p)) return true;
    await this.#fresh(ctx);
    if (this.#bindings.length === 0) return false;
    const groups = new Set(who.groups.map((g) => g.toLowerCase()));
    // User names are logins and e-mail addresses, stored lower-cased: compare without case, like groups.
    const user = who.username.toLowerCase();
    const bound: Role[] = [];
    for (const b of this.#bindings) {
      const hit = b.subjects.some(
        (s) => (s.kind === 'User' && s.name.toLowerCase() === user) || (s.kind === 'Group' && groups.has(s.name.toLowerCase())),
      );
      if (!hit) continue;
      const role = SYSTEM_ROLES[b.roleRef.name] ?? this.#roles.get(b.roleRef.name);
      if (role) bound.push(role);
    }
    return allowed([], p, bound);
  }
}

export async function bumpPolicyVersion(tx: AppCtx): Promise<void> {
  await bumpVersion(tx, POLICY_VERSION_KEY);
  tx.onSettled?.push(() => tx.rbacPolicy.invalidate());
}
