import { and, asc, eq, inArray } from 'drizzle-orm';
import { application, microservice, rbacRole, rbacRoleBinding, serviceAccount } from '../../../db/schema/index';
import { InListSelect } from '../../../db/statements';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { conflict, invalid, notFound, ServiceError } from '../../errors';
import { SYSTEM_ROLES, type Rule } from '../../auth/rbac';
import { auditTarget } from '../events/audit';
import { raiseFlags } from '../changes/flags';
import { bumpPolicyVersion } from './policy';
import type {
  AccountInput,
  AccountUpdate,
  AccountViewT,
  BindingInput,
  BindingUpdate,
  BindingViewT,
  RoleInput,
  RoleRef,
  RoleUpdate,
  RoleViewT,
  Subject,
} from './schemas';
import { samePathName } from '../shared/read-only';

/**
 * Roles, role bindings and service accounts. System roles live in code:
 * they are listed and readable, never written. A role still referenced by a binding or a service
 * account cannot be deleted (409 naming the references), so no binding ever points at nothing.
 */

/** Resource names of the Controller API, for catching typos in core-group rules. */
export const CORE_RESOURCES = new Set([
  'controller',
  'fogs',
  'tunnels',
  'execSessions',
  'systemExecSessions',
  'logs',
  'systemLogs',
  'applications',
  'systemApplications',
  'applicationTemplates',
  'microservices',
  'systemMicroservices',
  'catalog',
  'registries',
  'secrets',
  'configMaps',
  'volumeMounts',
  'services',
  'certificates',
  'events',
  'config',
  'cluster',
  'router',
  'natsOperator',
  'natsBootstrap',
  'natsHub',
  'natsAccounts',
  'natsUsers',
  'natsAccountRules',
  'natsUserRules',
  'roles',
  'roleBindings',
  'serviceAccounts',
  'users',
  'authAdmin',
  'authUsers',
  'authGroups',
  'capabilities',
  'agent',
]);

function checkRules(rules: Rule[]): void {
  rules.forEach((r, i) => {
    const coreOnly = r.apiGroups.every((g) => g === '');
    if (!coreOnly) return;
    r.resources.forEach((res, j) => {
      if (!res.includes('*') && !CORE_RESOURCES.has(res))
        throw invalid(`rules[${i}].resources[${j}]: unknown resource ${res} (see the resource catalog; "*" for all)`);
    });
  });
}

const isSystemRole = (name: string) => Object.hasOwn(SYSTEM_ROLES, name);

function roleView(
  apiVersion: string,
  r: { id: number | null; name: string; rules: Rule[]; system: boolean; createdAt?: number; updatedAt?: number },
): RoleViewT {
  return {
    id: r.id,
    apiVersion,
    kind: 'Role' as const,
    name: r.name,
    isSystem: r.system,
    rules: r.rules.map((x) => ({ apiGroups: x.apiGroups, resources: x.resources, verbs: x.verbs, resourceNames: x.resourceNames ?? [] })),
    createdAt: r.createdAt !== undefined ? new Date(r.createdAt).toISOString() : null,
    updatedAt: r.updatedAt !== undefined ? new Date(r.updatedAt).toISOString() : null,
  };
}

type RoleRow = typeof rbacRole.$inferSelect;
const fromRow = (ctx: AppCtx, r: RoleRow) =>
  roleView(ctx.config.rbacApiVersion, {
    id: r.id,
    name: r.name,
    rules: JSON.parse(r.rules) as Rule[],
    system: false,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });
const systemView = (ctx: AppCtx, name: string) =>
  roleView(ctx.config.rbacApiVersion, { id: null, name, rules: SYSTEM_ROLES[name]!.rules, system: true });

export async function listRoles(ctx: AppCtx): Promise<RoleViewT[]> {
  const rows = await ctx.db.select().from(rbacRole).orderBy(asc(rbacRole.name));
  return [...Object.keys(SYSTEM_ROLES).map((n) => systemView(ctx, n)), ...rows.map((r) => fromRow(ctx, r))];
}

export async function getRole(ctx: AppCtx, name: string): Promise<RoleViewT> {
  if (isSystemRole(name)) return systemView(ctx, name);
  const [row] = await ctx.db.select().from(rbacRole).where(eq(rbacRole.name, name)).limit(1);
  if (!row) throw notFound(`Role ${name}`);
  return fromRow(ctx, row);
}

const systemRoleError = (name: string) => new ServiceError('FORBIDDEN', `Role ${name} is a system role and cannot be changed or deleted`);

export async function createRole(ctx: AppCtx, input: RoleInput): Promise<RoleViewT> {
  if (isSystemRole(input.name)) throw conflict(`Role ${input.name} already exists (system role)`);
  checkRules(input.rules);
  await withTransaction(ctx, async (tx) => {
    const [dup] = await tx.db.select({ id: rbacRole.id }).from(rbacRole).where(eq(rbacRole.name, input.name)).limit(1);
    if (dup) throw conflict(`Role ${input.name} already exists`);
    const now = tx.clock.now();
    await tx.db.insert(rbacRole).values({ name: input.name, rules: JSON.stringify(input.rules), createdAt: now, updatedAt: now });
    await bumpPolicyVersion(tx);
    auditTarget(tx, input.name);
  });
  return getRole(ctx, input.name);
}

/** Fogs running microservices whose service account uses the role: their agents re-read the rules. */
async function fogsUsingRole(tx: AppCtx, roleName: string): Promise<string[]> {
  const rows = await tx.db
    .select({ fogUuid: microservice.fogUuid, roleRef: serviceAccount.roleRef })
    .from(serviceAccount)
    .innerJoin(microservice, and(eq(microservice.applicationId, serviceAccount.applicationId), eq(microservice.name, serviceAccount.name)));
  return [...new Set(rows.filter((r) => r.fogUuid && (JSON.parse(r.roleRef) as RoleRef).name === roleName).map((r) => r.fogUuid!))];
}

export async function updateRole(ctx: AppCtx, name: string, input: RoleUpdate): Promise<RoleViewT> {
  if (isSystemRole(name)) throw systemRoleError(name);
  if (input.name !== undefined && input.name !== name) throw invalid(`name: roles cannot be renamed (path names ${name})`);
  checkRules(input.rules);
  await withTransaction(ctx, async (tx) => {
    const res = await tx.db
      .update(rbacRole)
      .set({ rules: JSON.stringify(input.rules), updatedAt: tx.clock.now() })
      .where(eq(rbacRole.name, name));
    if (res.rowsAffected === 0) throw notFound(`Role ${name}`);
    await bumpPolicyVersion(tx);
    await raiseFlags(tx, await fogsUsingRole(tx, name), ['microserviceList', 'microserviceConfig']);
  });
  return getRole(ctx, name);
}

export async function deleteRole(ctx: AppCtx, name: string): Promise<void> {
  if (isSystemRole(name)) throw systemRoleError(name);
  await withTransaction(ctx, async (tx) => {
    const [row] = await tx.db.select({ id: rbacRole.id }).from(rbacRole).where(eq(rbacRole.name, name)).limit(1);
    if (!row) throw notFound(`Role ${name}`);
    const bindings = (await tx.db.select({ name: rbacRoleBinding.name, roleRef: rbacRoleBinding.roleRef }).from(rbacRoleBinding)).filter(
      (b) => (JSON.parse(b.roleRef) as RoleRef).name === name,
    );
    if (bindings.length) throw conflict(`Role ${name} is used by role bindings: ${bindings.map((b) => b.name).join(', ')}`);
    const accounts = (await tx.db.select({ name: serviceAccount.name, roleRef: serviceAccount.roleRef }).from(serviceAccount)).filter(
      (a) => (JSON.parse(a.roleRef) as RoleRef).name === name,
    );
    if (accounts.length) throw conflict(`Role ${name} is used by service accounts: ${accounts.map((a) => a.name).join(', ')}`);
    await tx.db.delete(rbacRole).where(eq(rbacRole.id, row.id));
    await bumpPolicyVersion(tx);
  });
}

async function requireRole(ctx: AppCtx, ref: RoleRef, field: string): Promise<void> {
  if (isSystemRole(ref.name)) return;
  const [row] = await ctx.db.select({ id: rbacRole.id }).from(rbacRole).where(eq(rbacRole.name, ref.name)).limit(1);
  if (!row) throw invalid(`${field}.name: no role named ${ref.name}`);
}

// ---- role bindings ----

type BindingRow = typeof rbacRoleBinding.$inferSelect;
function bindingView(ctx: AppCtx, b: BindingRow): BindingViewT {
  return {
    id: b.id,
    apiVersion: ctx.config.rbacApiVersion,
    kind: 'RoleBinding' as const,
    name: b.name,
    roleRef: JSON.parse(b.roleRef) as RoleRef,
    subjects: JSON.parse(b.subjects) as Subject[],
    createdAt: new Date(b.createdAt).toISOString(),
    updatedAt: new Date(b.updatedAt).toISOString(),
  };
}

export async function listBindings(ctx: AppCtx): Promise<BindingViewT[]> {
  return (await ctx.db.select().from(rbacRoleBinding).orderBy(asc(rbacRoleBinding.name))).map((b) => bindingView(ctx, b));
}

export async function getBinding(ctx: AppCtx, name: string): Promise<BindingViewT> {
  const [row] = await ctx.db.select().from(rbacRoleBinding).where(eq(rbacRoleBinding.name, name)).limit(1);
  if (!row) throw notFound(`RoleBinding ${name}`);
  return bindingView(ctx, row);
}

export async function createBinding(ctx: AppCtx, input: BindingInput): Promise<BindingViewT> {
  await requireRole(ctx, input.roleRef, 'roleRef');
  await withTransaction(ctx, async (tx) => {
    const [dup] = await tx.db.select({ id: rbacRoleBinding.id }).from(rbacRoleBinding).where(eq(rbacRoleBinding.name, input.name)).limit(1);
    if (dup) throw conflict(`RoleBinding ${input.name} already exists`);
    const now = tx.clock.now();
    await tx.db.insert(rbacRoleBinding).values({
      name: input.name,
      roleRef: JSON.stringify(input.roleRef),
      subjects: JSON.stringify(input.subjects),
      createdAt: now,
      updatedAt: now,
    });
    await bumpPolicyVersion(tx);
    auditTarget(tx, input.name);
  });
  return getBinding(ctx, input.name);
}

export async function updateBinding(ctx: AppCtx, name: string, input: BindingUpdate): Promise<BindingViewT> {
  if (input.name !== undefined && input.name !== name) throw invalid(`name: role bindings cannot be renamed (path names ${name})`);
  await requireRole(ctx, input.roleRef, 'roleRef');
  await withTransaction(ctx, async (tx) => {
    const res = await tx.db
      .update(rbacRoleBinding)
      .set({ roleRef: JSON.stringify(input.roleRef), subjects: JSON.stringify(input.subjects), updatedAt: tx.clock.now() })
      .where(eq(rbacRoleBinding.name, name));
    if (res.rowsAffected === 0) throw notFound(`RoleBinding ${name}`);
    await bumpPolicyVersion(tx);
  });
  return getBinding(ctx, name);
}

export async function deleteBinding(ctx: AppCtx, name: string): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const res = await tx.db.delete(rbacRoleBinding).where(eq(rbacRoleBinding.name, name));
    if (res.rowsAffected === 0) throw notFound(`RoleBinding ${name}`);
    await bumpPolicyVersion(tx);
  });
}

// ---- service accounts ----

async function appByName(ctx: AppCtx, name: string) {
  const [app] = await ctx.db
    .select({ id: application.id, name: application.name })
    .from(application)
    .where(eq(application.name, name))
    .limit(1);
  return app;
}

function accountView(ctx: AppCtx, a: typeof serviceAccount.$inferSelect, applicationName: string): AccountViewT {
  return {
    id: a.id,
    apiVersion: ctx.config.rbacApiVersion,
    kind: 'ServiceAccount' as const,
    name: a.name,
    applicationName,
    roleRef: JSON.parse(a.roleRef) as RoleRef,
    createdAt: new Date(a.createdAt).toISOString(),
    updatedAt: new Date(a.updatedAt).toISOString(),
  };
}

export async function listAccounts(ctx: AppCtx, applicationName?: string): Promise<AccountViewT[]> {
  const rows = await ctx.db
    .select({ a: serviceAccount, app: application.name })
    .from(serviceAccount)
    .innerJoin(application, eq(application.id, serviceAccount.applicationId))
    .where(applicationName ? eq(application.name, applicationName) : undefined)
    .orderBy(asc(application.name), asc(serviceAccount.name));
  return rows.map((r) => accountView(ctx, r.a, r.app));
}

export async function getAccount(ctx: AppCtx, appName: string, name: string): Promise<AccountViewT> {
  const app = await appByName(ctx, appName);
  if (!app) throw notFound(`Application ${appName}`);
  const [row] = await ctx.db
    .select()
    .from(serviceAccount)
    .where(and(eq(serviceAccount.applicationId, app.id), eq(serviceAccount.name, name)))
    .limit(1);
  if (!row) throw notFound(`ServiceAccount ${appName}/${name}`);
  return accountView(ctx, row, app.name);
}

export async function createAccount(ctx: AppCtx, input: AccountInput): Promise<AccountViewT> {
  const app = await appByName(ctx, input.applicationName);
  if (!app) throw notFound(`Application ${input.applicationName}`);
  await requireRole(ctx, input.roleRef, 'roleRef');
  await withTransaction(ctx, async (tx) => {
    const [dup] = await tx.db
      .select({ id: serviceAccount.id })
      .from(serviceAccount)
      .where(and(eq(serviceAccount.applicationId, app.id), eq(serviceAccount.name, input.name)))
      .limit(1);
    if (dup) throw conflict(`ServiceAccount ${input.applicationName}/${input.name} already exists`);
    const now = tx.clock.now();
    await tx.db
      .insert(serviceAccount)
      .values({ name: input.name, applicationId: app.id, roleRef: JSON.stringify(input.roleRef), createdAt: now, updatedAt: now });
    await raiseFlags(tx, await fogsOfAccount(tx, app.id, input.name), ['microserviceList', 'microserviceConfig']);
    auditTarget(tx, input.name);
  });
  return getAccount(ctx, app.name, input.name);
}

/** The fog of the microservice a service account belongs to (same application, same name). */
async function fogsOfAccount(tx: AppCtx, applicationId: number, name: string): Promise<string[]> {
  const rows = await tx.db
    .select({ fogUuid: microservice.fogUuid })
    .from(microservice)
    .where(and(eq(microservice.applicationId, applicationId), eq(microservice.name, name)));
  return rows.flatMap((r) => (r.fogUuid ? [r.fogUuid] : []));
}

export async function updateAccount(ctx: AppCtx, appName: string, name: string, input: AccountUpdate): Promise<AccountViewT> {
  if (input.name !== undefined && input.name !== name) throw invalid(`name: service accounts cannot be renamed (path names ${name})`);
  samePathName('applicationName', input.applicationName, appName);
  const app = await appByName(ctx, appName);
  if (!app) throw notFound(`Application ${appName}`);
  await requireRole(ctx, input.roleRef, 'roleRef');
  await withTransaction(ctx, async (tx) => {
    const res = await tx.db
      .update(serviceAccount)
      .set({ roleRef: JSON.stringify(input.roleRef), updatedAt: tx.clock.now() })
      .where(and(eq(serviceAccount.applicationId, app.id), eq(serviceAccount.name, name)));
    if (res.rowsAffected === 0) throw notFound(`ServiceAccount ${appName}/${name}`);
    await raiseFlags(tx, await fogsOfAccount(tx, app.id, name), ['microserviceList', 'microserviceConfig']);
  });
  return getAccount(ctx, appName, name);
}

export async function deleteAccount(ctx: AppCtx, appName: string, name: string): Promise<void> {
  const app = await appByName(ctx, appName);
  if (!app) throw notFound(`Application ${appName}`);
  await withTransaction(ctx, async (tx) => {
    const [row] = await tx.db
      .select({ id: serviceAccount.id })
      .from(serviceAccount)
      .where(and(eq(serviceAccount.applicationId, app.id), eq(serviceAccount.name, name)))
      .limit(1);
    if (!row) throw notFound(`ServiceAccount ${appName}/${name}`);
    const [user] = await tx.db
      .select({ uuid: microservice.uuid })
      .from(microservice)
      .where(and(eq(microservice.applicationId, app.id), eq(microservice.name, name)))
      .limit(1);
    if (user)
      throw conflict(`ServiceAccount ${appName}/${name} is the service account of microservice ${name}; delete the microservice first`);
    await tx.db.delete(serviceAccount).where(eq(serviceAccount.id, row.id));
  });
}

// ---- the service account of each microservice (`serviceAccount` in its spec) ----

export const EDGELET_API_GROUP = 'edgelet.iofog.org/v1';
const DEFAULT_MICROSERVICE_ROLE: RoleRef = { kind: 'Role', name: 'microservice', apiGroup: EDGELET_API_GROUP };

/** Validation before the write transaction: the role a microservice's account names must exist. */
export async function checkMicroserviceRole(ctx: AppCtx, ref: RoleRef | undefined): Promise<void> {
  if (ref) await requireRole(ctx, ref, 'serviceAccount.roleRef');
}

/**
 * Every microservice has a service account named like it in its application: created with the
 * microservice (role `microservice` unless the input names one), its role replaced when the input
 * names another. Returns whether the stored account changed.
 */
export async function ensureMicroserviceAccount(tx: AppCtx, applicationId: number, name: string, ref?: RoleRef): Promise<boolean> {
  const [row] = await tx.db
    .select()
    .from(serviceAccount)
    .where(and(eq(serviceAccount.applicationId, applicationId), eq(serviceAccount.name, name)))
    .limit(1);
  const now = tx.clock.now();
  if (!row) {
    await tx.db
      .insert(serviceAccount)
      .values({ name, applicationId, roleRef: JSON.stringify(ref ?? DEFAULT_MICROSERVICE_ROLE), createdAt: now, updatedAt: now });
    return true;
  }
  if (ref && row.roleRef !== JSON.stringify(ref)) {
    await tx.db
      .update(serviceAccount)
      .set({ roleRef: JSON.stringify(ref), updatedAt: now })
      .where(eq(serviceAccount.id, row.id));
    return true;
  }
  return false;
}

/** A renamed microservice takes its account along. */
export async function renameMicroserviceAccount(tx: AppCtx, applicationId: number, from: string, to: string): Promise<void> {
  await tx.db.delete(serviceAccount).where(and(eq(serviceAccount.applicationId, applicationId), eq(serviceAccount.name, to)));
  await tx.db
    .update(serviceAccount)
    .set({ name: to, updatedAt: tx.clock.now() })
    .where(and(eq(serviceAccount.applicationId, applicationId), eq(serviceAccount.name, from)));
}

/** When microservices are removed for good, their accounts go with them. */
export async function dropMicroserviceAccounts(tx: AppCtx, rows: Array<{ applicationId: number; name: string }>): Promise<void> {
  for (const r of rows)
    await tx.db.delete(serviceAccount).where(and(eq(serviceAccount.applicationId, r.applicationId), eq(serviceAccount.name, r.name)));
}

export interface AgentServiceAccount {
  name: string;
  roleRef: { kind: 'Role'; name: string; apiGroup: string };
  rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames: string[] }>;
}

// Rendered once per list size (db/statements.ts): the operator lists ask for a page's accounts.
const accountsOfApplications = InListSelect.from((db, apps) =>
  db.select().from(serviceAccount).where(inArray(serviceAccount.applicationId, apps)),
);

/**
 * The accounts of the given microservices as the agent receives them (each microservice's
 * `serviceAccount`): the role's rules resolved, `roleRef.apiGroup` the Edgelet API group.
 * Keyed by `${applicationId}/${name}`.
 */
export async function agentServiceAccounts(
  ctx: AppCtx,
  rows: Array<{ applicationId: number; name: string }>,
): Promise<Map<string, AgentServiceAccount>> {
  const out = new Map<string, AgentServiceAccount>();
  if (rows.length === 0) return out;
  const appIds = [...new Set(rows.map((r) => r.applicationId))];
  const accounts = await accountsOfApplications.all(ctx.db, appIds);
  const wanted = new Set(rows.map((r) => `${r.applicationId}/${r.name}`));
  const mine = accounts.filter((a) => wanted.has(`${a.applicationId}/${a.name}`));
  const customNames = [...new Set(mine.map((a) => (JSON.parse(a.roleRef) as RoleRef).name).filter((n) => !isSystemRole(n)))];
  const custom = customNames.length ? await ctx.db.select().from(rbacRole).where(inArray(rbacRole.name, customNames)) : [];
  const rulesOf = new Map<string, Rule[]>(custom.map((r) => [r.name, JSON.parse(r.rules) as Rule[]]));
  for (const a of mine) {
    const ref = JSON.parse(a.roleRef) as RoleRef;
    const rules = isSystemRole(ref.name) ? SYSTEM_ROLES[ref.name]!.rules : (rulesOf.get(ref.name) ?? []);
    out.set(`${a.applicationId}/${a.name}`, {
      name: a.name,
      roleRef: { kind: 'Role', name: ref.name, apiGroup: EDGELET_API_GROUP },
      rules: rules.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs, resourceNames: r.resourceNames ?? [] })),
    });
  }
  return out;
}
