import { z } from '@hono/zod-openapi';
import { defineRoute, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { readYamlUpload, yamlUploadBody } from '../../src/http/yaml';
import { invalid } from '../../src/errors';
import { formatPath, parseKind, validateYaml } from '../../src/services/yaml/kinds';
import {
  createAccount,
  createBinding,
  createRole,
  deleteAccount,
  deleteBinding,
  deleteRole,
  getAccount,
  getBinding,
  getRole,
  listAccounts,
  listBindings,
  listRoles,
  updateAccount,
  updateBinding,
  updateRole,
} from '../../src/services/rbac/objects';
import {
  AccountCreate,
  AccountPatch,
  AccountView,
  BindingCreate,
  BindingPatch,
  BindingView,
  RoleCreate,
  RolePatch,
  RoleView,
} from '../../src/services/rbac/schemas';

const NameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(255)
    .openapi({ param: { name: 'name', in: 'path' } }),
});
const AppNameParams = z.object({
  appName: z
    .string()
    .min(1)
    .max(255)
    .openapi({ param: { name: 'appName', in: 'path' } }),
  name: z
    .string()
    .min(1)
    .max(255)
    .openapi({ param: { name: 'name', in: 'path' } }),
});
const nf = (what: string) => ({ 404: errorResponse(`No such ${what}`, 404) });
const dup = (what: string) => ({ 409: errorResponse(`A ${what} with this name exists`, 409) });
const sys = { 403: errorResponse('System roles cannot be changed or deleted', 403) };

const roleTag = ['Roles'];
export const listRolesRoute = defineRoute(rbac('roles', 'list'), {
  method: 'get',
  path: '/api/v3/roles',
  tags: roleTag,
  summary: 'List roles (system and custom)',
  responses: { 200: jsonOk('Roles', z.array(RoleView)) },
});
export const createRoleRoute = defineRoute(rbac('roles', 'create'), {
  method: 'post',
  path: '/api/v3/roles',
  tags: roleTag,
  summary: 'Create a custom role',
  description: 'Rules on the Controller API (apiGroups [""]) must name resources of the RBAC catalog (or patterns with "*").',
  request: { body: jsonBody(RoleCreate) },
  responses: { 201: jsonOk('Created', RoleView), ...dup('role') },
});
export const createRoleYamlRoute = defineRoute(rbac('roles', 'create'), {
  method: 'post',
  path: '/api/v3/roles/yaml',
  tags: roleTag,
  summary: 'Create a role from YAML (kind: Role)',
  request: { body: yamlUploadBody('role') },
  responses: { 201: jsonOk('Created', RoleView), ...dup('role') },
});
export const getRoleRoute = defineRoute(rbac('roles', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/roles/{name}',
  tags: roleTag,
  summary: 'Get a role',
  request: { params: NameParam },
  responses: { 200: jsonOk('Role', RoleView), ...nf('role') },
});
export const patchRoleRoute = defineRoute(rbac('roles', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/roles/{name}',
  tags: roleTag,
  summary: 'Replace the rules of a custom role',
  request: { params: NameParam, body: jsonBody(RolePatch) },
  responses: { 200: jsonOk('Role', RoleView), ...nf('role'), ...sys },
});
export const patchRoleYamlRoute = defineRoute(rbac('roles', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/roles/yaml/{name}',
  tags: roleTag,
  summary: 'Replace the rules of a custom role from YAML',
  request: { params: NameParam, body: yamlUploadBody('role') },
  responses: { 200: jsonOk('Role', RoleView), ...nf('role'), ...sys },
});
export const deleteRoleRoute = defineRoute(rbac('roles', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/roles/{name}',
  tags: roleTag,
  summary: 'Delete a custom role',
  description: 'Refused (409) while a role binding or service account refers to it.',
  request: { params: NameParam },
  responses: { 204: { description: 'Deleted' }, ...nf('role'), ...sys, 409: errorResponse('Still referenced', 409) },
});

const bindTag = ['Role bindings'];
export const listBindingsRoute = defineRoute(rbac('roleBindings', 'list'), {
  method: 'get',
  path: '/api/v3/rolebindings',
  tags: bindTag,
  summary: 'List role bindings',
  responses: { 200: jsonOk('Role bindings', z.array(BindingView)) },
});
export const createBindingRoute = defineRoute(rbac('roleBindings', 'create'), {
  method: 'post',
  path: '/api/v3/rolebindings',
  tags: bindTag,
  summary: 'Bind a role to users, groups or service accounts',
  request: { body: jsonBody(BindingCreate) },
  responses: { 201: jsonOk('Created', BindingView), ...dup('role binding') },
});
export const createBindingYamlRoute = defineRoute(rbac('roleBindings', 'create'), {
  method: 'post',
  path: '/api/v3/rolebindings/yaml',
  tags: bindTag,
  summary: 'Create a role binding from YAML (kind: RoleBinding)',
  request: { body: yamlUploadBody('rolebinding') },
  responses: { 201: jsonOk('Created', BindingView), ...dup('role binding') },
});
export const getBindingRoute = defineRoute(rbac('roleBindings', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/rolebindings/{name}',
  tags: bindTag,
  summary: 'Get a role binding',
  request: { params: NameParam },
  responses: { 200: jsonOk('Role binding', BindingView), ...nf('role binding') },
});
export const patchBindingRoute = defineRoute(rbac('roleBindings', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/rolebindings/{name}',
  tags: bindTag,
  summary: 'Replace roleRef and subjects',
  request: { params: NameParam, body: jsonBody(BindingPatch) },
  responses: { 200: jsonOk('Role binding', BindingView), ...nf('role binding') },
});
export const patchBindingYamlRoute = defineRoute(rbac('roleBindings', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/rolebindings/yaml/{name}',
  tags: bindTag,
  summary: 'Replace a role binding from YAML',
  request: { params: NameParam, body: yamlUploadBody('rolebinding') },
  responses: { 200: jsonOk('Role binding', BindingView), ...nf('role binding') },
});
export const deleteBindingRoute = defineRoute(rbac('roleBindings', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/rolebindings/{name}',
  tags: bindTag,
  summary: 'Delete a role binding',
  request: { params: NameParam },
  responses: { 204: { description: 'Deleted' }, ...nf('role binding') },
});

const saTag = ['Service accounts'];
export const listAccountsRoute = defineRoute(rbac('serviceAccounts', 'list'), {
  method: 'get',
  path: '/api/v3/serviceaccounts',
  tags: saTag,
  summary: 'List service accounts',
  request: { query: z.strictObject({ applicationName: z.string().min(1).max(255).optional() }) },
  responses: { 200: jsonOk('Service accounts', z.array(AccountView)) },
});
export const createAccountRoute = defineRoute(rbac('serviceAccounts', 'create'), {
  method: 'post',
  path: '/api/v3/serviceaccounts',
  tags: saTag,
  summary: 'Create an application-scoped service account',
  description:
    "A service account named like a microservice of the application is that microservice's account: its rules are delivered to the agent.",
  request: { body: jsonBody(AccountCreate) },
  responses: { 201: jsonOk('Created', AccountView), ...nf('application'), ...dup('service account') },
});
export const createAccountYamlRoute = defineRoute(rbac('serviceAccounts', 'create'), {
  method: 'post',
  path: '/api/v3/serviceaccounts/yaml',
  tags: saTag,
  summary: 'Create a service account from YAML (kind: ServiceAccount)',
  request: { body: yamlUploadBody('serviceaccount') },
  responses: { 201: jsonOk('Created', AccountView), ...nf('application'), ...dup('service account') },
});
export const getAccountRoute = defineRoute(rbac('serviceAccounts', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/serviceaccounts/{appName}/{name}',
  tags: saTag,
  summary: 'Get a service account',
  request: { params: AppNameParams },
  responses: { 200: jsonOk('Service account', AccountView), ...nf('service account') },
});
export const patchAccountRoute = defineRoute(rbac('serviceAccounts', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/serviceaccounts/{appName}/{name}',
  tags: saTag,
  summary: 'Change the role of a service account',
  request: { params: AppNameParams, body: jsonBody(AccountPatch) },
  responses: { 200: jsonOk('Service account', AccountView), ...nf('service account') },
});
export const patchAccountYamlRoute = defineRoute(rbac('serviceAccounts', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/serviceaccounts/yaml/{appName}/{name}',
  tags: saTag,
  summary: 'Change a service account from YAML',
  request: { params: AppNameParams, body: yamlUploadBody('serviceaccount') },
  responses: { 200: jsonOk('Service account', AccountView), ...nf('service account') },
});
export const deleteAccountRoute = defineRoute(rbac('serviceAccounts', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/serviceaccounts/{appName}/{name}',
  tags: saTag,
  summary: 'Delete a service account',
  request: { params: AppNameParams },
  responses: { 204: { description: 'Deleted' }, ...nf('service account'), 409: errorResponse('It is the account of a microservice', 409) },
});

// ---- YAML kinds: Role, RoleBinding, ServiceAccount (rules/roleRef/subjects at top level) ----

/** Top-level fields, or — for documents written Kubernetes-CRD style — the same fields under `spec`. */
function topLevel(
  doc: Record<string, unknown>,
  spec: Record<string, unknown>,
  keys: string[],
): { input: Record<string, unknown>; under: string } {
  const underSpec = keys.every((k) => doc[k] === undefined) && keys.some((k) => spec[k] !== undefined);
  const src = underSpec ? spec : doc;
  return { input: Object.fromEntries(keys.filter((k) => src[k] !== undefined).map((k) => [k, src[k]])), under: underSpec ? 'spec.' : '' };
}

function roleYaml(text: string) {
  const { name, spec, doc } = parseKind(text, 'Role');
  const { input, under } = topLevel(doc, spec, ['rules']);
  return validateYaml(RoleCreate, { name, ...input }, (p) => (p[0] === 'name' ? 'metadata.name' : under + formatPath(p)));
}
function bindingYaml(text: string) {
  const { name, spec, doc } = parseKind(text, 'RoleBinding');
  const { input, under } = topLevel(doc, spec, ['roleRef', 'subjects']);
  return validateYaml(BindingCreate, { name, ...input }, (p) => (p[0] === 'name' ? 'metadata.name' : under + formatPath(p)));
}
function accountYaml(text: string) {
  const { name, spec, doc } = parseKind(text, 'ServiceAccount');
  const { input, under } = topLevel(doc, spec, ['roleRef']);
  const applicationName = (doc.metadata as Record<string, unknown>).applicationName ?? spec.applicationName;
  return validateYaml(AccountCreate, { name, applicationName, ...input }, (p) =>
    p[0] === 'name' ? 'metadata.name' : p[0] === 'applicationName' ? 'metadata.applicationName' : under + formatPath(p),
  );
}
const sameName = (yamlName: string, pathName: string) => {
  if (yamlName !== pathName) throw invalid(`metadata.name: must equal the name in the path (${pathName})`);
};

export function registerRbac(app: App): void {
  app.openapi(listRolesRoute, async (c) => c.json(await listRoles(c.get('ctx')), 200));
  app.openapi(createRoleRoute, async (c) => c.json(await createRole(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(createRoleYamlRoute, async (c) => c.json(await createRole(c.get('ctx'), roleYaml(await readYamlUpload(c, 'role'))), 201));
  app.openapi(getRoleRoute, async (c) => c.json(await getRole(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(patchRoleRoute, async (c) => {
    const { name, rules } = c.req.valid('json');
    return c.json(await updateRole(c.get('ctx'), c.req.valid('param').name, { name, rules }), 200);
  });
  app.openapi(patchRoleYamlRoute, async (c) => {
    const input = roleYaml(await readYamlUpload(c, 'role'));
    sameName(input.name, c.req.valid('param').name);
    return c.json(await updateRole(c.get('ctx'), input.name, { rules: input.rules }), 200);
  });
  app.openapi(deleteRoleRoute, async (c) => {
    await deleteRole(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 204);
  });

  app.openapi(listBindingsRoute, async (c) => c.json(await listBindings(c.get('ctx')), 200));
  app.openapi(createBindingRoute, async (c) => c.json(await createBinding(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(createBindingYamlRoute, async (c) =>
    c.json(await createBinding(c.get('ctx'), bindingYaml(await readYamlUpload(c, 'rolebinding'))), 201),
  );
  app.openapi(getBindingRoute, async (c) => c.json(await getBinding(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(patchBindingRoute, async (c) => {
    const { name, roleRef, subjects } = c.req.valid('json');
    return c.json(await updateBinding(c.get('ctx'), c.req.valid('param').name, { name, roleRef, subjects }), 200);
  });
  app.openapi(patchBindingYamlRoute, async (c) => {
    const input = bindingYaml(await readYamlUpload(c, 'rolebinding'));
    sameName(input.name, c.req.valid('param').name);
    return c.json(await updateBinding(c.get('ctx'), input.name, { roleRef: input.roleRef, subjects: input.subjects }), 200);
  });
  app.openapi(deleteBindingRoute, async (c) => {
    await deleteBinding(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 204);
  });

  app.openapi(listAccountsRoute, async (c) => c.json(await listAccounts(c.get('ctx'), c.req.valid('query').applicationName), 200));
  app.openapi(createAccountRoute, async (c) => c.json(await createAccount(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(createAccountYamlRoute, async (c) =>
    c.json(await createAccount(c.get('ctx'), accountYaml(await readYamlUpload(c, 'serviceaccount'))), 201),
  );
  app.openapi(getAccountRoute, async (c) => {
    const { appName, name } = c.req.valid('param');
    return c.json(await getAccount(c.get('ctx'), appName, name), 200);
  });
  app.openapi(patchAccountRoute, async (c) => {
    const { appName, name } = c.req.valid('param');
    const body = c.req.valid('json');
    return c.json(
      await updateAccount(c.get('ctx'), appName, name, { name: body.name, applicationName: body.applicationName, roleRef: body.roleRef }),
      200,
    );
  });
  app.openapi(patchAccountYamlRoute, async (c) => {
    const { appName, name } = c.req.valid('param');
    const input = accountYaml(await readYamlUpload(c, 'serviceaccount'));
    sameName(input.name, name);
    if (input.applicationName !== appName) throw invalid(`metadata.applicationName: must equal the application in the path (${appName})`);
    return c.json(await updateAccount(c.get('ctx'), appName, name, { roleRef: input.roleRef }), 200);
  });
  app.openapi(deleteAccountRoute, async (c) => {
    const { appName, name } = c.req.valid('param');
    await deleteAccount(c.get('ctx'), appName, name);
    return c.body(null, 204);
  });
}
