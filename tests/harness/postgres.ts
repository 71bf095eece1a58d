// A throw-away PostgreSQL cluster for the tests, and one fresh database per test app.
//
// `npm test` (scripts/test.mjs) starts one cluster per run and hands its URL to every test process in
// TEST_PG_URL; a test file run on its own with TEST_DB=postgres starts its own cluster and stops it at
// exit. TEST_PG_URL may also name an existing server (a superuser URL, e.g. in CI images that have one).
// Databases are copied from a migrated template (CREATE DATABASE … TEMPLATE), which takes a few tens of
// milliseconds instead of running every migration again.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { migrations } from '../../db/migrations-pg/index';
import { migrate, openStore } from '../../db/client';
import { pgDriver } from '../../db/pg-driver';
import { freePort } from './process';

export const PG_INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin: install them (apt-get install -y postgresql); the PostgreSQL test pass runs a real server';

/** The directory holding initdb and pg_ctl of the newest installed PostgreSQL, if any. */
export function pgBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin/initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

/** Whether this test process runs its test apps on PostgreSQL (the server: TEST_PG_URL, or one of its own). */
export const onPostgres = process.env.TEST_DB === 'postgres';

/** `test(..., { skip: sqliteOnly('why') })`: skipped on the PostgreSQL pass, with the reason. */
export const sqliteOnly = (why: string): string | false => (onPostgres ? `SQLite only: ${why}` : false);

export interface PgCluster {
  /** A superuser URL of the `postgres` database. */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** The same, for process 'exit' handlers (nothing asynchronous runs there). */
  stopSync(): void;
  /** The cluster's temp directory (data directory and socket), for stopPgCluster from another process. */
  dir: string;
}

/** Stops a cluster started by startPgCluster (possibly in another process) and removes its files. */
export function stopPgCluster(dir: string): void {
  const bin = pgBinDir();
  if (bin) {
    const [cmd, ...args] = [...asPostgresUser(), join(bin, 'pg_ctl'), '-D', join(dir, 'data'), '-m', 'immediate', 'stop'];
    spawnSync(cmd!, args, { stdio: 'ignore' });
  }
  rmSync(dir, { recursive: true, force: true });
}

const asPostgresUser = (): string[] => (process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : []);

function run(cmd: string[], opts: { quiet?: boolean; cpus?: string } = {}): void {
  // taskset execs runuser, which execs the command: pg_ctl's postmaster and every process it forks inherit the affinity.
  const [bin, ...args] = [...(opts.cpus ? ['taskset', '-c', opts.cpus] : []), ...asPostgresUser(), ...cmd];
  execFileSync(bin!, args, { stdio: opts.quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'] });
}

/** The test clusters' settings: speed over durability (no fsync, small buffers); a crash loses nothing a test needs. */
export const TEST_PG_SETTINGS = [
  '-c fsync=off',
  '-c synchronous_commit=off',
  '-c full_page_writes=off',
  '-c shared_buffers=32MB',
  '-c max_connections=400',
];

/**
 * initdb + start on a free port, tuned for tests (no fsync, small buffers). The data directory is a
 * temp directory owned by the `postgres` OS user when running as root (postgres refuses root).
 */
export function startPgCluster(): Promise<PgCluster> {
  return startPgClusterWith({ settings: TEST_PG_SETTINGS });
}

/**
 * startPgCluster with other server settings (`-c name=value` each), e.g. a benchmark's, and optionally
 * pinned to `cpus` (`taskset -c` list) from its first process on: the postmaster and every process it
 * forks later (backends, checkpointer, autovacuum workers) inherit the affinity.
 */
export async function startPgClusterWith(o: { settings: string[]; cpus?: string }): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error(PG_INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'controller-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  run([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], { quiet: true });
  const port = await freePort();
  const options = [`-p ${port}`, '-c listen_addresses=127.0.0.1', `-k ${dir}`, ...o.settings].join(' ');
  run([join(bin, 'pg_ctl'), '-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start'], { quiet: true, cpus: o.cpus });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = () => stopPgCluster(dir);
  return { url, port, dir, stop: async () => stop(), stopSync: stop };
}

/** The postmaster's pid of a running cluster: the first line of `<data directory>/postmaster.pid`. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

let ownCluster: Promise<PgCluster> | undefined;

/** The server URL of this run: TEST_PG_URL, else a cluster this process starts (stopped at exit). */
async function serverUrl(): Promise<string> {
  if (process.env.TEST_PG_URL) return process.env.TEST_PG_URL;
  ownCluster ??= startPgCluster().then((c) => {
    process.once('exit', () => c.stopSync());
    return c;
  });
  return (await ownCluster).url;
}

const withDb = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/** The template's name changes with the migrations, so a reused server never hands out a stale schema. */
const TEMPLATE = `ctl_tmpl_${createHash('sha256')
  .update(migrations.map((m) => m.hash).join(','))
  .digest('hex')
  .slice(0, 12)}`;
const TEMPLATE_LOCK = 0x7e57;

let admin: postgres.Sql | undefined;
let templateReady: Promise<void> | undefined;
let n = 0;

async function adminSql(): Promise<postgres.Sql> {
  // Idle connections close by themselves so that they never keep a finished test process alive.
  admin ??= postgres(await serverUrl(), { max: 2, idle_timeout: 1, onnotice: () => {}, fetch_types: false });
  return admin;
}

async function ensureTemplate(): Promise<void> {
  const sql = await adminSql();
  await sql.begin(async (tx) => {
    // Test processes run side by side: the first one builds the template, the others wait for it.
    await tx`SELECT pg_advisory_xact_lock(${TEMPLATE_LOCK})`;
    const [found] = await tx`SELECT 1 FROM pg_database WHERE datname = ${TEMPLATE}`;
    if (found) return;
    await sql.unsafe(`CREATE DATABASE ${TEMPLATE}`);
    const store = await openStore(
      () => {
        throw new Error('not libSQL');
      },
      { url: withDb(await serverUrl(), TEMPLATE), busyTimeoutMs: 100, writeWaitMs: 1000, poolMax: 1, pgDriver },
    );
    try {
      await migrate(store);
    } finally {
      await store.close();
    }
  });
}

export interface PgDatabase {
  url: string;
  /** Drops the database (closing whatever is still connected to it). */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own. */
export async function freshPgDatabase(): Promise<PgDatabase> {
  templateReady ??= ensureTemplate();
  await templateReady;
  const sql = await adminSql();
  const name = `ctl_t_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 8)}`;
  await sql.unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  return {
    url: withDb(await serverUrl(), name),
    drop: async () => {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** An empty database (no migrations applied), for tests of the migration itself. */
export async function emptyPgDatabase(): Promise<PgDatabase> {
  const sql = await adminSql();
  const name = `ctl_e_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 8)}`;
  await sql.unsafe(`CREATE DATABASE ${name}`);
  return {
    url: withDb(await serverUrl(), name),
    drop: async () => {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
