import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { fog } from '../../db/schema/index';
import { makeTestApp, type TestApp } from '../harness/app';
import type { WsHandlers, WsPeer } from '../../src/ws/types';

/**
 * An upgrade through the app with a stand-in for the runtime's upgrade: reports whether the socket
 * was refused before the handshake (HTTP status), closed right after it (1008 with a reason), or
 * accepted into a session.
 */
async function upgrade(
  t: TestApp,
  path: string,
  opts: { ip: string; token?: string },
): Promise<{ outcome: 'http' | 'closed' | 'accepted'; status: number; detail: string }> {
  let handlers: WsHandlers | undefined;
  const res = await t.app.request(
    path,
    { headers: { upgrade: 'websocket', connection: 'Upgrade', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) } },
    {
      clientIp: opts.ip,
      upgrade: (h: WsHandlers) => {
        handlers = h;
        return new Response(null, { status: 200 });
      },
    },
  );
  if (!handlers) return { outcome: 'http', status: res.status, detail: await res.text() };
  let closed: string | undefined;
  const peer: WsPeer = { send: () => {}, close: (code, reason) => (closed ??= `${code} ${reason}`), bufferedAmount: () => 0, isOpen: true };
  handlers.open(peer);
  // A refusal closes in open(); an accepted session socket is closed here by the test itself.
  if (closed) return { outcome: 'closed', status: 101, detail: closed };
  handlers.close(1000, '');
  return { outcome: 'accepted', status: 101, detail: '' };
}

async function runningFog(t: TestApp, admin: string): Promise<string> {
  const created = await t.call('POST', '/api/v3/iofog', {
    token: admin,
    body: { name: 'gate-fog', archId: 1, routerMode: 'none', natsMode: 'none' },
  });
  assert.equal(created.status, 201);
  await t.ctx.db.update(fog).set({ daemonStatus: 'RUNNING' }).where(eq(fog.uuid, created.body.uuid));
  return created.body.uuid;
}

test('70 anonymous and badly authenticated upgrades from one IP do not lock out an admin behind the same IP', async () => {
  const t = await makeTestApp({ env: { WS_SECURITY_MAX_REQUESTS_PER_MINUTE: '50', WS_SECURITY_MAX_FAILED_PER_MINUTE: '30' } });
  try {
    const admin = (await t.login()).accessToken;
    const path = `/api/v3/iofog/${await runningFog(t, admin)}/logs`;
    const ip = '198.51.100.7';
    const outcomes: string[] = [];
    for (let i = 0; i < 35; i++) outcomes.push((await upgrade(t, path, { ip })).outcome);
    for (let i = 0; i < 35; i++) outcomes.push((await upgrade(t, path, { ip, token: `not-a-token-${i}` })).outcome);
    assert.ok(!outcomes.includes('accepted'));
    // Past 30 failures, anonymous upgrades are refused before any auth work: 429.
    const cheap = await upgrade(t, path, { ip });
    assert.equal(cheap.outcome, 'http');
    assert.equal(cheap.status, 429);
    assert.equal(JSON.parse(cheap.detail).code, 'RATE_LIMITED');

    const valid = await upgrade(t, path, { ip, token: admin });
    assert.equal(valid.outcome, 'accepted', valid.detail);
    // Another address is untouched by this one's failures.
    assert.equal((await upgrade(t, path, { ip: '198.51.100.8' })).outcome, 'closed');
  } finally {
    await t.close();
  }
});

test('the upgrade rate is counted per authenticated principal, not per address', async () => {
  const t = await makeTestApp({ env: { WS_SECURITY_MAX_REQUESTS_PER_MINUTE: '3' } });
  try {
    const admin = (await t.login()).accessToken;
    const path = `/api/v3/iofog/${await runningFog(t, admin)}/logs`;
    for (let i = 0; i < 3; i++) assert.equal((await upgrade(t, path, { ip: `203.0.113.${i}`, token: admin })).outcome, 'accepted');
    // The same admin from a fourth address: its own limit, whatever the address.
    const over = await upgrade(t, path, { ip: '203.0.113.99', token: admin });
    assert.equal(over.outcome, 'http');
    assert.equal(over.status, 429);
    assert.equal(JSON.parse(over.detail).message, 'Rate limit exceeded');
  } finally {
    await t.close();
  }
});
