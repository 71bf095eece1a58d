/**
 * RBAC model: rules of roles, built-in roles, evaluation.
 * Roles bound through RoleBindings arrive with the identity work; the system-role shortcut
 * (a group named like a system role grants that role) is what the built-in groups use.
 */
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface Role {
  name: string;
  kind: 'Role';
  rules: Rule[];
  system: boolean;
}

export const VERBS = ['get', 'list', 'create', 'update', 'patch', 'delete'] as const;
export type Verb = (typeof VERBS)[number];

/**
 * The verb a route needs when it hands out a credential: a secret's values, a certificate's or CA's
 * private key, a NATS user's .creds, a fog provisioning key. Whoever holds one can act as its owner,
 * so reading it is as strong as changing the resource, and a read-only role (viewer, or a custom role
 * with `get`/`list`) must not get it. Upstream catalogs these routes as `get`; we deliberately do not.
 * It is an existing verb, not a new one, so roles written with the six standard verbs keep working:
 * whoever may change the resource may also read its credential.
 */
export const REVEAL_VERB: Verb = 'patch';

const CORE = [''];
const EDGELET = ['edgelet.iofog.org/v1'];
const READ: Verb[] = ['get', 'list'];
const ALL_VERBS: Verb[] = ['get', 'list', 'create', 'update', 'patch', 'delete'];

const sreAll = [
  'microservices',
  'systemMicroservices',
  'fogs',
  'applications',
  'systemApplications',
  'applicationTemplates',
  'services',
  'router',
  'natsAccounts',
  'natsUsers',
  'natsAccountRules',
  'natsUserRules',
  'catalog',
  'registries',
  'secrets',
  'configMaps',
  'volumeMounts',
  'tunnels',
  'certificates',
  'capabilities',
  'cluster',
  'serviceAccounts',
  'events',
  'users',
  'authUsers',
  'authGroups',
  'config',
  'controller',
  'execSessions',
  'systemExecSessions',
  'logs',
  'systemLogs',
];
const devWrite = [
  'microservices',
  'applications',
  'applicationTemplates',
  'services',
  'natsAccounts',
  'natsUsers',
  'natsAccountRules',
  'natsUserRules',
  'catalog',
  'registries',
  'secrets',
  'configMaps',
  'volumeMounts',
  'certificates',
  'capabilities',
  'serviceAccounts',
  'controller',
  'execSessions',
  'logs',
];
const devRead = [
  'fogs',
  'router',
  'tunnels',
  'users',
  'authUsers',
  'authGroups',
  'config',
  'roles',
  'roleBindings',
  'systemMicroservices',
  'systemApplications',
  'systemExecSessions',
  'systemLogs',
  'cluster',
  'natsOperator',
  'natsBootstrap',
  'natsHub',
];
const viewerRead = [
  'microservices',
  'fogs',
  'applications',
  'systemMicroservices',
  'systemApplications',
  'applicationTemplates',
  'services',
  'router',
  'natsOperator',
  'natsBootstrap',
  'natsHub',
  'natsAccounts',
  'natsUsers',
  'natsAccountRules',
  'natsUserRules',
  'catalog',
  'registries',
  'secrets',
  'configMaps',
  'volumeMounts',
  'certificates',
  'capabilities',
  'cluster',
  'serviceAccounts',
  'users',
  'authUsers',
  'authGroups',
  'config',
  'controller',
  'roles',
  'roleBindings',
];

export const SYSTEM_ROLES: Record<string, Role> = {
  admin: { name: 'admin', kind: 'Role', system: true, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
  sre: {
    name: 'sre',
    kind: 'Role',
    system: true,
    rules: [
      { apiGroups: CORE, resources: sreAll, verbs: ['*'] },
      { apiGroups: CORE, resources: ['roles', 'roleBindings', 'natsOperator', 'natsBootstrap', 'natsHub'], verbs: READ },
    ],
  },
  developer: {
    name: 'developer',
    kind: 'Role',
    system: true,
    rules: [
      { apiGroups: CORE, resources: devWrite, verbs: ALL_VERBS },
      { apiGroups: CORE, resources: devRead, verbs: READ },
    ],
  },
  viewer: { name: 'viewer', kind: 'Role', system: true, rules: [{ apiGroups: CORE, resources: viewerRead, verbs: READ }] },
  'agent-admin': { name: 'agent-admin', kind: 'Role', system: true, rules: [{ apiGroups: EDGELET, resources: ['*'], verbs: ['*'] }] },
  microservice: {
    name: 'microservice',
    kind: 'Role',
    system: true,
    rules: [
      {
        apiGroups: EDGELET,
        resources: ['microservices/config/self', 'auth/whoami', 'system/gps', 'microservices/control/self'],
        verbs: ['get'],
      },
    ],
  },
};

/** The system groups of embedded mode; each grants the system role of the same name. */
export const SYSTEM_GROUPS = ['admin', 'sre', 'developer', 'viewer'] as const;

function matches(patterns: string[], value: string): boolean {
  for (const p of patterns) {
    if (p === '*' || p === value) return true;
    if (p.includes('*')) {
      const re = new RegExp(
        `^${p
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      if (re.test(value)) return true;
    }
  }
  return false;
}

export interface Permission {
  apiGroup?: string;
  resource: string;
  verb: string;
  resourceName?: string;
}

export function ruleAllows(rule: Rule, p: Permission): boolean {
  if (!matches(rule.apiGroups, p.apiGroup ?? '')) return false;
  if (!matches(rule.resources, p.resource)) return false;
  if (!matches(rule.verbs, p.verb)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) {
    return p.resourceName !== undefined && rule.resourceNames.includes(p.resourceName);
  }
  return true;
}

/** Subjects come from the token: lower-cased groups (system-role shortcut) plus bound roles. */
export function allowed(groups: readonly string[], p: Permission, boundRoles: readonly Role[] = []): boolean {
  for (const g of groups) {
    const role = SYSTEM_ROLES[g.toLowerCase()];
    if (role?.rules.some((r) => ruleAllows(r, p))) return true;
  }
  return boundRoles.some((role) => role.rules.some((r) => ruleAllows(r, p)));
}
