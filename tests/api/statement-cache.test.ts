import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { enableStatementCache } from '../../src/runtime/statement-cache';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { Vault } from '../../src/crypto/vault';
import { createLogger } from '../../src/lib/logger';
import { createGroup, listGroups } from '../../src/services/auth/admin';

// The servers run with prepared statements cached per connection; this file turns the cache on
// (it patches the native binding for the whole test process) and repeats the contention scenario.
test('with the statement cache: two instances on one file write concurrently, BUSY recovers, reads stay correct', async () => {
  assert.equal(enableStatementCache(), true);
  const dir = mkdtempSync(join(tmpdir(), 'ctl-cache-'));
  try {
    const config = loadConfig({ DB_URL: `file:${join(dir, 'c.db')}`, ENCRYPTION_KEY: Vault.generateKey() });
    const a = await bootstrap({ config, logger: createLogger('silent'), createClient });
    const b = await bootstrap({ config, logger: createLogger('silent'), createClient });
    const results = await Promise.allSettled([
      ...Array.from({ length: 25 }, (_, i) => createGroup(a, { name: `a-${i}` })),
      ...Array.from({ length: 25 }, (_, i) => createGroup(b, { name: `b-${i}` })),
    ]);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
    const names = (await listGroups(a)).map((g) => g.name);
    assert.equal(names.filter((n) => /^[ab]-\d+$/.test(n)).length, 50);
    assert.deepEqual((await listGroups(b)).map((g) => g.name), names, 'the same cached statement answers fresh data');
    a.store.close();
    b.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
