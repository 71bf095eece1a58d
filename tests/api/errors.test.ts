import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { ErrorSchema } from '../../src/http/errors';

function assertEnvelope(r: { status: number; body: any; headers: Headers }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  ErrorSchema.parse(r.body);
  assert.equal(r.body.code, code);
  assert.equal(r.body.requestId, r.headers.get('x-request-id'));
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
}

test('unknown routes are a JSON 404; a known path with the wrong method is a JSON 405 with Allow', async () => {
  const t = await makeTestApp();
  try {
    assertEnvelope(await t.call('GET', '/api/v3/does-not-exist'), 404, 'ROUTE_NOT_FOUND');
    assertEnvelope(await t.call('GET', '/nothing-here'), 404, 'ROUTE_NOT_FOUND');
    // The root points a first-day user at the docs: JSON links for clients, a redirect for browsers.
    const root = await t.call('GET', '/');
    assert.equal(root.status, 200);
    assert.deepEqual({ docs: root.body.docs, openapi: root.body.openapi }, { docs: '/api/v3/docs', openapi: '/api/v3/openapi.json' });
    const browser = await t.call('GET', '/', { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.get('location'), '/api/v3/docs');
    const wrong = await t.call('DELETE', '/api/v3/live');
    assertEnvelope(wrong, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(wrong.headers.get('allow'), 'GET');
    const wrong2 = await t.call('PUT', '/api/v3/users/abc');
    assertEnvelope(wrong2, 405, 'METHOD_NOT_ALLOWED');
    assert.deepEqual(wrong2.headers.get('allow')!.split(', ').sort(), ['DELETE', 'GET', 'PATCH']);
  } finally {
    await t.close();
  }
});

test('malformed JSON is a 400 naming the problem; schema violations name the field path', async () => {
  const t = await makeTestApp();
  try {
    const bad = await t.call('POST', '/api/v3/user/login', { raw: '{"email": "a", ' });
    assertEnvelope(bad, 400, 'MALFORMED_BODY');
    assert.match(bad.body.message, /Malformed/i);

    const missing = await t.call('POST', '/api/v3/user/login', { body: { email: 'a@b.c' } });
    assertEnvelope(missing, 400, 'VALIDATION_FAILED');
    assert.match(missing.body.message, /^password is required$/);

    const token = (await t.login()).accessToken;
    const badEmail = await t.call('POST', '/api/v3/users', { token, body: { email: 'not-an-email', password: 'x', groups: [7] } });
    assertEnvelope(badEmail, 400, 'VALIDATION_FAILED');
    assert.match(badEmail.body.message, /email: /);
    assert.match(badEmail.body.message, /groups\.0: /);

    const unknownKey = await t.call('POST', '/api/v3/users', { token, body: { email: 'a@b.co', password: 'x', role: 'admin' } });
    assertEnvelope(unknownKey, 400, 'VALIDATION_FAILED');
    assert.match(unknownKey.body.message, /role/);
  } finally {
    await t.close();
  }
});

test('a body over the limit is a JSON 413', async () => {
  const t = await makeTestApp({ env: { MAX_JSON_BODY_BYTES: '2048' } });
  try {
    const big = JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(4096) });
    const r = await t.call('POST', '/api/v3/user/login', { raw: big, headers: { 'content-length': String(big.length) } });
    assertEnvelope(r, 413, 'PAYLOAD_TOO_LARGE');
    assert.match(r.body.message, /2048 bytes/);
  } finally {
    await t.close();
  }
});

test('an unexpected failure is a JSON 500 without internals; the cause is logged', async () => {
  const t = await makeTestApp();
  try {
    const token = (await t.login()).accessToken;
    // Drop a table behind the service's back: the failure is not a database-availability fault.
    await t.ctx.store.raw.execute('DROP TABLE auth_password_history');
    const r = await t.call('POST', '/api/v3/user/change-password', {
      token,
      body: { currentPassword: 'Admin-Passw0rd-1', newPassword: 'Another-Passw0rd-9' },
    });
    assertEnvelope(r, 500, 'INTERNAL');
    assert.equal(r.body.message, 'Internal server error');
    assert.ok(!JSON.stringify(r.body).includes('auth_password_history'));
    assert.ok(t.logs.some((l) => l.includes('request failed') && l.includes('auth_password_history')));
  } finally {
    await t.close();
  }
});
