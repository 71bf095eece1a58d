import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from '@hono/zod-openapi';
import { makeTestApp, type TestApp } from '../harness/app';
import { assertShape, declaredSchema } from '../harness/contract';
import { ManualClock } from '../../src/lib/clock';
import { generateTotp } from '../../src/auth/totp';
import { s256 } from '../../src/services/auth/oidc-flow';
import { runTick } from '../../src/jobs/runner';
import { controllerHeartbeatJob } from '../../workers/controller-heartbeat';
import * as certificates from '../../routes/certificates/index';
import * as nats from '../../routes/nats/index';
import * as rbac from '../../routes/rbac/index';
import * as resources from '../../routes/resources/index';
import * as services from '../../routes/services/index';
import * as events from '../../routes/events/index';
import * as users from '../../routes/users/index';
import * as user from '../../routes/user/index';
import * as groups from '../../routes/groups/index';
import * as auth from '../../routes/auth/index';
import * as oidc from '../../routes/oidc/index';
import * as oauth from '../../routes/oauth/index';
import * as config from '../../routes/config/index';
import * as health from '../../routes/health/index';
import * as sessions from '../../routes/sessions/index';

/**
 * The platform, configuration and identity routes answer what their OpenAPI contract declares: every route's
 * real happy-path body is validated strictly (missing keys, wrong types and undeclared keys all fail) against
 * the schema taken from the route object itself, and a final check makes sure no JSON route was skipped.
 */

interface RouteLike {
  method: string;
  path: string;
  responses: Record<string, { content?: Record<string, { schema: z.ZodType }> }>;
}
const isRoute = (v: unknown): v is RouteLike =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as RouteLike).method === 'string' &&
  typeof (v as RouteLike).path === 'string' &&
  typeof (v as RouteLike).responses === 'object';
const isZod = (v: object) => '_zod' in v || '_def' in v;
function collect(v: unknown, out: Set<RouteLike>): void {
  if (isRoute(v)) out.add(v);
  else if (typeof v === 'object' && v !== null && !Array.isArray(v) && !isZod(v)) for (const x of Object.values(v)) collect(x, out);
}
const key = (r: RouteLike) => `${r.method.toUpperCase()} ${r.path}`;

const modules = { certificates, nats, rbac, resources, services, events, users, user, groups, auth, oidc, oauth, config, health, sessions };
const allRoutes = new Set<RouteLike>();
collect(modules, allRoutes);
/** Routes whose 2xx answer carries a JSON body: each must be exercised below. */
const jsonRoutes = [...allRoutes].filter((r) =>
  Object.entries(r.responses).some(([s, v]) => Number(s) >= 200 && Number(s) < 300 && v.content?.['application/json']),
);

const PUBLIC = 'https://controller.plant.example';
const CONSOLE = 'https://console.plant.example';

class Contract {
  readonly seen = new Set<string>();
  constructor(
    readonly t: TestApp,
    public token: string,
  ) {}

  private url(route: RouteLike, params: Record<string, string> = {}, query?: Record<string, string>) {
    const path = route.path.replace(/\{(\w+)\}/g, (_, p: string) => {
      assert.ok(params[p] !== undefined, `${key(route)}: no value for {${p}}`);
      return encodeURIComponent(params[p]);
    });
    return query ? `${path}?${new URLSearchParams(query)}` : path;
  }

  /** Sends the request the route describes and validates the answer against the route's own declared schema. */
  async hit(
    route: RouteLike,
    o: {
      params?: Record<string, string>;
      query?: Record<string, string>;
      body?: unknown;
      yaml?: { field: string; doc: string };
      form?: Record<string, string>;
      token?: string | null;
    } = {},
  ): Promise<any> {
    const url = this.url(route, o.params, o.query);
    const method = route.method.toUpperCase();
    const token = o.token === null ? undefined : (o.token ?? this.token);
    let status: number;
    let body: unknown;
    if (o.yaml) {
      ({ status, body } = await this.t.upload(method, url, o.yaml.field, o.yaml.doc, token!));
    } else if (o.form) {
      const res = await this.t.app.request(
        url,
        { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o.form) },
        { clientIp: '10.0.0.1' },
      );
      status = res.status;
      body = await res.json();
    } else {
      ({ status, body } = await this.t.call(method, url, { token, body: o.body }));
    }
    assert.ok(status >= 200 && status < 300, `${method} ${url}: ${status} ${JSON.stringify(body)}`);
    // Throws when the route declares no JSON schema for the status it answered with.
    assertShape(declaredSchema(route, status), body, `${method} ${url} (${status})`);
    this.seen.add(key(route));
    return body;
  }
}

test('contract: every platform, configuration and identity route answers exactly its declared response schema', {
  timeout: 180_000,
}, async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
  const t = await makeTestApp({
    clock,
    env: {
      CONTROLLER_PUBLIC_URL: PUBLIC,
      CONSOLE_URL: CONSOLE,
      CONTROLLER_HOST: 'ctl-a.plant.local',
      CONTROLLER_UUID: '11111111-2222-4333-8444-555555555555',
    },
  });
  try {
    const admin = (await t.login()).accessToken;
    const c = new Contract(t, admin);
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });
    const yaml = (field: string, doc: string) => ({ field, doc: `apiVersion: iofog.org/v3\n${doc}` });

    // ---- health ----
    await c.hit(health.liveRoute, { token: null });
    await c.hit(health.statusRoute, { token: null });
    await c.hit(health.architecturesRoute, { token: null });

    // ---- fleet the platform routes need: a system hub (router interior + NATS server), an edge, an application ----
    const mkFog = async (body: Record<string, unknown>) => {
      const r = await call('POST', '/api/v3/iofog', body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.uuid as string;
    };
    await mkFog({
      name: 'hub',
      archId: 1,
      isSystem: true,
      routerMode: 'interior',
      natsMode: 'server',
      host: 'hub.example',
      interRouterPort: 55671,
      edgeRouterPort: 45671,
    });
    await mkFog({ name: 'edge', archId: 1, routerMode: 'edge', natsMode: 'leaf', host: 'edge.example' });
    const fogUuid = await mkFog({ name: 'plain', archId: 1, routerMode: 'none', natsMode: 'none' });
    const app = await call('POST', '/api/v3/application', {
      name: 'shop',
      isActivated: true,
      microservices: [{ name: 'api', agentName: 'edge', images: [{ containerImage: 'acme/api', archId: 1 }] }],
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));

    // ---- certificates ----
    const R = certificates.certificateRoutes;
    await c.hit(R.createCa, { body: { name: 'edge-ca', type: 'self-signed', subject: 'Edge Root' } });
    await c.hit(R.create, {
      body: { name: 'edge-leaf', subject: 'edge', hosts: 'edge.local', ca: { type: 'direct', secretName: 'edge-ca' } },
    });
    await c.hit(R.yaml, {
      yaml: yaml(
        'certificate',
        'kind: Certificate\nmetadata: { name: yaml-leaf }\nspec: { subject: y, hosts: y.local, ca: { type: direct, secretName: edge-ca } }\n',
      ),
    });
    await c.hit(R.yaml, {
      yaml: yaml('certificate', 'kind: CertificateAuthority\nmetadata: { name: yaml-ca }\nspec: { type: self-signed, subject: Y }\n'),
    });
    await c.hit(R.listCas);
    await c.hit(R.getCa, { params: { name: 'edge-ca' } });
    await c.hit(R.list);
    await c.hit(R.expiring, { query: { days: '99999' } });
    await c.hit(R.get, { params: { name: 'edge-leaf' } });
    await c.hit(R.renew, { params: { name: 'edge-leaf' } });

    // ---- secrets, config maps, volume mounts ----
    await c.hit(resources.createSecretRoute, { body: { name: 'db-pass', type: 'Opaque', data: { password: 's3cret' } } });
    await c.hit(resources.createSecretYamlRoute, {
      yaml: yaml('secret', 'kind: Secret\nmetadata: { name: yaml-secret }\nspec: { type: Opaque }\ndata: { a: b }\n'),
    });
    await c.hit(resources.listSecretsRoute);
    await c.hit(resources.getSecretRoute, { params: { name: 'db-pass' } });
    await c.hit(resources.patchSecretRoute, { params: { name: 'db-pass' }, body: { data: { password: 'n3w' } } });
    await c.hit(resources.patchSecretYamlRoute, {
      params: { name: 'yaml-secret' },
      yaml: yaml('secret', 'kind: Secret\nmetadata: { name: yaml-secret }\nspec: { type: Opaque }\ndata: { a: c }\n'),
    });
    await c.hit(resources.createMapRoute, { body: { name: 'app-cfg', data: { mode: 'fast' } } });
    await c.hit(resources.createMapYamlRoute, {
      yaml: yaml('configMap', 'kind: ConfigMap\nmetadata: { name: yaml-map }\nspec: { immutable: false }\ndata: { a: b }\n'),
    });
    await c.hit(resources.listMapsRoute);
    await c.hit(resources.getMapRoute, { params: { name: 'app-cfg' } });
    await c.hit(resources.patchMapRoute, { params: { name: 'app-cfg' }, body: { data: { mode: 'slow' } } });
    await c.hit(resources.patchMapYamlRoute, {
      params: { name: 'yaml-map' },
      yaml: yaml('configMap', 'kind: ConfigMap\nmetadata: { name: yaml-map }\nspec: { immutable: false }\ndata: { a: c }\n'),
    });
    await c.hit(resources.createMountRoute, { body: { name: 'cfg-mount', configMapName: 'app-cfg' } });
    await c.hit(resources.createMountYamlRoute, {
      yaml: yaml('volumeMount', 'kind: VolumeMount\nmetadata: { name: yaml-mount }\nspec: { secretName: db-pass }\n'),
    });
    await c.hit(resources.listMountsRoute);
    await c.hit(resources.getMountRoute, { params: { name: 'cfg-mount' } });
    await c.hit(resources.patchMountRoute, { params: { name: 'cfg-mount' }, body: { secretName: 'db-pass' } });
    await c.hit(resources.patchMountYamlRoute, {
      params: { name: 'yaml-mount' },
      yaml: yaml('volumeMount', 'kind: VolumeMount\nmetadata: { name: yaml-mount }\nspec: { configMapName: app-cfg }\n'),
    });
    await c.hit(resources.linkRoute, { params: { name: 'cfg-mount' }, body: { fogUuids: [fogUuid] } });
    await c.hit(resources.getLinksRoute, { params: { name: 'cfg-mount' } });
    await c.hit(resources.unlinkRoute, { params: { name: 'cfg-mount' }, body: { fogUuids: [fogUuid] } });

    // ---- services and the router ----
    const S = services.serviceRoutes;
    await c.hit(S.create, { body: { name: 'historian', type: 'external', resource: '10.0.0.40', targetPort: 5432 } });
    await c.hit(S.createYaml, {
      yaml: yaml('service', 'kind: Service\nmetadata: { name: hub-ssh, tags: [] }\nspec: { type: agent, resource: hub, targetPort: 22 }\n'),
    });
    await c.hit(S.list);
    await c.hit(S.get, { params: { name: 'historian' } });
    await c.hit(S.patch, { params: { name: 'historian' }, body: { targetPort: 5433 } });
    await c.hit(S.patchYaml, {
      params: { name: 'hub-ssh' },
      yaml: yaml(
        'service',
        'kind: Service\nmetadata: { name: hub-ssh, tags: [] }\nspec: { type: agent, resource: hub, targetPort: 2222 }\n',
      ),
    });
    await c.hit(S.reconcile, { params: { name: 'historian' } });
    await c.hit(services.routerRoutes.get);
    await c.hit(services.routerRoutes.put, { body: { host: 'hub.example' } });

    // ---- NATS ----
    const N = nats.natsRoutes;
    await c.hit(N.operator);
    await c.hit(N.enable, { params: { appName: 'shop' } });
    await c.hit(N.accounts);
    await c.hit(N.account, { params: { appName: 'shop' } });
    await c.hit(N.createUser, { params: { appName: 'shop' }, body: { name: 'reader', expiresIn: '30d' } });
    await c.hit(N.createBearer, { params: { appName: 'shop' }, body: { name: 'mqtt-dev' } });
    await c.hit(N.users);
    await c.hit(N.accountUsers, { params: { appName: 'shop' } });
    await c.hit(N.creds, { params: { appName: 'shop', userName: 'reader' } });
    await c.hit(N.createAccountRule, { body: { name: 'small', maxConnections: 10, maxData: '10m', pubAllow: ['a.>'] } });
    await c.hit(N.createAccountRuleYaml, {
      yaml: yaml('natsAccountRule', 'kind: NatsAccountRule\nmetadata: { name: yaml-acc }\nspec: { maxConnections: 5 }\n'),
    });
    await c.hit(N.accountRules);
    await c.hit(N.patchAccountRule, { params: { ruleName: 'small' }, body: { maxConnections: 20 } });
    await c.hit(N.patchAccountRuleYaml, {
      params: { ruleName: 'yaml-acc' },
      yaml: yaml('natsAccountRule', 'kind: NatsAccountRule\nmetadata: { name: yaml-acc }\nspec: { maxConnections: 6 }\n'),
    });
    await c.hit(N.createUserRule, { body: { name: 'limited', maxSubscriptions: 5, allowedConnectionTypes: ['STANDARD'] } });
    await c.hit(N.createUserRuleYaml, {
      yaml: yaml('natsUserRule', 'kind: NatsUserRule\nmetadata: { name: yaml-user }\nspec: { maxSubscriptions: 3 }\n'),
    });
    await c.hit(N.userRules);
    await c.hit(N.patchUserRule, { params: { ruleName: 'limited' }, body: { maxSubscriptions: 6 } });
    await c.hit(N.patchUserRuleYaml, {
      params: { ruleName: 'yaml-user' },
      yaml: yaml('natsUserRule', 'kind: NatsUserRule\nmetadata: { name: yaml-user }\nspec: { maxSubscriptions: 4 }\n'),
    });
    await c.hit(N.getHub);
    await c.hit(N.putHub, { body: { host: 'hub.example' } });
    await c.hit(N.rotate);

    // ---- RBAC objects ----
    const rule = { apiGroups: [''], resources: ['fogs'], verbs: ['get', 'list'] };
    await c.hit(rbac.createRoleRoute, { body: { name: 'fog-reader', rules: [rule] } });
    await c.hit(rbac.createRoleYamlRoute, {
      yaml: yaml('role', 'kind: Role\nmetadata: { name: yaml-role }\nrules: [{ apiGroups: [""], resources: [fogs], verbs: [get] }]\n'),
    });
    await c.hit(rbac.listRolesRoute);
    await c.hit(rbac.getRoleRoute, { params: { name: 'fog-reader' } });
    await c.hit(rbac.patchRoleRoute, { params: { name: 'fog-reader' }, body: { rules: [{ ...rule, verbs: ['get'] }] } });
    await c.hit(rbac.patchRoleYamlRoute, {
      params: { name: 'yaml-role' },
      yaml: yaml('role', 'kind: Role\nmetadata: { name: yaml-role }\nrules: [{ apiGroups: [""], resources: [fogs], verbs: [list] }]\n'),
    });
    const roleRef = { kind: 'Role', name: 'fog-reader' };
    await c.hit(rbac.createBindingRoute, { body: { name: 'ops-read', roleRef, subjects: [{ kind: 'Group', name: 'viewer' }] } });
    await c.hit(rbac.createBindingYamlRoute, {
      yaml: yaml(
        'rolebinding',
        'kind: RoleBinding\nmetadata: { name: yaml-binding }\nroleRef: { kind: Role, name: fog-reader }\nsubjects: [{ kind: User, name: someone }]\n',
      ),
    });
    await c.hit(rbac.listBindingsRoute);
    await c.hit(rbac.getBindingRoute, { params: { name: 'ops-read' } });
    await c.hit(rbac.patchBindingRoute, {
      params: { name: 'ops-read' },
      body: { roleRef, subjects: [{ kind: 'Group', name: 'developer' }] },
    });
    await c.hit(rbac.patchBindingYamlRoute, {
      params: { name: 'yaml-binding' },
      yaml: yaml(
        'rolebinding',
        'kind: RoleBinding\nmetadata: { name: yaml-binding }\nroleRef: { kind: Role, name: fog-reader }\nsubjects: [{ kind: User, name: other }]\n',
      ),
    });
    await c.hit(rbac.createAccountRoute, { body: { name: 'robot', applicationName: 'shop', roleRef } });
    await c.hit(rbac.createAccountYamlRoute, {
      yaml: yaml(
        'serviceaccount',
        'kind: ServiceAccount\nmetadata: { name: yaml-robot, applicationName: shop }\nroleRef: { kind: Role, name: fog-reader }\n',
      ),
    });
    await c.hit(rbac.listAccountsRoute);
    await c.hit(rbac.getAccountRoute, { params: { appName: 'shop', name: 'robot' } });
    await c.hit(rbac.patchAccountRoute, {
      params: { appName: 'shop', name: 'robot' },
      body: { roleRef: { kind: 'Role', name: 'yaml-role' } },
    });
    await c.hit(rbac.patchAccountYamlRoute, {
      params: { appName: 'shop', name: 'yaml-robot' },
      yaml: yaml(
        'serviceaccount',
        'kind: ServiceAccount\nmetadata: { name: yaml-robot, applicationName: shop }\nroleRef: { kind: Role, name: yaml-role }\n',
      ),
    });

    // ---- config, cluster ----
    await c.hit(config.putConfigRoute, { body: { key: 'site.name', value: 'plant-1' } });
    await c.hit(config.listConfigRoute);
    await c.hit(config.getConfigRoute, { params: { key: 'site.name' } });
    assert.equal((await runTick(t.ctx, controllerHeartbeatJob, clock.now())).ran, true);
    const replicas = await c.hit(config.listClusterRoute, { query: { includeInactive: 'true' } });
    await c.hit(config.getClusterRoute, { params: { uuid: replicas[0].uuid } });
    await c.hit(config.patchClusterRoute, { params: { uuid: replicas[0].uuid }, body: { host: 'ctl.plant.local' } });

    // ---- users, groups, the token owner, auth admin, OIDC ----
    await c.hit(groups.createGroupRoute, { body: { name: 'shift-a' } });
    await c.hit(groups.listGroupsRoute);
    await c.hit(groups.getGroupRoute, { params: { name: 'shift-a' } });
    await c.hit(groups.updateGroupRoute, { params: { name: 'shift-a' }, body: { mfaRequired: false } });
    const created = await c.hit(users.createUserRoute, {
      body: { email: 'op@plant.example', password: 'Initial-Passw0rd-1', groups: ['viewer'] },
    });
    await c.hit(users.listUsersRoute);
    await c.hit(users.getUserRoute, { params: { id: created.id } });
    await c.hit(users.updateUserRoute, { params: { id: created.id }, body: { groups: ['viewer', 'shift-a'] } });
    await c.hit(users.resetPasswordRoute, { params: { id: created.id } });
    await c.hit(users.resetTokenRoute, { params: { id: created.id } });
    await c.hit(auth.exportRoute);
    await c.hit(auth.rotateRoute);
    await c.hit(oidc.jwksRoute, { token: null });
    await c.hit(oidc.discoveryRoute, { token: null });

    // The token owner: a fresh user walks login, password change, MFA, refresh.
    const own = await t.userToken('developer', 'me@plant.example');
    const pair = await c.hit(user.loginRoute, { token: null, body: { email: 'me@plant.example', password: 'Changed-Passw0rd-2' } });
    await c.hit(user.refreshRoute, { token: null, body: { refreshToken: pair.refreshToken } });
    await c.hit(user.profileRoute, { token: own });
    await c.hit(oidc.userinfoRoute, { token: own });
    await c.hit(user.changePasswordRoute, {
      token: own,
      body: { currentPassword: 'Changed-Passw0rd-2', newPassword: 'Another-Passw0rd-3' },
    });
    const meToken = (await t.login('me@plant.example', 'Another-Passw0rd-3')).accessToken;
    const enrolled = await c.hit(user.mfaEnrollRoute, { token: meToken });
    await c.hit(user.mfaConfirmRoute, { token: meToken, body: { code: generateTotp(enrolled.secret, clock.now()) } });
    clock.advance(30_000);
    await c.hit(user.mfaDisableRoute, {
      token: meToken,
      body: { password: 'Another-Passw0rd-3', code: generateTotp(enrolled.secret, clock.now()) },
    });

    // The browser flow: interaction steps (with group-required MFA enrollment and a forced password change), code, token.
    await call('POST', '/api/v3/groups', { name: 'secure-ops', mfaRequired: true });
    await call('POST', '/api/v3/users', { email: 'new@plant.example', password: 'Initial-Passw0rd-1', groups: ['secure-ops', 'viewer'] });
    const verifier = 'v'.repeat(50);
    const redirect = `${PUBLIC}/api/v3/user/oauth/callback`;
    const authz = await t.app.request(
      `/oidc/auth?${new URLSearchParams({ client_id: 'controller', redirect_uri: redirect, response_type: 'code', scope: 'openid', state: 's', code_challenge: await s256(verifier), code_challenge_method: 'S256' })}`,
      {},
      { clientIp: '10.0.0.1' },
    );
    const uid = new URL(authz.headers.get('location')!).searchParams.get('interaction')!;
    const O = oauth;
    await c.hit(O.interactionGetRoute, { token: null, params: { uid } });
    await c.hit(O.interactionLoginRoute, {
      token: null,
      params: { uid },
      body: { email: 'new@plant.example', password: 'Initial-Passw0rd-1' },
    });
    const enroll = await c.hit(O.interactionEnrollRoute, { token: null, params: { uid } });
    await c.hit(O.interactionConfirmRoute, { token: null, params: { uid }, body: { code: generateTotp(enroll.secret, clock.now()) } });
    await c.hit(O.interactionPasswordRoute, {
      token: null,
      params: { uid },
      body: { currentPassword: 'Initial-Passw0rd-1', newPassword: 'Changed-Passw0rd-2' },
    });
    const done = await c.hit(O.interactionCompleteRoute, { token: null, params: { uid } });
    const code = new URL(done.redirectTo).searchParams.get('code')!;
    await c.hit(O.tokenRoute, {
      token: null,
      form: { grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier, client_id: 'controller' },
    });
    // The MFA step of a second login by the now-enrolled user.
    clock.advance(30_000);
    const again = await t.app.request(
      `/oidc/auth?${new URLSearchParams({ client_id: 'controller', redirect_uri: redirect, response_type: 'code', scope: 'openid', state: 's', code_challenge: await s256(verifier), code_challenge_method: 'S256' })}`,
      {},
      { clientIp: '10.0.0.1' },
    );
    const uid2 = new URL(again.headers.get('location')!).searchParams.get('interaction')!;
    await c.hit(O.interactionLoginRoute, {
      token: null,
      params: { uid: uid2 },
      body: { email: 'new@plant.example', password: 'Changed-Passw0rd-2' },
    });
    await c.hit(O.interactionMfaRoute, { token: null, params: { uid: uid2 }, body: { code: generateTotp(enroll.secret, clock.now()) } });

    // ---- events (last: it sees everything above) ----
    await c.hit(events.listEventsRoute, { query: { limit: '1000' } });
    await c.hit(events.deleteEventsRoute, { body: { days: 0 } });

    const missing = jsonRoutes.map(key).filter((k) => !c.seen.has(k));
    assert.deepEqual(missing, [], 'every route with a JSON answer is exercised');
  } finally {
    await t.close();
  }
});

test('round trip: what GET answers, PATCH/PUT takes back unchanged (a console edit sends our own GET body) — for every editable platform and identity object', {
  timeout: 180_000,
}, async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
  const t = await makeTestApp({
    clock,
    env: { CONTROLLER_HOST: 'ctl-a.plant.local', CONTROLLER_UUID: '11111111-2222-4333-8444-555555555555' },
  });
  try {
    const admin = (await t.login()).accessToken;
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await t.call(method, path, { token: admin, body });
      assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await call('POST', '/api/v3/iofog', {
      name: 'hub',
      archId: 1,
      isSystem: true,
      routerMode: 'interior',
      natsMode: 'server',
      host: 'hub.example',
      interRouterPort: 55671,
      edgeRouterPort: 45671,
    });
    await call('POST', '/api/v3/iofog', { name: 'edge', archId: 1, routerMode: 'edge', natsMode: 'leaf', host: 'edge.example' });
    await call('POST', '/api/v3/application', {
      name: 'shop',
      isActivated: true,
      microservices: [{ name: 'api', agentName: 'edge', images: [{ containerImage: 'acme/api', archId: 1 }] }],
    });
    await runTick(t.ctx, controllerHeartbeatJob, clock.now());

    // Several shapes of each object: optional fields set and unset, each kind of source, nulls in GET.
    const tlsPem = btoa('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    await call('POST', '/api/v3/secrets', { name: 'opaque', type: 'Opaque', data: { user: 'u', pass: 'p' } });
    await call('POST', '/api/v3/secrets', { name: 'tls-one', type: 'tls', data: { 'tls.crt': tlsPem, 'tls.key': tlsPem } });
    await call('POST', '/api/v3/secrets', { name: 'empty', type: 'Opaque', data: {} });
    await call('POST', '/api/v3/configmaps', { name: 'plain', data: { a: '1' } });
    await call('POST', '/api/v3/configmaps', { name: 'vaulted', data: { b: '2' }, useVault: true });
    await call('POST', '/api/v3/volumeMounts', { name: 'from-secret', secretName: 'opaque' });
    await call('POST', '/api/v3/volumeMounts', { name: 'from-map', configMapName: 'plain' });
    await call('POST', '/api/v3/services', { name: 'historian', type: 'external', resource: '10.0.0.40', targetPort: 5432 });
    await call('POST', '/api/v3/services', {
      name: 'shop-api',
      type: 'microservice',
      resource: 'shop/api',
      targetPort: 8080,
      servicePort: 80,
      tags: ['shop'],
    });
    await call('POST', '/api/v3/services', { name: 'hub-ssh', type: 'agent', resource: 'hub', targetPort: 22 });
    await call('POST', '/api/v3/nats/account-rules', {
      name: 'small',
      description: 'd',
      maxConnections: 10,
      maxData: '10m',
      pubAllow: ['a.>'],
      imports: [{ name: 'i', subject: 'x.>', type: 'stream', account: 'ACCT' }],
      tieredLimits: { R1: { streams: 3 } },
    });
    await call('POST', '/api/v3/nats/account-rules', { name: 'bare' });
    await call('POST', '/api/v3/nats/user-rules', {
      name: 'limited',
      maxSubscriptions: 5,
      allowedConnectionTypes: ['STANDARD'],
      times: [{ start: '08:00:00', end: '17:00:00' }],
    });
    await call('POST', '/api/v3/roles', { name: 'fog-reader', rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['get', 'list'] }] });
    await call('POST', '/api/v3/roles', {
      name: 'named',
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['opaque'] }],
    });
    await call('POST', '/api/v3/rolebindings', {
      name: 'ops-read',
      roleRef: { kind: 'Role', name: 'fog-reader' },
      subjects: [
        { kind: 'Group', name: 'viewer' },
        { kind: 'User', name: 'x@plant.example', apiGroup: 'rbac.authorization.k8s.io' },
      ],
    });
    await call('POST', '/api/v3/serviceaccounts', {
      name: 'robot',
      applicationName: 'shop',
      roleRef: { kind: 'Role', name: 'fog-reader' },
    });
    const user = await call('POST', '/api/v3/users', { email: 'op@plant.example', password: 'Initial-Passw0rd-1', groups: ['viewer'] });
    await call('POST', '/api/v3/groups', { name: 'shift-a', mfaRequired: true });
    await call('PUT', '/api/v3/config', { key: 'site.name', value: 'plant-1' });

    /** GET → write the same body back → GET: the write succeeds and the object is as it was (minus fields every write moves). */
    const cases: Array<{ get: string; write: [string, string]; pick?: (body: any) => any; moves?: string[] }> = [
      ...['opaque', 'tls-one', 'empty'].map((n) => ({
        get: `/api/v3/secrets/${n}`,
        write: ['PATCH', `/api/v3/secrets/${n}`] as [string, string],
      })),
      ...['plain', 'vaulted'].map((n) => ({
        get: `/api/v3/configmaps/${n}`,
        write: ['PATCH', `/api/v3/configmaps/${n}`] as [string, string],
      })),
      // Every write of a mount gives its fogs a new version to fetch, by design.
      ...['from-secret', 'from-map'].map((n) => ({
        get: `/api/v3/volumeMounts/${n}`,
        write: ['PATCH', `/api/v3/volumeMounts/${n}`] as [string, string],
        moves: ['version'],
      })),
      // A service write is reconciled again: its provisioning state restarts.
      ...['historian', 'shop-api', 'hub-ssh'].map((n) => ({
        get: `/api/v3/services/${n}`,
        write: ['PATCH', `/api/v3/services/${n}`] as [string, string],
        moves: ['provisioningStatus', 'provisioningError'],
      })),
      ...['small', 'bare'].map((n) => ({
        get: '/api/v3/nats/account-rules',
        pick: (b: any) => b.rules.find((r: any) => r.name === n),
        write: ['PATCH', `/api/v3/nats/account-rules/${n}`] as [string, string],
      })),
      {
        get: '/api/v3/nats/user-rules',
        pick: (b: any) => b.rules.find((r: any) => r.name === 'limited'),
        write: ['PATCH', '/api/v3/nats/user-rules/limited'],
      },
      ...['fog-reader', 'named'].map((n) => ({ get: `/api/v3/roles/${n}`, write: ['PATCH', `/api/v3/roles/${n}`] as [string, string] })),
      { get: '/api/v3/rolebindings/ops-read', write: ['PATCH', '/api/v3/rolebindings/ops-read'] },
      { get: '/api/v3/serviceaccounts/shop/robot', write: ['PATCH', '/api/v3/serviceaccounts/shop/robot'] },
      { get: `/api/v3/users/${user.id}`, write: ['PATCH', `/api/v3/users/${user.id}`] },
      ...['shift-a', 'viewer'].map((n) => ({ get: `/api/v3/groups/${n}`, write: ['PATCH', `/api/v3/groups/${n}`] as [string, string] })),
      {
        get: '/api/v3/cluster/controllers/11111111-2222-4333-8444-555555555555',
        write: ['PATCH', '/api/v3/cluster/controllers/11111111-2222-4333-8444-555555555555'],
      },
      { get: '/api/v3/config/site.name', write: ['PUT', '/api/v3/config'] },
      { get: '/api/v3/router', write: ['PUT', '/api/v3/router'] },
      { get: '/api/v3/nats/hub', write: ['PUT', '/api/v3/nats/hub'] },
    ];
    const without = (o: any, keys: string[] = []) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
    for (const k of cases) {
      const pick = k.pick ?? ((b: any) => b);
      const before = pick(await call('GET', k.get));
      assert.ok(before, `${k.get}: nothing to send back`);
      const [method, path] = k.write;
      const res = await t.call(method, path, { token: admin, body: before });
      assert.ok(
        res.status >= 200 && res.status < 300,
        `${method} ${path} with its own GET body: ${res.status} ${JSON.stringify(res.body)}`,
      );
      const after = pick(await call('GET', k.get));
      assert.deepEqual(without(after, k.moves), without(before, k.moves), `${k.get} changed by sending it back`);
    }
  } finally {
    await t.close();
  }
});

test('PATCH /secrets/{name} and /configmaps/{name} accept the name in the body when it is the path name, and refuse a different one', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });
    assert.equal((await call('POST', '/api/v3/secrets', { name: 'db', type: 'Opaque', data: { a: 'b' } })).status, 201);
    assert.equal((await call('POST', '/api/v3/configmaps', { name: 'cfg', data: { a: 'b' } })).status, 201);
    for (const path of ['/api/v3/secrets/db', '/api/v3/configmaps/cfg']) {
      const name = path.split('/').pop();
      const same = await call('PATCH', path, { name, data: { a: 'c' } });
      assert.equal(same.status, 200, `${path}: ${JSON.stringify(same.body)}`);
      assert.deepEqual(same.body.data, { a: 'c' });
      const other = await call('PATCH', path, { name: 'renamed', data: { a: 'd' } });
      assert.equal(other.status, 400);
      assert.match(other.body.message, /^name: must equal the name in the path/);
      assert.deepEqual((await call('GET', path)).body.data, { a: 'c' }, 'nothing written');
    }
  } finally {
    await t.close();
  }
});
