// `controller db copy` from the embedded file to PostgreSQL, run as an operator moving an install to a
// scale-out database would (`node dist/controller.mjs db copy --from file:… --to postgres://…`): every row
// arrives with the same value, a Controller started on the PostgreSQL database with the same
// ENCRYPTION_KEY serves the same users, secrets, fogs and agent keys, new rows get ids after the copied
// ones (the identity sequences were advanced), and a used target is only replaced with --force.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import postgres from 'postgres';
import { migrations as pgMigrations } from '../../db/migrations-pg/index';
import { runBundle } from '../harness/cli';
import { Edgelet } from '../harness/edgelet';
import { emptyPgDatabase, type PgDatabase } from '../harness/postgres';
import { ADMIN, jsonApi, startController, type Controller } from '../harness/process';

const ENCRYPTION_KEY = Buffer.alloc(32, 9).toString('base64');
const FOGS = 25;

const apiOf = (ctl: Controller) => jsonApi(ctl.url);

async function login(ctl: Controller): Promise<string> {
  const r = await apiOf(ctl)('POST', '/api/v3/user/login', { body: ADMIN });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.accessToken;
}

/**
 * One stored value, tagged with its storage class, read by each side's own driver (not through the
 * copy's drizzle mapping, which is what is under test).
 *
 * The PostgreSQL schema is generated from the SQLite one with one type per storage class: INTEGER ↔
 * bigint, REAL ↔ double precision, TEXT ↔ text, BLOB ↔ bytea. Booleans and timestamps are already
 * integers (0/1, epoch ms) on both sides and JSON columns are text on both, so a fair comparison needs
 * no leniency, only one representation per class: integers as exact decimals (libSQL in bigint mode,
 * postgres.js with int8 parsed to BigInt: nothing is rounded through a float), doubles as JS numbers
 * (both are IEEE float64), text as the same string, bytes as hex. A value that changed class — an
 * integer that arrived as text, a 1 that became 1.0 text — compares unequal.
 */
function tag(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return `int:${v}`;
  if (typeof v === 'number') return `real:${v}`;
  if (typeof v === 'string') return `text:${v}`;
  if (v instanceof ArrayBuffer) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  throw new Error(`unexpected value type ${Object.prototype.toString.call(v)}`);
}

type Dump = Record<string, string[]>;
const normalise = (rows: Array<Record<string, unknown>>): string[] =>
  rows
    .map((r) =>
      JSON.stringify(
        Object.keys(r)
          .sort()
          .map((k) => [k, tag(r[k])]),
      ),
    )
    .sort();

async function dumpSqlite(c: Client): Promise<Dump> {
  const tables = (
    await c.execute(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('schema_migration', 'sqlite_sequence') AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
  ).rows.map((r) => String(r.name));
  const out: Dump = {};
  for (const t of tables) {
    const rs = await c.execute(`SELECT * FROM "${t}"`);
    out[t] = normalise(rs.rows.map((row) => Object.fromEntries(rs.columns.map((col, i) => [col, row[i]]))));
  }
  return out;
}

async function dumpPg(sql: postgres.Sql): Promise<Dump> {
  const tables = (
    await sql<Array<{ name: string }>>`SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migration' ORDER BY table_name`
  ).map((r) => r.name);
  const out: Dump = {};
  for (const t of tables) out[t] = normalise((await sql.unsafe(`SELECT * FROM "${t}"`)).map((r) => ({ ...r })));
  return out;
}

/** The target side's reader: int8 as BigInt (exact), everything else as postgres.js returns it. */
const pgReader = (url: string) => postgres(url, { max: 1, idle_timeout: 1, onnotice: () => {}, types: { bigint: postgres.BigInt } });

test('db copy file → PostgreSQL: every row arrives with its value, a Controller serves from it, sequences continue, --force replaces a used target', {
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-copy-pg-'));
  const source = `file:${join(dir, 'data/controller.db')}`;
  let ctl: Controller | undefined = await startController({ dir, env: { ENCRYPTION_KEY }, timeoutMs: 60_000 });
  let ctl2: Controller | undefined;
  let pg: PgDatabase | undefined;
  let reader: postgres.Sql | undefined;
  try {
    // ── a populated file database ──
    const api = apiOf(ctl);
    const admin = await login(ctl);
    const fogs: string[] = [];
    for (let i = 0; i < FOGS; i++) {
      const r = await api('POST', '/api/v3/iofog', {
        token: admin,
        body: { name: `pg-copy-${i}`, archId: 0, routerMode: 'none', natsMode: 'none' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      fogs.push(r.body.uuid);
    }
    const secret = await api('POST', '/api/v3/secrets', {
      token: admin,
      body: { name: 'db-pass', type: 'Opaque', data: { password: 'czNjcjN0' } },
    });
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
    // A composite-key table with more rows than a batch: one mount linked to every fog.
    const mount = await api('POST', '/api/v3/volumeMounts', { token: admin, body: { name: 'db-pass', secretName: 'db-pass' } });
    assert.equal(mount.status, 200, JSON.stringify(mount.body));
    const link = await api('POST', '/api/v3/volumeMounts/db-pass/link', { token: admin, body: { fogUuids: fogs } });
    assert.ok(link.status < 300, JSON.stringify(link.body));
    const key = await api('GET', `/api/v3/iofog/${fogs[0]}/provisioning-key`, { token: admin });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const edge = new Edgelet(`${ctl.url}/api/v3`);
    assert.equal((await edge.provision(key.body.key)).status, 200);
    assert.equal((await edge.getConfig()).status, 200);
    edge.close();
    // The source must be quiet during a copy: the Controller is stopped, as the runbook says.
    await ctl.stop();
    ctl = undefined;

    // What the source holds, read by libSQL itself before the copy (the copy's own summary is under test too).
    const a = createClient({ url: source, intMode: 'bigint' });
    const sourceDump = await dumpSqlite(a);
    a.close();
    assert.equal(sourceDump.fog!.length, FOGS, 'the dump reads what was written');
    assert.ok(sourceDump.secret!.some((r) => r.includes('"text:db-pass"')));

    // ── copy into an empty PostgreSQL database, in batches of 3 so that tables are paged ──
    pg = await emptyPgDatabase();
    const copy = await runBundle(['db', 'copy', '--from', source, '--to', pg.url, '--batch', '3'], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(copy.json.ok, true, copy.stdout);
    assert.deepEqual(copy.json.cleared, [], 'an empty database is not "cleared"');
    assert.deepEqual(
      Object.fromEntries(copy.json.tables.map((t: { table: string; source: number; target: number }) => [t.table, [t.source, t.target]])),
      Object.fromEntries(Object.entries(sourceDump).map(([t, rows]) => [t, [rows.length, rows.length]])),
      'per table: source and target counts as the copy reports them, equal to what the source holds',
    );
    assert.equal(sourceDump.volume_mount_fog!.length, FOGS, 'a composite-key table with more rows than a batch');
    assert.equal(sourceDump.fog_public_key!.length, 1, "the provisioned agent's public key");

    reader = pgReader(pg.url);
    const targetDump = await dumpPg(reader);
    assert.deepEqual(Object.keys(targetDump), Object.keys(sourceDump), 'the same tables on both sides');
    for (const t of Object.keys(sourceDump)) {
      assert.equal(targetDump[t]!.length, sourceDump[t]!.length, `${t}: row count`);
      assert.deepEqual(targetDump[t], sourceDump[t], `${t}: every row, every column, value and storage class`);
    }
    const ledger = (await reader`SELECT id FROM schema_migration ORDER BY id`).map((r) => Number(r.id));
    assert.deepEqual(
      ledger,
      pgMigrations.map((m) => m.id),
      'the target carries the PostgreSQL migrations (the Controller will not re-run them)',
    );
    const maxSecretId = Number((await reader`SELECT max(id) AS m FROM secret`)[0]!.m);
    const maxAuditId = Number((await reader`SELECT coalesce(max(id), 0) AS m FROM audit_event`)[0]!.m);

    // ── a Controller on the PostgreSQL copy, same ENCRYPTION_KEY ──
    ctl2 = await startController({ env: { ENCRYPTION_KEY, DB_URL: pg.url }, timeoutMs: 60_000 });
    const api2 = apiOf(ctl2);
    const admin2 = await login(ctl2);
    const read = await api2('GET', '/api/v3/secrets/db-pass', { token: admin2 });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.deepEqual(read.body.data, { password: 'czNjcjN0' }, 'the encrypted secret decrypts on PostgreSQL');
    const list = await api2('GET', '/api/v3/iofog-list', { token: admin2 });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body.fogs.map((f: { uuid: string }) => f.uuid).sort(), [...fogs].sort());
    const mounts = await api2('GET', '/api/v3/volumeMounts/db-pass', { token: admin2 });
    assert.equal(mounts.status, 200, JSON.stringify(mounts.body));
    const moved = new Edgelet(`${ctl2.url}/api/v3`);
    await moved.loadCredentials({ uuid: edge.uuid, privateKey: edge.privateKeyB64 });
    const cfg = await moved.getConfig();
    assert.equal(cfg.status, 200, `the agent authenticates with its key against PostgreSQL: ${JSON.stringify(cfg.body)}`);
    moved.close();
    // Without setval the identity sequences would still start at 1 and these inserts would collide
    // with copied ids (a 500 on a unique violation).
    const fresh = await api2('POST', '/api/v3/secrets', {
      token: admin2,
      body: { name: 'after-move', type: 'Opaque', data: { k: 'dg==' } },
    });
    assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
    const freshId = Number((await reader`SELECT id FROM secret WHERE name = 'after-move'`)[0]!.id);
    assert.equal(freshId, maxSecretId + 1, 'the new secret gets the id after the copied ones');
    const newAudit = await reader`SELECT min(id) AS m FROM audit_event WHERE id > ${maxAuditId}`;
    if (newAudit[0]!.m !== null) assert.equal(Number(newAudit[0]!.m), maxAuditId + 1, 'audit events continue after the copied ones');
    await ctl2.stop();
    ctl2 = undefined;

    // ── the target is now in use: refused without --force, and left as it was ──
    const refused = await runBundle(['db', 'copy', '--from', source, '--to', pg.url], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /already holds data.*--force/);
    assert.equal((await reader`SELECT count(*)::int AS n FROM secret WHERE name = 'after-move'`)[0]!.n, 1);

    const forced = await runBundle(['db', 'copy', '--from', source, '--to', pg.url, '--force', '--batch', '7'], {
      cwd: dir,
      timeoutMs: 120_000,
    });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.json.ok, true, forced.stdout);
    assert.ok(
      forced.json.cleared.some((t: { table: string }) => t.table === 'secret'),
      'the used tables were emptied first',
    );
    const afterForce = await dumpPg(reader);
    assert.deepEqual(afterForce, sourceDump, '--force replaced the target with exactly the source');
    // The sequences were moved again (down, past the source's largest id): the next insert continues there.
    await reader`INSERT INTO secret (name, type, data_enc, created_at, updated_at)
      SELECT 'seq-probe', type, data_enc, created_at, updated_at FROM secret WHERE name = 'db-pass'`;
    assert.equal(Number((await reader`SELECT id FROM secret WHERE name = 'seq-probe'`)[0]!.id), maxSecretId + 1);
  } finally {
    await reader?.end();
    await ctl?.stop('SIGKILL');
    await ctl2?.stop('SIGKILL');
    await pg?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
