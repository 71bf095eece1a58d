import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { ensureDbFolder, nodeKeyFiles } from '../../src/runtime/fs';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

/** The start-up path of src/server.ts on a fresh folder: what it creates is readable by its owner only. */
async function start(dir: string) {
  const config = loadConfig({
    DB_URL: `file:${join(dir, 'data/controller.db')}`,
    ENCRYPTION_KEY_FILE: join(dir, 'keys/encryption.key'),
    OIDC_BOOTSTRAP_ADMIN_USERNAME: 'admin@example.com',
    OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'Admin-Passw0rd-1',
    JOBS_ENABLED: 'false',
    LOG_LEVEL: 'silent',
  });
  await ensureDbFolder(config.db.url);
  return bootstrap({ config, logger: createLogger('silent'), createClient, keyFiles: nodeKeyFiles });
}

test('a fresh start creates the data and key folders 0700 and the database, its -wal/-shm and the key file 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'controller-modes-'));
  const umask = process.umask(0o022);
  try {
    const ctx = await start(dir);
    try {
      // Written data: the WAL and its index exist now.
      await ctx.store.raw.execute("INSERT INTO controller_setting (key, value, updated_at) VALUES ('mode-probe', 'x', 0)");
      assert.equal(mode(join(dir, 'data')), '700');
      assert.equal(mode(join(dir, 'keys')), '700');
      for (const f of [
        'data/controller.db',
        'data/controller.db-wal',
        'data/controller.db-shm',
        'keys/encryption.key',
        'keys/controller-id',
      ]) {
        assert.equal(mode(join(dir, f)), '600', f);
      }
    } finally {
      await ctx.store.close();
    }
  } finally {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database left world-readable by an older version is tightened to 0600 at start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'controller-modes-'));
  try {
    const first = await start(dir);
    await first.store.close();
    chmodSync(join(dir, 'data/controller.db'), 0o644);
    const again = await start(dir);
    await again.store.close();
    assert.equal(mode(join(dir, 'data/controller.db')), '600');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
