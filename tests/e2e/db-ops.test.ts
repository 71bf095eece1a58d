// The database maintenance commands of the bundle, run as an operator would (`node dist/controller.mjs db …`)
// against real files: an online backup while the server writes, and a copy to a new database that another
// Controller then serves from, with the same users, secrets and agent keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { Edgelet } from '../harness/edgelet';
import { runBundle } from '../harness/cli';
import { ADMIN, jsonApi, startController, type Controller } from '../harness/process';

const ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

const apiOf = (ctl: Controller) => jsonApi(ctl.url);

async function login(ctl: Controller): Promise<string> {
  const r = await apiOf(ctl)('POST', '/api/v3/user/login', { body: ADMIN });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.accessToken;
}

/** Every row of every Controller table, in a stable order: what two databases must agree on. */
async function dump(c: Client): Promise<Record<string, string[]>> {
  const tables = (
    await c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('schema_migration', 'sqlite_sequence')")
  ).rows.map((r) => String(r.name));
  const out: Record<string, string[]> = {};
  for (const t of tables) out[t] = (await c.execute(`SELECT * FROM "${t}"`)).rows.map((r) => JSON.stringify(r)).sort();
  return out;
}

test('db backup: a consistent online copy taken while the server writes; never replaces a file without --force', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-backup-'));
  const ctl = await startController({ dir, env: { ENCRYPTION_KEY }, timeoutMs: 60_000 });
  try {
    const api = apiOf(ctl);
    const admin = await login(ctl);
    const acknowledged: string[] = [];
    const createFog = async (name: string) => {
      const r = await api('POST', '/api/v3/iofog', { token: admin, body: { name, archId: 0, routerMode: 'none', natsMode: 'none' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      acknowledged.push(r.body.uuid);
    };
    for (let i = 0; i < 20; i++) await createFog(`before-${i}`);
    const beforeBackup = [...acknowledged];

    // The operator keeps writing while the backup runs.
    let writing = true;
    let writesDuringBackup = 0;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await createFog(`during-${i}`);
        writesDuringBackup++;
      }
    })();
    const backup = join(dir, 'backups', 'controller-backup.db');
    const run = await runBundle(['db', 'backup', '--to', backup], { cwd: dir, env: { DB_URL: `file:${join(dir, 'data/controller.db')}` } });
    writing = false;
    await writer;
    assert.equal(run.code, 0, run.stderr);
    assert.ok(writesDuringBackup > 0, 'the server was writing while the backup ran');
    assert.equal(run.json.ok, true);
    assert.equal(run.json.integrity, 'ok');
    assert.equal(run.json.to, backup);
    assert.equal(statSync(backup).mode & 0o777, 0o600, 'the backup holds secrets: owner-only');

    const copy = createClient({ url: `file:${backup}`, intMode: 'number' });
    try {
      assert.equal((await copy.execute('PRAGMA integrity_check')).rows[0]![0], 'ok');
      const fogs = new Set((await copy.execute('SELECT uuid FROM fog')).rows.map((r) => String(r.uuid)));
      for (const uuid of beforeBackup) assert.ok(fogs.has(uuid), `fog ${uuid} acknowledged before the backup is in it`);
      assert.ok(fogs.size <= acknowledged.length);
      assert.equal(run.json.tables.find((t: { table: string }) => t.table === 'fog').rows, fogs.size);
      assert.ok((await copy.execute('SELECT count(*) AS n FROM auth_user')).rows[0]!.n === 1, 'the admin is in the backup');
    } finally {
      copy.close();
    }

    // An existing file is kept unless --force; no partial file is left behind either way.
    const size = statSync(backup).size;
    const again = await runBundle(['db', 'backup', '--to', backup], {
      cwd: dir,
      env: { DB_URL: `file:${join(dir, 'data/controller.db')}` },
    });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists.*--force/);
    assert.equal(again.json.ok, false);
    assert.equal(statSync(backup).size, size);
    const forced = await runBundle(['db', 'backup', '--to', backup, '--force'], {
      cwd: dir,
      env: { DB_URL: `file:${join(dir, 'data/controller.db')}` },
    });
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(forced.json.tables.find((t: { table: string }) => t.table === 'fog').rows >= acknowledged.length);

    // Only the embedded file can be backed up this way.
    const remote = await runBundle(['db', 'backup', '--to', join(dir, 'x.db'), '--from', 'libsql://db.example.com'], { cwd: dir });
    assert.equal(remote.code, 1);
    assert.match(remote.stderr, /pg_dump/);
    const usage = await runBundle(['db', 'backup'], { cwd: dir });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--to is required/);
  } finally {
    await ctl.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('db copy: every row arrives unchanged, a Controller serves from the copy, and a used target is refused without --force', {
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-copy-'));
  const source = join(dir, 'data/controller.db');
  const target = join(dir, 'moved/controller.db');
  let ctl: Controller | undefined = await startController({ dir, env: { ENCRYPTION_KEY }, timeoutMs: 60_000 });
  let ctl2: Controller | undefined;
  try {
    const api = apiOf(ctl);
    const admin = await login(ctl);
    const fogs: string[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await api('POST', '/api/v3/iofog', {
        token: admin,
        body: { name: `copy-${i}`, archId: 0, routerMode: 'none', natsMode: 'none' },
      });
      assert.equal(r.status, 201);
      fogs.push(r.body.uuid);
    }
    const secret = await api('POST', '/api/v3/secrets', {
      token: admin,
      body: { name: 'db-pass', type: 'Opaque', data: { password: 'czNjcjN0' } },
    });
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
    // A composite-key table with more rows than a batch: one mount linked to every fog.
    assert.equal(
      (await api('POST', '/api/v3/volumeMounts', { token: admin, body: { name: 'db-pass', secretName: 'db-pass' } })).status,
      200,
    );
    const link = await api('POST', '/api/v3/volumeMounts/db-pass/link', { token: admin, body: { fogUuids: fogs } });
    assert.ok(link.status < 300, JSON.stringify(link.body));
    const key = await api('GET', `/api/v3/iofog/${fogs[0]}/provisioning-key`, { token: admin });
    const edge = new Edgelet(`${ctl.url}/api/v3`);
    assert.equal((await edge.provision(key.body.key)).status, 200);
    assert.equal((await edge.getConfig()).status, 200);
    edge.close();
    await ctl.stop();
    ctl = undefined;

    // Small batches, so that every table with more rows than that is paged, composite keys included.
    const copy = await runBundle(['db', 'copy', '--from', `file:${source}`, '--to', `file:${target}`, '--batch', '3'], { cwd: dir });
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(copy.json.ok, true);
    const fogRow = copy.json.tables.find((t: { table: string }) => t.table === 'fog');
    assert.deepEqual(fogRow, { table: 'fog', source: 25, target: 25 });
    for (const t of copy.json.tables) assert.equal(t.target, t.source, t.table);
    assert.deepEqual(
      copy.json.tables.find((t: { table: string }) => t.table === 'volume_mount_fog'),
      { table: 'volume_mount_fog', source: 25, target: 25 },
      'a composite-key table paged in batches of 3',
    );
    assert.equal(statSync(target).mode & 0o777, 0o600);

    const a = createClient({ url: `file:${source}`, intMode: 'number' });
    const b = createClient({ url: `file:${target}`, intMode: 'number' });
    try {
      assert.deepEqual(await dump(b), await dump(a), 'every row of every table, byte for byte (encrypted columns as stored)');
      const ledger = async (c: Client) =>
        (await c.execute('SELECT id, hash FROM schema_migration ORDER BY id')).rows.map((r) => `${r.id}:${r.hash}`);
      assert.deepEqual(await ledger(b), await ledger(a), 'the target was migrated to the same schema');
    } finally {
      a.close();
      b.close();
    }

    // A Controller on the copy (same ENCRYPTION_KEY) has the same users, secrets and agent keys.
    const dir2 = mkdtempSync(join(tmpdir(), 'db-copy-serve-'));
    ctl2 = await startController({ dir: dir2, env: { ENCRYPTION_KEY, DB_URL: `file:${target}` }, timeoutMs: 60_000 });
    const api2 = apiOf(ctl2);
    const admin2 = await login(ctl2);
    const read = await api2('GET', '/api/v3/secrets/db-pass', { token: admin2 });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.deepEqual(read.body.data, { password: 'czNjcjN0' }, 'the encrypted secret decrypts on the new database');
    const list = await api2('GET', '/api/v3/iofog-list', { token: admin2 });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.fogs.map((f: { uuid: string }) => f.uuid).sort(), [...fogs].sort());
    const moved = new Edgelet(`${ctl2.url}/api/v3`);
    await moved.loadCredentials({ uuid: edge.uuid!, privateKey: edge.privateKeyB64! });
    assert.equal((await moved.getConfig()).status, 200, 'the agent authenticates with its key against the copy');
    const fresh = await api2('POST', '/api/v3/secrets', {
      token: admin2,
      body: { name: 'after-move', type: 'Opaque', data: { k: 'dg==' } },
    });
    assert.equal(fresh.status, 201, 'new rows get ids after the copied ones');
    moved.close();
    await ctl2.stop();
    ctl2 = undefined;
    rmSync(dir2, { recursive: true, force: true });

    // The target is now in use: refused, and left as it was.
    const refused = await runBundle(['db', 'copy', '--from', `file:${source}`, '--to', `file:${target}`], { cwd: dir });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already holds data.*--force/);
    const c = createClient({ url: `file:${target}`, intMode: 'number' });
    try {
      assert.equal((await c.execute("SELECT count(*) AS n FROM secret WHERE name = 'after-move'")).rows[0]!.n, 1);
    } finally {
      c.close();
    }
    const forced = await runBundle(['db', 'copy', '--from', `file:${source}`, '--to', `file:${target}`, '--force'], { cwd: dir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(forced.json.cleared.some((t: { table: string }) => t.table === 'secret'));
    const d = createClient({ url: `file:${target}`, intMode: 'number' });
    try {
      assert.equal(
        (await d.execute("SELECT count(*) AS n FROM secret WHERE name = 'after-move'")).rows[0]!.n,
        0,
        '--force replaced the target',
      );
    } finally {
      d.close();
    }

    // A source that is not a Controller database, and a copy onto itself, are refused.
    const stray = join(dir, 'stray.db');
    writeFileSync(stray, '');
    const notController = await runBundle(['db', 'copy', '--from', `file:${stray}`, '--to', `file:${join(dir, 'other.db')}`], { cwd: dir });
    assert.equal(notController.code, 1);
    assert.match(notController.stderr, /no Controller schema/);
    const missing = await runBundle(['db', 'copy', '--from', `file:${join(dir, 'nope.db')}`, '--to', `file:${join(dir, 'other2.db')}`], {
      cwd: dir,
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no database file/);
    assert.equal(existsSync(join(dir, 'nope.db')), false, 'a mistyped source is not created');
    const self = await runBundle(['db', 'copy', '--from', `file:${source}`, '--to', `file:${source}`], { cwd: dir });
    assert.equal(self.code, 1);
    assert.match(self.stderr, /same database/);
  } finally {
    await ctl?.stop('SIGKILL');
    await ctl2?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
