import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { createApp } from '../../src/app';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { nodeKeyFiles } from '../../src/runtime/fs';

async function start(dir: string, env: Record<string, string> = {}) {
  const config = loadConfig({
    DB_URL: `file:${join(dir, 'controller.db')}`,
    ENCRYPTION_KEY_FILE: join(dir, 'encryption.key'),
    JOBS_ENABLED: 'false',
    ...env,
  });
  const logs: string[] = [];
  const ctx = await bootstrap({ config, logger: createLogger('info', (l) => logs.push(l)), createClient, keyFiles: nodeKeyFiles });
  const app = createApp(ctx);
  const post = async (path: string, body: unknown, token?: string) => {
    const res = await app.request(
      path,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      },
      { clientIp: '10.0.0.1' },
    );
    return { status: res.status, body: (await res.json()) as any };
  };
  return { ctx, logs, post };
}

test('first start with no user and no bootstrap variables: an admin with a one-time password in a 0600 file, changed at first login', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'first-start-'));
  try {
    const first = await start(dir);
    const file = join(dir, 'initial-admin-password');
    const password = readFileSync(file, 'utf8').trim();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(
      first.logs.some((l) => l.includes('created the admin') && l.includes(file)),
      'the log names the file',
    );
    const login = await first.post('/api/v3/user/login', { email: 'admin', password });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    // The one-time password only opens the password change.
    const denied = await first.post('/api/v3/iofog', { name: 'x', archId: 1 }, login.body.accessToken);
    assert.equal(denied.body.code, 'PASSWORD_CHANGE_REQUIRED');
    const changed = await first.post(
      '/api/v3/user/change-password',
      { currentPassword: password, newPassword: 'Chosen-Passw0rd-7' },
      login.body.accessToken,
    );
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await first.ctx.store.close();

    // A restart with a user in the database creates nobody and leaves the file alone.
    const again = await start(dir);
    assert.ok(!again.logs.some((l) => l.includes('created the admin')));
    assert.equal((await again.post('/api/v3/user/login', { email: 'admin', password: 'Chosen-Passw0rd-7' })).status, 200);
    await again.ctx.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('first start with the bootstrap variables set: no generated admin, no password file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'first-start-'));
  try {
    const s = await start(dir, { OIDC_BOOTSTRAP_ADMIN_USERNAME: 'ops@example.com', OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'Ops-Passw0rd-12' });
    assert.throws(() => statSync(join(dir, 'initial-admin-password')), /ENOENT/);
    assert.equal((await s.post('/api/v3/user/login', { email: 'admin', password: 'x' })).status, 401);
    assert.equal((await s.post('/api/v3/user/login', { email: 'ops@example.com', password: 'Ops-Passw0rd-12' })).status, 200);
    await s.ctx.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
