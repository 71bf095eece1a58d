import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowed, ruleAllows, SYSTEM_ROLES } from '../../src/auth/rbac';

test('built-in roles grant what the upstream role catalogue lists', () => {
  assert.equal(allowed(['admin'], { resource: 'anything', verb: 'delete' }), true);
  assert.equal(allowed(['sre'], { resource: 'events', verb: 'delete' }), true);
  assert.equal(allowed(['sre'], { resource: 'roles', verb: 'create' }), false);
  assert.equal(allowed(['sre'], { resource: 'authAdmin', verb: 'patch' }), false);
  assert.equal(allowed(['developer'], { resource: 'applications', verb: 'create' }), true);
  assert.equal(allowed(['developer'], { resource: 'fogs', verb: 'create' }), false);
  assert.equal(allowed(['developer'], { resource: 'fogs', verb: 'list' }), true);
  assert.equal(allowed(['developer'], { resource: 'authUsers', verb: 'create' }), false);
  assert.equal(allowed(['viewer'], { resource: 'authUsers', verb: 'list' }), true);
  assert.equal(allowed(['viewer'], { resource: 'authUsers', verb: 'create' }), false);
  assert.equal(allowed(['viewer'], { resource: 'events', verb: 'list' }), false);
  assert.equal(allowed(['viewer'], { resource: 'execSessions', verb: 'get' }), false);
  assert.equal(allowed([], { resource: 'fogs', verb: 'list' }), false);
  assert.equal(allowed(['unknown-group'], { resource: 'fogs', verb: 'list' }), false);
});

test('group names are matched case-insensitively', () => {
  assert.equal(allowed(['Admin'], { resource: 'fogs', verb: 'delete' }), true);
});

test('edgelet roles do not reach the core API group', () => {
  assert.equal(allowed(['agent-admin'], { resource: 'fogs', verb: 'list' }), false);
  assert.equal(allowed(['agent-admin'], { apiGroup: 'edgelet.iofog.org/v1', resource: 'microservices', verb: 'get' }), true);
  assert.equal(allowed(['microservice'], { apiGroup: 'edgelet.iofog.org/v1', resource: 'auth/whoami', verb: 'get' }), true);
  assert.equal(allowed(['microservice'], { apiGroup: 'edgelet.iofog.org/v1', resource: 'auth/whoami', verb: 'delete' }), false);
});

test('rule wildcards and resourceNames', () => {
  const rule = { apiGroups: [''], resources: ['nats*'], verbs: ['get'], resourceNames: ['app-a'] };
  assert.equal(ruleAllows(rule, { resource: 'natsAccounts', verb: 'get', resourceName: 'app-a' }), true);
  assert.equal(ruleAllows(rule, { resource: 'natsAccounts', verb: 'get', resourceName: 'app-b' }), false);
  assert.equal(ruleAllows(rule, { resource: 'natsAccounts', verb: 'get' }), false);
  assert.equal(ruleAllows(rule, { resource: 'fogs', verb: 'get', resourceName: 'app-a' }), false);
});

test('bound custom roles are evaluated after the shortcut', () => {
  const custom = {
    name: 'fog-reader',
    kind: 'Role' as const,
    system: false,
    rules: [{ apiGroups: [''], resources: ['fogs'], verbs: ['get'] }],
  };
  assert.equal(allowed(['team-x'], { resource: 'fogs', verb: 'get' }, [custom]), true);
  assert.equal(allowed(['team-x'], { resource: 'fogs', verb: 'delete' }, [custom]), false);
  assert.ok(SYSTEM_ROLES.admin!.system);
});
