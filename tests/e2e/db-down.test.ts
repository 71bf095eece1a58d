// What clients see when the database cannot take writes, against the built bundle: another process holds
// the embedded file's write lock (a backup tool, an sqlite3 shell, a stuck instance). Agents and operators
// get retryable 503s with Retry-After, reads keep working, nothing is half-written, and everything
// succeeds again once the lock is gone. A database that cannot be reached at start stops the start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { Edgelet } from '../harness/edgelet';
import { runBundle } from '../harness/cli';
import { ADMIN, freePort, startController } from '../harness/process';

const APP = `apiVersion: iofog.org/v3
kind: Application
metadata: { name: while-locked }
spec:
  microservices:
    - name: probe
      agent: { name: locked-edge }
      images: { amd64: acme/probe:1.0, arm64: acme/probe:1.0 }
      config: {}
`;

test('database write-locked by another process: retryable 503s, reads still served, nothing half-written, recovery', {
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-down-'));
  // Lateness shedding off: on a loaded machine it could answer the read below with its own retryable
  // 503 (CONTROLLER_OVERLOADED), which is not what this test looks at.
  const ctl = await startController({ dir, timeoutMs: 60_000, env: { ADMISSION_ENABLED: 'false' } });
  const locker = createClient({ url: `file:${join(dir, 'data/controller.db')}`, intMode: 'number' });
  try {
    const api = async (method: string, path: string, o: { token?: string; body?: unknown; raw?: string; type?: string } = {}) => {
      const res = await fetch(ctl.url + path, {
        method,
        headers: { 'content-type': o.type ?? 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
        body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, retryAfter: res.headers.get('retry-after') };
    };
    const admin = (await api('POST', '/api/v3/user/login', { body: ADMIN })).body.accessToken as string;
    const fog = await api('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'locked-edge', archId: 0, routerMode: 'none', natsMode: 'none' },
    });
    assert.equal(fog.status, 201);
    const key = await api('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    const edge = new Edgelet(`${ctl.url}/api/v3`, { archId: 1 });
    assert.equal((await edge.provision(key.body.key)).status, 200);
    await edge.changeCycle();
    assert.equal((await edge.reportStatus()).status, 204);

    // Another process takes the write lock and keeps it.
    await locker.execute('PRAGMA busy_timeout = 10000');
    const lock = await locker.transaction('write');
    await lock.execute("INSERT INTO controller_setting (key, value, updated_at) VALUES ('db-down-test', 'held', 0)");

    const status = await edge.reportStatus();
    assert.equal(status.status, 503, JSON.stringify(status.body));
    assert.equal(status.body.code, 'CONTROLLER_DB_BUSY');
    assert.equal(status.body.retryable, true);
    assert.equal(status.body.error, 'ServiceUnavailable', 'Edgelet retries it and never counts it as an auth failure');
    assert.ok(Number(status.headers['retry-after']) >= 1);
    const poll = await edge.pollChanges();
    assert.equal(poll.status, 200, `reads are served while writes wait: ${JSON.stringify(poll.body)}`);
    const created = await api('POST', '/api/v3/application/yaml', { token: admin, raw: APP, type: 'application/yaml' });
    assert.equal(created.status, 503, JSON.stringify(created.body));
    assert.equal(created.body.retryable, true);
    assert.ok(Number(created.retryAfter) >= 1);
    const fog2 = await api('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'during-lock', archId: 0, routerMode: 'none', natsMode: 'none' },
    });
    assert.equal(fog2.status, 503);
    // Still ready: it can read, and its writes fail fast with a retryable answer instead of hanging.
    assert.equal((await api('GET', '/api/v3/status')).status, 200);

    await lock.rollback();
    lock.close();

    // Nothing of the refused writes exists; the same requests succeed now.
    assert.equal((await api('GET', '/api/v3/application/while-locked', { token: admin })).status, 404);
    const fogs = await api('GET', '/api/v3/iofog-list', { token: admin });
    assert.deepEqual(
      fogs.body.fogs.map((f: { name: string }) => f.name),
      ['locked-edge'],
    );
    assert.equal((await api('POST', '/api/v3/application/yaml', { token: admin, raw: APP, type: 'application/yaml' })).status, 201);
    assert.equal((await edge.reportStatus()).status, 204);
    edge.close();
  } finally {
    locker.close();
    await ctl.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database that cannot be reached at start: the process exits 1 and says why, it never serves half-started', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-unreachable-'));
  try {
    const closed = await freePort();
    const run = await runBundle([], {
      cwd: dir,
      env: {
        DB_URL: `http://127.0.0.1:${closed}`,
        API_PORT: String(await freePort()),
        API_HOST: '127.0.0.1',
        ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      },
      timeoutMs: 45_000,
    });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /start-up failed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
