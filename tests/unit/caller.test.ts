// Handlers read the caller through agentOf/userOf: a handler reached without the caller its access rule
// promises answers 401 (AUTH_REQUIRED), not a TypeError that would surface as a 500.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceError } from '../../src/errors';
import { agentOf, userOf } from '../../src/http/caller';

test('agentOf and userOf return the caller, or throw a 401 ServiceError when the request has none', () => {
  assert.deepEqual(agentOf({ agent: { fogUuid: 'f-1' } }), { fogUuid: 'f-1' });
  const user = {
    kind: 'user' as const,
    userId: 'u-1',
    username: 'ann',
    groups: [],
    passwordChangeRequired: false,
    mfaEnrollmentRequired: false,
  };
  assert.equal(userOf({ actor: user }), user);
  for (const call of [() => agentOf({}), () => userOf({})]) {
    assert.throws(call, (err: unknown) => err instanceof ServiceError && err.status === 401 && err.code === 'AUTH_REQUIRED');
  }
});
