// PostgreSQL-specific behaviour of the storage layer, on a real server (tests/harness/postgres.ts):
// migrations (generated, embedded, applied once under concurrent starts), the dialect-specific
// statements of db/dialect.ts, transaction retries and error mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@libsql/client';
import { pgDriver } from '../../db/pg-driver';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { eq } from 'drizzle-orm';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { Vault } from '../../src/crypto/vault';
import { migrate, openStore, type PgStore, type Store } from '../../db/client';
import { migrations as pgMigrations } from '../../db/migrations-pg/index';
import { claimOldestPg, isPg, setLastActive } from '../../db/dialect';
import { withTransaction } from '../../db/tx';
import { fog, fogPlatformTask } from '../../db/schema/index';
import { classifyDbError } from '../../src/errors';
import { sqliteTables } from '../../scripts/gen-pg-schema';
import { emptyPgDatabase, freshPgDatabase } from '../harness/postgres';

const noLibsql = () => {
  throw new Error('not libSQL');
};
const openPg = (url: string) => openStore(noLibsql, { url, busyTimeoutMs: 100, writeWaitMs: 1000, poolMax: 4, pgDriver });

test('the embedded PostgreSQL migrations create exactly the SQLite tables: columns, nullability, primary keys, indexes', async () => {
  const db = await emptyPgDatabase();
  const store = await openPg(db.url);
  try {
    const { applied } = await migrate(store);
    assert.deepEqual(
      applied,
      pgMigrations.map((m) => m.tag),
    );
    const cols = await store.raw.execute(
      "SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migration'",
    );
    const actual = cols.rows.map((r) => `${r.table_name}.${r.column_name}${r.is_nullable === 'NO' ? ' not null' : ''}`).sort();
    const expected = sqliteTables()
      .flatMap(([, t]) => {
        const cfg = getTableConfig(t);
        const pk = new Set(cfg.primaryKeys.flatMap((p) => p.columns.map((c) => c.name)));
        return cfg.columns.map((c) => `${cfg.name}.${c.name}${c.notNull || c.primary || pk.has(c.name) ? ' not null' : ''}`);
      })
      .sort();
    assert.deepEqual(actual, expected);
    const idx = await store.raw.execute(
      "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'schema_migration'",
    );
    const actualIdx = idx.rows
      .filter((r) => !String(r.indexname).endsWith('_pkey') && !String(r.indexname).endsWith('_pk'))
      .map(
        (r) => `${r.indexname}${/UNIQUE/.test(String(r.indexdef)) ? ' unique' : ''}${/ WHERE /.test(String(r.indexdef)) ? ' partial' : ''}`,
      )
      .sort();
    const expectedIdx = sqliteTables()
      .flatMap(([, t]) => {
        const cfg = getTableConfig(t);
        return [
          ...cfg.indexes.map((i) => `${i.config.name}${i.config.unique ? ' unique' : ''}${i.config.where ? ' partial' : ''}`),
          ...cfg.columns.filter((c) => c.isUnique).map((c) => `${c.uniqueName} unique`),
          ...cfg.uniqueConstraints.map((u) => `${u.getName()} unique`),
        ];
      })
      .sort();
    assert.deepEqual(actualIdx, expectedIdx);
    // The seed rows of the SQLite migrations are there, and the next registry does not collide with them.
    const reg = await store.raw.execute(
      "INSERT INTO registry (url, is_public, username, password_enc, user_email, created_at, updated_at) VALUES ('r', 1, '', '', '', 0, 0) RETURNING id",
    );
    assert.equal(reg.rows[0]!.id, 3);
    assert.equal((await store.raw.execute("SELECT count(*) AS n FROM catalog_item WHERE category = 'SYSTEM'")).rows[0]!.n, 3);
    assert.deepEqual((await migrate(store)).applied, [], 'a second run applies nothing');
  } finally {
    await store.close();
    await db.drop();
  }
});

test('three instances starting together on one fresh PostgreSQL database all start; the migrations are applied once', async () => {
  const db = await emptyPgDatabase();
  const key = Vault.generateKey();
  const logs: string[] = [];
  const config = loadConfig({
    DB_URL: db.url,
    ENCRYPTION_KEY: key,
    OIDC_BOOTSTRAP_ADMIN_USERNAME: 'admin@example.com',
    OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'Admin-Passw0rd-1',
    JOBS_ENABLED: 'false',
  });
  const results = await Promise.allSettled(
    [1, 2, 3].map(() => bootstrap({ config, logger: createLogger('info', (l) => logs.push(l)), createClient, pgDriver })),
  );
  try {
    for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason?.stack ?? r.reason) : '');
    const ctx = (results[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof bootstrap>>>).value;
    const ledger = await ctx.store.raw.execute('SELECT tag FROM schema_migration ORDER BY id');
    assert.deepEqual(
      ledger.rows.map((r) => r.tag),
      pgMigrations.map((m) => m.tag),
    );
    assert.equal(logs.filter((l) => l.includes('database migrated')).length, 1, 'one instance migrated, the others found it done');
    assert.equal((await ctx.store.raw.execute('SELECT count(*) AS n FROM auth_user')).rows[0]!.n, 1, 'one bootstrap admin');
  } finally {
    for (const r of results) if (r.status === 'fulfilled') await r.value.store.close();
    await db.drop();
  }
});

async function withFreshStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const db = await freshPgDatabase();
  // A statement that would wait on a lock fails instead of hanging the test.
  const admin = await openPg(db.url);
  await admin.raw.execute(`ALTER DATABASE "${new URL(db.url).pathname.slice(1)}" SET lock_timeout = '3s'`);
  await admin.close();
  const store = await openPg(db.url);
  try {
    await fn(store);
  } finally {
    await store.close();
    await db.drop();
  }
}

const host = (store: Store) => ({ db: store.db, inTx: false, store });
const addFog = (store: Store, uuid: string) =>
  store.raw.execute('INSERT INTO fog (uuid, name, created_at, updated_at) VALUES (?, ?, 0, 0)', [uuid, `name-${uuid}`]);

test('PostgreSQL statements: last-active batch update (jsonb_each_text), rowsAffected, int8 as numbers, SKIP LOCKED claims', async () => {
  await withFreshStore(async (store) => {
    assert.equal(isPg(store.db), true);
    for (const u of ['f1', 'f2', 'f3']) await addFog(store, u);
    const t = 1_800_000_000_123; // beyond int4: must round-trip as a JS number
    await setLastActive(store.db, { f1: t, f3: t + 1, unknown: 5 });
    const rows = await store.db.select({ uuid: fog.uuid, lastActive: fog.lastActive, isSystem: fog.isSystem }).from(fog).orderBy(fog.uuid);
    assert.deepEqual(rows, [
      { uuid: 'f1', lastActive: t, isSystem: false },
      { uuid: 'f2', lastActive: null, isSystem: false },
      { uuid: 'f3', lastActive: t + 1, isSystem: false },
    ]);
    const res = await store.db.update(fog).set({ description: 'x' }).where(eq(fog.uuid, 'f2'));
    assert.equal(res.rowsAffected, 1);
    assert.equal((await store.db.delete(fog).where(eq(fog.uuid, 'nope'))).rowsAffected, 0);

    const now = 1_000_000;
    for (const [i, u] of ['f1', 'f2', 'f3'].entries()) {
      await store.db
        .insert(fogPlatformTask)
        .values({ fogUuid: u, reason: 'spec', specGeneration: 1, status: 'pending', createdAt: i, updatedAt: i });
    }
    const claim = (owner: string) =>
      withTransaction(
        host(store),
        (tx) =>
          claimOldestPg(tx.db, fogPlatformTask, {
            key: fogPlatformTask.fogUuid,
            eligible: eq(fogPlatformTask.status, 'pending'),
            orderBy: fogPlatformTask.updatedAt,
            set: { status: 'in_progress', leaderUuid: owner, claimedAt: now, updatedAt: now },
          }),
        { isolation: 'read committed' },
      );
    // A task another instance is claiming right now (its row locked) is skipped, not waited for: with
    // a plain FOR UPDATE the claim would wait, and fail after the database's lock_timeout.
    const pgSql = (store as PgStore).sql;
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = pgSql.begin(async (tx) => {
      await tx`SELECT 1 FROM fog_platform_task WHERE fog_uuid = 'f1' FOR UPDATE`;
      locked();
      await new Promise<void>((r) => (release = r));
    });
    await isLocked;
    const skipped = await claim('a').finally(() => release());
    await holder;
    assert.equal(skipped?.fogUuid, 'f2', 'the oldest unlocked task');
    // Claims at the same moment take different rows; none is handed out twice.
    const got = await Promise.all(['b', 'c', 'd'].map(claim));
    assert.deepEqual(got.map((r) => r?.fogUuid ?? null).sort(), ['f1', 'f3', null].sort());
    assert.deepEqual(
      got.filter((r) => r).map((r) => [r!.status, r!.claimedAt]),
      [0, 1].map(() => ['in_progress', now]),
    );
  });
});

test('PostgreSQL transactions: serialization failures are retried until they succeed; constraint and connection errors map to 409/400/503', async () => {
  await withFreshStore(async (store) => {
    await addFog(store, 'f1');
    // Two serializable read-modify-write transactions on one row: without a retry one of them fails
    // with 40001; with it both increments land.
    let attempts = 0;
    const bump = () =>
      withTransaction(host(store), async (tx) => {
        attempts++;
        const [row] = await tx.db.select({ n: fog.logFileCount }).from(fog).where(eq(fog.uuid, 'f1'));
        await new Promise((r) => setTimeout(r, 30)); // sleep-ok: holds both transactions open so they overlap
        await tx.db
          .update(fog)
          .set({ logFileCount: row!.n + 1 })
          .where(eq(fog.uuid, 'f1'));
      });
    await Promise.all([bump(), bump()]);
    const [after] = await store.db.select({ n: fog.logFileCount }).from(fog).where(eq(fog.uuid, 'f1'));
    assert.equal(after!.n, 12, 'both increments of 10 applied');
    assert.ok(attempts >= 3, `one of them was retried (attempts: ${attempts})`);

    const dup = await addFog(store, 'f1').catch((e) => e);
    assert.equal(classifyDbError(dup)?.status, 409);
    const fk = await store.db
      .insert(fogPlatformTask)
      .values({ fogUuid: 'missing', reason: 'spec', specGeneration: 1, status: 'pending', createdAt: 0, updatedAt: 0 })
      .catch((e) => e);
    assert.equal(classifyDbError(fk)?.status, 409);
    const nn = await store.raw.execute('INSERT INTO fog (uuid, name, created_at) VALUES (?, ?, 0)', ['f9', 'n9']).catch((e) => e);
    assert.equal(classifyDbError(nn)?.status, 400);
    assert.match(classifyDbError(nn)!.message, /updated_at/);
  });
  const down = await openStore(noLibsql, {
    url: 'postgres://postgres@127.0.0.1:1/x',
    busyTimeoutMs: 100,
    writeWaitMs: 1000,
    connectTimeoutSec: 2,
    pgDriver,
  }).catch((e) => e);
  assert.equal(classifyDbError(down)?.status, 503);
  assert.equal(
    classifyDbError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))?.status,
    503,
  );
  assert.equal(classifyDbError(Object.assign(new Error('could not serialize access'), { code: '40001' }))?.retryable, true);
});
