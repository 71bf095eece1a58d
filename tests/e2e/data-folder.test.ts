import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE, ROOT, freePort } from '../harness/process';

/**
 * Root writes anywhere (DAC override), so as root the bundle is started as `nobody` (uid/gid 65534), for whom a
 * 0555 folder is really unwritable; a test run as a regular user starts it as itself.
 */
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

async function startFails(dir: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const proc = spawn(process.execPath, [BUNDLE], {
    ...asUser,
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      NODE_PATH: join(ROOT, 'node_modules'),
      API_PORT: String(await freePort()),
      API_HOST: '127.0.0.1',
      JOBS_ENABLED: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return { code, stderr, stdout };
}

test('an unwritable data folder stops the start with one line: "permission denied", the path, the setting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'controller-unwritable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const locked = join(dir, 'locked');
  const open = join(dir, 'open');
  mkdirSync(locked, { mode: 0o555 });
  mkdirSync(open);
  chmodSync(locked, 0o555);
  chmodSync(open, 0o777);

  const db = await startFails(dir, {
    DB_URL: `file:${join(locked, 'data/controller.db')}`,
    ENCRYPTION_KEY_FILE: join(open, 'encryption.key'),
  });
  assert.notEqual(db.code, 0, db.stdout + db.stderr);
  assert.equal(
    db.stderr,
    `start-up failed: cannot create the database folder ${join(locked, 'data')}: permission denied (EACCES); give this user access there or set DB_URL to another path\n`,
    db.stdout,
  );

  // A folder that exists but is not writable (a volume mounted with the wrong owner): SQLite would fail later, at
  // its first -wal file, with no path in the message.
  const mounted = await startFails(dir, {
    DB_URL: `file:${join(locked, 'controller.db')}`,
    ENCRYPTION_KEY_FILE: join(open, 'encryption.key'),
  });
  assert.notEqual(mounted.code, 0, mounted.stdout + mounted.stderr);
  assert.equal(
    mounted.stderr,
    `start-up failed: cannot write in the database folder ${locked}: permission denied (EACCES); give this user access there or set DB_URL to another path\n`,
    mounted.stdout,
  );

  // The database may live elsewhere; the generated key, the replica id and the first admin password go next to ENCRYPTION_KEY_FILE.
  const key = await startFails(dir, {
    DB_URL: `file:${join(open, 'controller.db')}`,
    ENCRYPTION_KEY_FILE: join(locked, 'keys/encryption.key'),
  });
  assert.notEqual(key.code, 0, key.stdout + key.stderr);
  assert.equal(
    key.stderr,
    `start-up failed: cannot create the folder ${join(locked, 'keys')}: permission denied (EACCES); give this user access there or set ENCRYPTION_KEY_FILE to another path\n`,
    key.stdout,
  );
});
