import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import { REVEAL_VERB } from '../../src/auth/rbac';
import type { App } from '../../src/http/types';
import type { RequestCtx } from '../../src/context';
import { jsonBody, jsonOk, optionalJson } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { ServiceError } from '../../src/errors';
import { auditTarget } from '../../src/services/events/audit';
import {
  accountView,
  createRule,
  deleteRule,
  deleteUser,
  enableApplicationAccount,
  ensureOperator,
  issueUser,
  listAccounts,
  listRules,
  listAccountUsers,
  listUsers,
  resolveAccount,
  rotateOperator,
  updateRule,
  userCreds,
  userView,
} from '../../src/services/nats/auth';
import {
  Account,
  AccountRuleBody,
  AccountRulePatch,
  AccountRuleView,
  AccountUser,
  Creds,
  NatsHub,
  NatsHubPut,
  Operator,
  User,
  UserCreate,
  UserRuleBody,
  UserRulePatch,
  UserRuleView,
  UserWithContext,
  type AccountRule,
  type NatsHubT,
  type UserRule,
} from '../../src/services/nats/schemas';
import { hubFog } from '../../src/services/platform/nats-platform';
import { updateNatsHub } from '../../src/services/fogs/nats-hub';
import { readYamlUpload, yamlUploadBody } from '../../src/http/yaml';
import { formatPath, parseKind, validateYaml } from '../../src/services/yaml/kinds';

/** NATS trust chain: operator, accounts, users, creds, account and user rules. */

const tags = ['NATS'];
const nf = { 404: errorResponse('Not found', 404) };
const bad = { 400: errorResponse('Invalid request', 400) };
const dup = { 409: errorResponse('Already exists', 409) };
const AppParam = z.object({ appName: z.string().min(1).max(255) });
const AppUser = AppParam.extend({ userName: z.string().min(1).max(255) });
const RuleName = z.object({ ruleName: z.string().min(1).max(255) });

const hubView = (f: {
  host: string | null;
  natsServerPort: number;
  natsClusterPort: number;
  natsLeafPort: number;
  natsMqttPort: number;
  natsHttpPort: number;
  jsStorageSize: string;
  jsMemoryStoreSize: string;
}): NatsHubT => ({
  host: f.host ?? '',
  serverPort: f.natsServerPort,
  clusterPort: f.natsClusterPort,
  leafPort: f.natsLeafPort,
  mqttPort: f.natsMqttPort,
  httpPort: f.natsHttpPort,
  jsStorageSize: f.jsStorageSize,
  jsMemoryStoreSize: f.jsMemoryStoreSize,
});

const routes = {
  operator: defineRoute(rbac('natsOperator', 'get'), {
    method: 'get',
    path: '/api/v3/nats/operator',
    tags,
    summary: 'NATS operator (created on first use)',
    responses: { 200: jsonOk('Operator', Operator) },
  }),
  accounts: defineRoute(rbac('natsAccounts', 'list'), {
    method: 'get',
    path: '/api/v3/nats/accounts',
    tags,
    summary: 'List NATS accounts',
    responses: { 200: jsonOk('Accounts', z.object({ accounts: z.array(Account) })) },
  }),
  account: defineRoute(rbac('natsAccounts', 'get', 'appName'), {
    method: 'get',
    path: '/api/v3/nats/accounts/{appName}',
    tags,
    summary: "An application's NATS account (or SYS, controller)",
    request: { params: AppParam },
    responses: { 200: jsonOk('Account', Account), ...nf },
  }),
  enable: defineRoute(rbac('natsAccounts', 'create', 'appName'), {
    method: 'post',
    path: '/api/v3/nats/accounts/{appName}',
    tags,
    summary: 'Enable NATS for an application (its account)',
    description: 'Optional JSON body `{ "natsRule": "<account rule>" }` (default `default-account`).',
    request: { params: AppParam },
    responses: { 201: jsonOk('Account', Account), ...bad, ...nf },
  }),
  users: defineRoute(rbac('natsUsers', 'list'), {
    method: 'get',
    path: '/api/v3/nats/users',
    tags,
    summary: 'All NATS users',
    responses: { 200: jsonOk('Users', z.object({ users: z.array(UserWithContext) })) },
  }),
  accountUsers: defineRoute(rbac('natsUsers', 'list', 'appName'), {
    method: 'get',
    path: '/api/v3/nats/accounts/{appName}/users',
    tags,
    summary: 'Users of one account',
    request: { params: AppParam },
    responses: { 200: jsonOk('Users', z.object({ users: z.array(AccountUser) })), ...nf },
  }),
  createUser: defineRoute(rbac('natsUsers', 'create', 'appName'), {
    method: 'post',
    path: '/api/v3/nats/accounts/{appName}/users',
    tags,
    summary: 'Create a NATS user',
    request: { params: AppParam, body: jsonBody(UserCreate) },
    responses: { 201: jsonOk('User', User), ...bad, ...nf, ...dup },
  }),
  deleteUser: defineRoute(rbac('natsUsers', 'delete', 'appName'), {
    method: 'delete',
    path: '/api/v3/nats/accounts/{appName}/users/{userName}',
    tags,
    summary: 'Delete a NATS user (revoked on its account)',
    request: { params: AppUser },
    responses: { 204: { description: 'Deleted' }, ...bad, ...nf },
  }),
  creds: defineRoute(rbac('natsUsers', REVEAL_VERB, 'appName'), {
    method: 'get',
    path: '/api/v3/nats/accounts/{appName}/users/{userName}/creds',
    tags,
    summary: "A user's .creds file (base64)",
    request: { params: AppUser },
    responses: { 200: jsonOk('Creds', Creds), ...nf },
  }),
  createBearer: defineRoute(rbac('natsUsers', 'create', 'appName'), {
    method: 'post',
    path: '/api/v3/nats/accounts/{appName}/mqtt-bearer',
    tags,
    summary: 'Create an MQTT bearer user (JWT only)',
    request: { params: AppParam, body: jsonBody(UserCreate) },
    responses: { 201: jsonOk('User', User), ...bad, ...nf, ...dup },
  }),
  deleteBearer: defineRoute(rbac('natsUsers', 'delete', 'appName'), {
    method: 'delete',
    path: '/api/v3/nats/accounts/{appName}/mqtt-bearer/{userName}',
    tags,
    summary: 'Delete an MQTT bearer user',
    request: { params: AppUser },
    responses: { 204: { description: 'Deleted' }, ...bad, ...nf },
  }),
  accountRules: defineRoute(rbac('natsAccountRules', 'list'), {
    method: 'get',
    path: '/api/v3/nats/account-rules',
    tags,
    summary: 'List account rules',
    responses: { 200: jsonOk('Rules', z.object({ rules: z.array(AccountRuleView) })) },
  }),
  createAccountRule: defineRoute(rbac('natsAccountRules', 'create'), {
    method: 'post',
    path: '/api/v3/nats/account-rules',
    tags,
    summary: 'Create an account rule',
    request: { body: jsonBody(AccountRuleBody) },
    responses: { 201: jsonOk('Rule', AccountRuleView), ...bad, ...dup },
  }),
  patchAccountRule: defineRoute(rbac('natsAccountRules', 'patch', 'ruleName'), {
    method: 'patch',
    path: '/api/v3/nats/account-rules/{ruleName}',
    tags,
    summary: 'Update an account rule (its accounts are re-signed)',
    request: { params: RuleName, body: jsonBody(AccountRulePatch) },
    responses: { 200: jsonOk('Rule', AccountRuleView), ...bad, ...nf },
  }),
  deleteAccountRule: defineRoute(rbac('natsAccountRules', 'delete', 'ruleName'), {
    method: 'delete',
    path: '/api/v3/nats/account-rules/{ruleName}',
    tags,
    summary: 'Delete an account rule (accounts fall back to default-account)',
    request: { params: RuleName },
    responses: { 204: { description: 'Deleted' }, ...bad, ...nf },
  }),
  createAccountRuleYaml: defineRoute(rbac('natsAccountRules', 'create'), {
    method: 'post',
    path: '/api/v3/nats/account-rules/yaml',
    tags,
    summary: 'Create an account rule from YAML (kind: NatsAccountRule)',
    request: { body: yamlUploadBody('natsAccountRule') },
    responses: { 201: jsonOk('Rule', AccountRuleView), ...bad, ...dup },
  }),
  patchAccountRuleYaml: defineRoute(rbac('natsAccountRules', 'patch', 'ruleName'), {
    method: 'patch',
    path: '/api/v3/nats/account-rules/yaml/{ruleName}',
    tags,
    summary: 'Update an account rule from YAML',
    request: { params: RuleName, body: yamlUploadBody('natsAccountRule') },
    responses: { 200: jsonOk('Rule', AccountRuleView), ...bad, ...nf },
  }),
  createUserRuleYaml: defineRoute(rbac('natsUserRules', 'create'), {
    method: 'post',
    path: '/api/v3/nats/user-rules/yaml',
    tags,
    summary: 'Create a user rule from YAML (kind: NatsUserRule)',
    request: { body: yamlUploadBody('natsUserRule') },
    responses: { 201: jsonOk('Rule', UserRuleView), ...bad, ...dup },
  }),
  patchUserRuleYaml: defineRoute(rbac('natsUserRules', 'patch', 'ruleName'), {
    method: 'patch',
    path: '/api/v3/nats/user-rules/yaml/{ruleName}',
    tags,
    summary: 'Update a user rule from YAML',
    request: { params: RuleName, body: yamlUploadBody('natsUserRule') },
    responses: { 200: jsonOk('Rule', UserRuleView), ...bad, ...nf },
  }),
  rotate: defineRoute(rbac('natsOperator', 'update'), {
    method: 'post',
    path: '/api/v3/nats/operator/rotate',
    tags,
    summary: 'Rotate the operator key; every account is re-signed (revocations kept)',
    responses: { 200: jsonOk('Operator', Operator), ...dup },
  }),
  bootstrap: defineRoute(rbac('natsBootstrap', 'get'), {
    method: 'get',
    path: '/api/v3/nats/bootstrap',
    tags,
    summary: 'Operator and system-account material for a Kubernetes-installed hub',
    description:
      'Serves the Kubernetes installer of the in-cluster NATS hub. This Controller runs a Remote control plane, where the hub is a system fog ' +
      'configured by the Controller itself, so the operator seed never leaves it: always 403 here.',
    responses: { 403: errorResponse('Not a Kubernetes control plane', 403) },
  }),
  getHub: defineRoute(rbac('natsHub', 'get'), {
    method: 'get',
    path: '/api/v3/nats/hub',
    tags,
    summary: "The NATS hub (the first system fog's server)",
    responses: { 200: jsonOk('Hub', NatsHub), ...nf },
  }),
  putHub: defineRoute(liquidBody(rbac('natsHub', 'update')), {
    method: 'put',
    path: '/api/v3/nats/hub',
    tags,
    summary: 'Update the NATS hub',
    description:
      "On this (Remote) control plane the hub is the first system fog's NATS server: its host, ports and JetStream sizes are set and every NATS fog is reconciled (leaf remotes follow). 400 while there is no hub.",
    request: { body: jsonBody(NatsHubPut) },
    responses: { 200: jsonOk('Hub', NatsHub), ...bad },
  }),
  userRules: defineRoute(rbac('natsUserRules', 'list'), {
    method: 'get',
    path: '/api/v3/nats/user-rules',
    tags,
    summary: 'List user rules',
    responses: { 200: jsonOk('Rules', z.object({ rules: z.array(UserRuleView) })) },
  }),
  createUserRule: defineRoute(rbac('natsUserRules', 'create'), {
    method: 'post',
    path: '/api/v3/nats/user-rules',
    tags,
    summary: 'Create a user rule',
    request: { body: jsonBody(UserRuleBody) },
    responses: { 201: jsonOk('Rule', UserRuleView), ...bad, ...dup },
  }),
  patchUserRule: defineRoute(rbac('natsUserRules', 'patch', 'ruleName'), {
    method: 'patch',
    path: '/api/v3/nats/user-rules/{ruleName}',
    tags,
    summary: 'Update a user rule (its users are re-issued)',
    request: { params: RuleName, body: jsonBody(UserRulePatch) },
    responses: { 200: jsonOk('Rule', UserRuleView), ...bad, ...nf },
  }),
  deleteUserRule: defineRoute(rbac('natsUserRules', 'delete', 'ruleName'), {
    method: 'delete',
    path: '/api/v3/nats/user-rules/{ruleName}',
    tags,
    summary: 'Delete a user rule (users fall back to default-user)',
    request: { params: RuleName },
    responses: { 204: { description: 'Deleted' }, ...bad, ...nf },
  }),
};

async function createUser(ctx: RequestCtx, appName: string, body: z.infer<typeof UserCreate>, bearer: boolean) {
  const acc = await resolveAccount(ctx, appName);
  if (acc.isSystem || acc.isLeafSystem || acc.applicationId === null)
    throw new ServiceError('VALIDATION_FAILED', `${acc.name} is a system account; its users are managed by the Controller`);
  const user = await issueUser(ctx, acc, {
    name: body.name,
    ruleName: body.natsRule ?? (bearer ? 'default-mqtt-user' : 'default-user'),
    bearer,
    expiresIn: body.expiresIn,
  });
  auditTarget(ctx, `${appName}/${body.name}`);
  return userView(user, acc);
}

export function registerNats(app: App): void {
  app.openapi(routes.operator, async (c) => {
    const { row } = await ensureOperator(c.get('ctx'));
    return c.json({ name: row.name, publicKey: row.publicKey, jwt: row.jwt }, 200);
  });
  app.openapi(routes.accounts, async (c) => {
    await ensureOperator(c.get('ctx'));
    return c.json({ accounts: await listAccounts(c.get('ctx')) }, 200);
  });
  app.openapi(routes.account, async (c) => c.json(accountView(await resolveAccount(c.get('ctx'), c.req.valid('param').appName)), 200));
  app.openapi(routes.enable, async (c) => {
    const body = await optionalJson(c.req);
    if (body.natsRule !== undefined && (typeof body.natsRule !== 'string' || body.natsRule === ''))
      throw new ServiceError('VALIDATION_FAILED', 'natsRule: must be the name of an account rule');
    const acc = await enableApplicationAccount(c.get('ctx'), c.req.valid('param').appName, body.natsRule as string | undefined);
    return c.json(accountView(acc), 201);
  });
  app.openapi(routes.users, async (c) => c.json({ users: await listUsers(c.get('ctx')) }, 200));
  app.openapi(routes.accountUsers, async (c) => c.json({ users: await listAccountUsers(c.get('ctx'), c.req.valid('param').appName) }, 200));
  app.openapi(routes.createUser, async (c) =>
    c.json(await createUser(c.get('ctx'), c.req.valid('param').appName, c.req.valid('json'), false), 201),
  );
  app.openapi(routes.createBearer, async (c) =>
    c.json(await createUser(c.get('ctx'), c.req.valid('param').appName, c.req.valid('json'), true), 201),
  );
  app.openapi(routes.deleteUser, async (c) => {
    const { appName, userName } = c.req.valid('param');
    await deleteUser(c.get('ctx'), appName, userName, { bearer: false });
    return c.body(null, 204);
  });
  app.openapi(routes.deleteBearer, async (c) => {
    const { appName, userName } = c.req.valid('param');
    await deleteUser(c.get('ctx'), appName, userName, { bearer: true });
    return c.body(null, 204);
  });
  app.openapi(routes.creds, async (c) => {
    const { appName, userName } = c.req.valid('param');
    const text = await userCreds(c.get('ctx'), appName, userName);
    return c.json({ credsBase64: btoa(text) }, 200);
  });
  app.openapi(routes.accountRules, async (c) => c.json({ rules: await listRules(c.get('ctx'), 'account') }, 200));
  app.openapi(routes.userRules, async (c) => c.json({ rules: await listRules(c.get('ctx'), 'user') }, 200));
  app.openapi(routes.createAccountRule, async (c) =>
    c.json(await createRule(c.get('ctx'), 'account', c.req.valid('json') as AccountRule), 201),
  );
  app.openapi(routes.createUserRule, async (c) => c.json(await createRule(c.get('ctx'), 'user', c.req.valid('json') as UserRule), 201));
  app.openapi(routes.patchAccountRule, async (c) => {
    const { isPredefined: _readOnly, ...spec } = c.req.valid('json');
    return c.json(await updateRule(c.get('ctx'), 'account', c.req.valid('param').ruleName, spec as AccountRule), 200);
  });
  app.openapi(routes.patchUserRule, async (c) => {
    const { isPredefined: _readOnly, ...spec } = c.req.valid('json');
    return c.json(await updateRule(c.get('ctx'), 'user', c.req.valid('param').ruleName, spec as UserRule), 200);
  });
  const ruleYaml = <T>(text: string, kind: 'NatsAccountRule' | 'NatsUserRule', schema: z.ZodType<T>) => {
    const { name: n, spec } = parseKind(text, kind);
    return validateYaml(schema as never, { ...spec, name: n }, (p: PropertyKey[]) =>
      p[0] === 'name' ? 'metadata.name' : `spec.${formatPath(p)}`,
    ) as T;
  };
  const samePath = (yamlName: string, pathName: string) => {
    if (yamlName !== pathName)
      throw new ServiceError('VALIDATION_FAILED', `metadata.name: must equal the rule name in the path (${pathName})`);
  };
  app.openapi(routes.createAccountRuleYaml, async (c) =>
    c.json(
      await createRule(
        c.get('ctx'),
        'account',
        ruleYaml(await readYamlUpload(c, 'natsAccountRule'), 'NatsAccountRule', AccountRuleBody) as AccountRule,
      ),
      201,
    ),
  );
  app.openapi(routes.createUserRuleYaml, async (c) =>
    c.json(
      await createRule(c.get('ctx'), 'user', ruleYaml(await readYamlUpload(c, 'natsUserRule'), 'NatsUserRule', UserRuleBody) as UserRule),
      201,
    ),
  );
  app.openapi(routes.patchAccountRuleYaml, async (c) => {
    const rule = ruleYaml(await readYamlUpload(c, 'natsAccountRule'), 'NatsAccountRule', AccountRuleBody) as AccountRule;
    samePath(rule.name, c.req.valid('param').ruleName);
    return c.json(await updateRule(c.get('ctx'), 'account', rule.name, rule), 200);
  });
  app.openapi(routes.patchUserRuleYaml, async (c) => {
    const rule = ruleYaml(await readYamlUpload(c, 'natsUserRule'), 'NatsUserRule', UserRuleBody) as UserRule;
    samePath(rule.name, c.req.valid('param').ruleName);
    return c.json(await updateRule(c.get('ctx'), 'user', rule.name, rule), 200);
  });
  app.openapi(routes.rotate, async (c) => {
    const row = await rotateOperator(c.get('ctx'));
    return c.json({ name: row.name, publicKey: row.publicKey, jwt: row.jwt }, 200);
  });
  app.openapi(routes.bootstrap, () => {
    throw new ServiceError(
      'NOT_KUBERNETES_CONTROL_PLANE',
      'GET /nats/bootstrap serves a Kubernetes control plane; this Controller runs a Remote control plane, whose NATS hub (the first system fog) it configures itself',
    );
  });
  app.openapi(routes.getHub, async (c) => {
    const hub = await hubFog(c.get('ctx'));
    if (!hub)
      throw new ServiceError(
        'NOT_FOUND',
        'No NATS hub: it is the NATS server of the first system fog (natsMode server), and there is none yet',
      );
    return c.json(hubView(hub), 200);
  });
  app.openapi(routes.putHub, async (c) => {
    return c.json(hubView(await updateNatsHub(c.get('ctx'), c.req.valid('json'))), 200);
  });
  app.openapi(routes.deleteAccountRule, async (c) => {
    await deleteRule(c.get('ctx'), 'account', c.req.valid('param').ruleName);
    return c.body(null, 204);
  });
  app.openapi(routes.deleteUserRule, async (c) => {
    await deleteRule(c.get('ctx'), 'user', c.req.valid('param').ruleName);
    return c.body(null, 204);
  });
}
export { routes as natsRoutes };
