import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';

/**
 * Behind a proxy (TRUST_PROXY), the client's address is the right-most X-Forwarded-For entry our
 * proxy appended; entries to its left are whatever the client sent and must not pick its bucket.
 */
test('TRUST_PROXY=true: a spoofed left-most X-Forwarded-For entry does not dodge the login rate limit, and audit records the real address', async () => {
  const t = await makeTestApp({ env: { TRUST_PROXY: 'true', AUTH_RATE_LIMIT_MAX_REQUESTS: '3', AUTH_RATE_LIMIT_WINDOW_MS: '60000' } });
  try {
    const body = { email: 'x@example.com', password: 'Whatever-123' };
    // The proxy (10.0.0.2, the socket peer) appends the real client 198.51.100.7 to what the client sent.
    const viaProxy = (spoof: string) => ({ body, ip: '10.0.0.2', headers: { 'x-forwarded-for': `${spoof}, 198.51.100.7` } });
    for (let i = 0; i < 3; i++) assert.equal((await t.call('POST', '/api/v3/user/login', viaProxy(`203.0.113.${i}`))).status, 401);
    const limited = await t.call('POST', '/api/v3/user/login', viaProxy('203.0.113.99'));
    assert.equal(limited.status, 429, JSON.stringify(limited.body));
    assert.equal(limited.body.code, 'RATE_LIMITED');
    // Another real client behind the same proxy has a bucket of its own.
    const other = await t.call('POST', '/api/v3/user/login', { body, ip: '10.0.0.2', headers: { 'x-forwarded-for': '198.51.100.8' } });
    assert.equal(other.status, 401);

    const admin = await t.call('POST', '/api/v3/user/login', {
      body: { email: 'admin@example.com', password: 'Admin-Passw0rd-1' },
      ip: '10.0.0.2',
      headers: { 'x-forwarded-for': '192.0.2.50' },
    });
    assert.equal(admin.status, 200);
    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin.body.accessToken,
      body: { name: 'xff-fog', archId: 1, routerMode: 'none', natsMode: 'none' },
      ip: '10.0.0.2',
      headers: { 'x-forwarded-for': '6.6.6.6, 192.0.2.50' },
    });
    assert.equal(fog.status, 201);
    const events = await t.call('GET', '/api/v3/events?limit=1', { token: admin.body.accessToken, ip: '10.0.0.2' });
    assert.equal(events.body.events[0].resourceId, fog.body.uuid);
    assert.equal(events.body.events[0].ipAddress, '192.0.2.50');
  } finally {
    await t.close();
  }
});

test('TRUST_PROXY as a proxy list: headers from a peer outside it are ignored', async () => {
  const t = await makeTestApp({
    env: { TRUST_PROXY: '10.0.0.0/8', AUTH_RATE_LIMIT_MAX_REQUESTS: '2', AUTH_RATE_LIMIT_WINDOW_MS: '60000' },
  });
  try {
    const body = { email: 'x@example.com', password: 'Whatever-123' };
    // A direct client (not a proxy of ours) rotating X-Forwarded-For / X-Real-IP stays in its own bucket.
    const direct = (n: number) => ({
      body,
      ip: '198.51.100.7',
      headers: { 'x-forwarded-for': `203.0.113.${n}`, 'x-real-ip': `203.0.114.${n}` },
    });
    for (let i = 0; i < 2; i++) assert.equal((await t.call('POST', '/api/v3/user/login', direct(i))).status, 401);
    assert.equal((await t.call('POST', '/api/v3/user/login', direct(9))).status, 429);
    // Through the proxy the same client gets the address the proxy saw.
    const proxied = await t.call('POST', '/api/v3/user/login', { body, ip: '10.1.1.1', headers: { 'x-forwarded-for': '198.51.100.7' } });
    assert.equal(proxied.status, 429);
  } finally {
    await t.close();
  }
});
