import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { Vault } from '../../src/crypto/vault';
import { createLogger } from '../../src/lib/logger';
import { ManualClock } from '../../src/lib/clock';
import { runTick } from '../../src/jobs/runner';
import type { Job } from '../../src/jobs/types';
import { tokenCleanupJob } from '../../workers/token-cleanup';
import { createGroup } from '../../src/services/auth/admin';
import { migrate } from '../../db/client';
import { makeTestApp, ADMIN } from '../harness/app';
import { waitFor } from '../harness/wait';

function env(dir: string, key: string, extra: Record<string, string> = {}) {
  return loadConfig({
    DB_URL: `file:${join(dir, 'c.db')}`,
    ENCRYPTION_KEY: key,
    OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
    OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    ...extra,
  });
}

test('migrations apply once; a second start on the same file is a no-op; PRAGMAs are set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-store-'));
  const key = Vault.generateKey();
  try {
    const a = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    assert.deepEqual((await migrate(a.store)).applied, []);
    const mode = await a.store.raw.execute('PRAGMA journal_mode');
    assert.equal(mode.rows[0]!.journal_mode, 'wal');
    assert.equal((await a.store.raw.execute('PRAGMA foreign_keys')).rows[0]!.foreign_keys, 1);
    a.store.close();
    const b = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    const rows = await b.store.raw.execute('SELECT tag FROM schema_migration');
    assert.deepEqual(
      rows.rows.map((r) => r.tag),
      [
        '0000_foundation',
        '0001_fleet',
        '0002_apps',
        '0003_catalog',
        '0004_config',
        '0005_identity',
        '0006_oidc',
        '0007_sessions',
        '0008_nats',
        '0009_pki',
        '0010_platform',
        '0011_services',
        '0012_ms_nats',
        '0013_jti_batches',
        '0014_drop_agent_jti',
        '0015_jti_digests',
        '0016_fog_delete_requested_idx',
        '0017_auth_revocation',
      ],
    );
    b.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('private keys and TOTP secrets are encrypted at rest; a wrong ENCRYPTION_KEY refuses to start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-store-'));
  const key = Vault.generateKey();
  try {
    const ctx = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    const rows = await ctx.store.raw.execute('SELECT private_jwk_enc, public_jwk FROM auth_signing_key');
    assert.equal(rows.rows.length, 1);
    const enc = String(rows.rows[0]!.private_jwk_enc);
    assert.match(enc, /^v1\./);
    assert.ok(!enc.includes('"d"'));
    assert.ok(!String(rows.rows[0]!.public_jwk).includes('"d"'));
    ctx.store.close();
    await assert.rejects(
      bootstrap({ config: env(dir, Vault.generateKey()), logger: createLogger('silent'), createClient }),
      /ENCRYPTION_KEY does not match the key this database was encrypted with/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('many concurrent writes in one process all commit (serialized, no self-deadlock)', async () => {
  const t = await makeTestApp();
  try {
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => createGroup(t.ctx, { name: `g-${i}` })));
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected'),
      [],
    );
    const count = await t.ctx.store.raw.execute("SELECT count(*) AS n FROM auth_group WHERE name LIKE 'g-%'");
    assert.equal(count.rows[0]!.n, 40);
  } finally {
    await t.close();
  }
});

test('two instances on one file: concurrent writes from both commit; a job tick runs exactly once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-store-'));
  const key = Vault.generateKey();
  try {
    const a = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    const b = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    assert.notEqual(a.instanceId, b.instanceId);
    const writes = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => createGroup(a, { name: `a-${i}` })),
      ...Array.from({ length: 20 }, (_, i) => createGroup(b, { name: `b-${i}` })),
    ]);
    assert.deepEqual(
      writes.filter((r) => r.status === 'rejected'),
      [],
    );

    let runs = 0;
    const job: Job = { name: 'count', schedule: '* * * * *', run: async () => void runs++ };
    const tick = Date.UTC(2026, 10, 22, 12, 0, 0);
    const outcomes = await Promise.all([runTick(a, job, tick), runTick(b, job, tick + 400), runTick(a, job, tick)]);
    assert.equal(runs, 1);
    assert.deepEqual(outcomes.map((o) => o.ran).sort(), [false, false, true]);
    await runTick(b, job, tick + 60_000);
    assert.equal(runs, 2, 'the next tick runs again');
    a.store.close();
    b.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('token-cleanup job removes expired refresh tokens and keeps live ones', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock, env: { AUTH_REFRESH_TOKEN_TTL_SECONDS: '120' } });
  try {
    await t.login();
    clock.advance(60_000);
    const live = await t.login();
    clock.advance(61_000);
    const outcome = await runTick(t.ctx, tokenCleanupJob, clock.now());
    assert.equal(outcome.ran, true);
    assert.deepEqual(outcome.ran && outcome.result, { refreshTokens: 1, agentJtiBatches: 0, jobRuns: 0 });
    assert.equal((await t.call('POST', '/api/v3/user/refresh', { body: { refreshToken: live.refreshToken } })).status, 200);
  } finally {
    await t.close();
  }
});

test('bootstrap admin: replaced when the configured credentials change; never overwrites a regular user', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-store-'));
  const key = Vault.generateKey();
  try {
    const a = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    a.store.close();
    const b = await bootstrap({
      config: env(dir, key, { OIDC_BOOTSTRAP_ADMIN_USERNAME: 'root@example.com', OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'Other-Passw0rd-2' }),
      logger: createLogger('silent'),
      createClient,
    });
    const users = await b.store.raw.execute('SELECT email FROM auth_user WHERE is_bootstrap = 1 AND deleted_at IS NULL');
    assert.deepEqual(
      users.rows.map((r) => r.email),
      ['root@example.com'],
    );
    b.store.close();
    // A password the policy refuses stops the start at the configuration, before anything is written.
    assert.throws(
      () => env(dir, key, { OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'weak' }),
      /OIDC_BOOTSTRAP_ADMIN_PASSWORD does not meet the password policy/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('change index: idle polls skip the database; raises from another instance show up at its next refresh', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-store-'));
  const key = Vault.generateKey();
  try {
    const a = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    const b = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    const now = Date.now();
    await a.store.raw.execute('INSERT INTO fog (uuid, name, created_at, updated_at) VALUES (?, ?, ?, ?)', ['f-1', 'f1', now, now]);
    a.changeIndex.start(a.store.db, a.logger);
    await a.changeIndex.refresh(a.store.db);
    const { readChanges, raiseFlags } = await import('../../src/services/changes/flags');
    const { withTransaction } = await import('../../db/tx');
    assert.equal(a.changeIndex.mayHavePending('f-1'), false);
    await withTransaction(b, (tx) => raiseFlags(tx, ['f-1'], ['reboot']));
    assert.equal((await readChanges(a.store.db, a.changeClock, 'f-1', a.changeIndex)).reboot, false, 'not seen before the refresh');
    // The index refreshes on its own timer (about once a second): wait for it rather than sleeping past it.
    await waitFor(
      'the raise from the other instance to show up',
      async () => (await readChanges(a.store.db, a.changeClock, 'f-1', a.changeIndex)).reboot,
      {
        timeoutMs: 10_000,
      },
    );
    await withTransaction(a, (tx) => raiseFlags(tx, ['f-1'], ['prune']));
    assert.equal((await readChanges(a.store.db, a.changeClock, 'f-1', a.changeIndex)).prune, true, 'own raises are visible at once');
    a.changeIndex.stop();
    a.store.close();
    b.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("change index: acknowledging an answer that could not see another instance's raise never deletes that raise", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-store-'));
  const key = Vault.generateKey();
  try {
    const a = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    const b = await bootstrap({ config: env(dir, key), logger: createLogger('silent'), createClient });
    const now = Date.now();
    await a.store.raw.execute('INSERT INTO fog (uuid, name, created_at, updated_at) VALUES (?, ?, ?, ?)', ['f-1', 'f1', now, now]);
    const { acknowledgeChanges, readChanges, raiseFlags } = await import('../../src/services/changes/flags');
    const { withTransaction } = await import('../../db/tx');
    for (const c of [a, b]) {
      c.changeIndex.start(c.store.db, c.logger);
      await c.changeIndex.refresh(c.store.db);
    }
    // B raises; A's index has not refreshed since, so A answers the agent's poll without the flag.
    await withTransaction(b, (tx) => raiseFlags(tx, ['f-1'], ['reboot']));
    const idle = await readChanges(a.store.db, a.changeClock, 'f-1', a.changeIndex);
    assert.equal(idle.reboot, false, 'A cannot see the raise yet');
    // The acknowledgement reaches B (a load balancer picks any instance), which knows of the row.
    await acknowledgeChanges(b, 'f-1', idle.lastUpdated);
    const next = await readChanges(b.store.db, b.changeClock, 'f-1', b.changeIndex);
    assert.equal(next.reboot, true, 'the raise the agent was never shown is still pending');
    // The same through A once it refreshed: the flag is delivered, and acknowledging that answer clears it.
    await a.changeIndex.refresh(a.store.db);
    const seen = await readChanges(a.store.db, a.changeClock, 'f-1', a.changeIndex);
    assert.equal(seen.reboot, true);
    assert.equal(await acknowledgeChanges(b, 'f-1', seen.lastUpdated), 1);
    assert.equal((await readChanges(b.store.db, b.changeClock, 'f-1', b.changeIndex)).reboot, false);
    // A poll that reads the table and finds nothing answers with a time before that read as well.
    const empty = await readChanges(b.store.db, b.changeClock, 'f-1');
    assert.ok(Date.parse(empty.lastUpdated) <= Date.now() - 4000, empty.lastUpdated);
    for (const c of [a, b]) {
      c.changeIndex.stop();
      c.store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration 0013 carries the unexpired used agent-token ids of the old per-id table into one batch row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-jti-mig-'));
  const client = createClient({ url: `file:${join(dir, 'm.db')}` });
  try {
    const { readFileSync } = await import('node:fs');
    const statements = readFileSync(new URL('../../db/migrations/0013_jti_batches.sql', import.meta.url), 'utf8').split(
      '--> statement-breakpoint',
    );
    await client.execute('CREATE TABLE agent_jti (jti text PRIMARY KEY NOT NULL, fog_uuid text NOT NULL, expires_at integer NOT NULL)');
    const later = Date.now() + 300_000;
    await client.execute({
      sql: 'INSERT INTO agent_jti VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)',
      args: ['f1:a', 'f1', later, 'f2:b', 'f2', later + 5, 'f1:old', 'f1', Date.now() - 1000],
    });
    for (const s of statements) await client.execute(s);
    const rows = (await client.execute('SELECT expires_at, ids FROM agent_jti_batch')).rows;
    assert.equal(rows.length, 1);
    assert.equal(Number(rows[0]!.expires_at), later + 5);
    assert.deepEqual(String(rows[0]!.ids).split('\n').sort(), [`f1:a\t${later}`, `f2:b\t${later + 5}`]);
    // An empty old table leaves no row behind.
    await client.execute('DELETE FROM agent_jti_batch');
    await client.execute('DELETE FROM agent_jti');
    await client.execute(statements[2]!);
    assert.equal((await client.execute('SELECT count(*) AS n FROM agent_jti_batch')).rows[0]!.n, 0);
  } finally {
    client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
