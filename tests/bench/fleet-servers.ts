// The serving side of one fleet-bench configuration: the database (the embedded libSQL file, one
// libSQL file shared by several instances, or PostgreSQL), N Controller instances (the built bundle as
// real processes) and, for more than one instance, a real HAProxy in front of them
// (tests/harness/haproxy.ts, the configuration docs/operations.md recommends).
//
// PostgreSQL: a throw-away cluster of its own per configuration (initdb + pg_ctl as the `postgres` user,
// tests/harness/postgres.ts), started under `taskset -c <server cpus>` so that the postmaster and every
// backend it forks later share the Controllers' cores; or an existing server from BENCH_PG_URL (else
// TEST_PG_URL), where each configuration gets a new database. An existing server's CPU can only be
// measured (and pinned) when BENCH_PG_DATA names its data directory on this machine.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startHaproxy, type Haproxy, type HaproxyLimits } from '../harness/haproxy';
import { postmasterPid, startPgClusterWith, type PgCluster } from '../harness/postgres';
import { freePort, startController, type Controller, type Runtime } from '../harness/process';
import { allowedCpus, pinTree } from './proc-cpu';

export type BenchDb = 'libsql' | 'postgres';

export interface BenchConfig {
  db: BenchDb;
  instances: number;
  /** HAProxy in front (always when instances > 1; --haproxy adds it to a single instance too). */
  lb: boolean;
  /** HAProxy's per-instance request limit and queue timeout (--lb-maxconn, --lb-queue; see HaproxyLimits). */
  lbLimits?: HaproxyLimits;
}

export const configName = (c: BenchConfig): string => `${c.db} x${c.instances}${c.lb ? ' haproxy' : ''}`;

/**
 * The bench cluster's settings: PostgreSQL's defaults for durability (fsync and full-page writes on,
 * 128 MB of shared buffers) except synchronous_commit=off, which is what the embedded libSQL file
 * does too (WAL with synchronous=NORMAL: a commit does not wait for the disk; a crash may lose the
 * last commits, never consistency). max_connections leaves room for several instances' pools.
 * BENCH_PG_OPTIONS ("-c name=value …") is appended (later settings win).
 */
export const BENCH_PG_SETTINGS = ['-c shared_buffers=128MB', '-c synchronous_commit=off', '-c max_connections=400'];

export interface BenchPg {
  /** The database the instances share (credentials as given). */
  url: string;
  source: 'own cluster' | 'BENCH_PG_URL' | 'TEST_PG_URL';
  settings: string;
  /** The postmaster, when its processes can be measured on this machine. */
  postmasterPid?: number;
  /** Why PostgreSQL's CPU is not measured, when it is not. */
  unmeasured?: string;
  stop(): Promise<void>;
}

async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function startBenchPg(cpus: string | undefined): Promise<BenchPg> {
  const name = `fleet_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const externalUrl = process.env.BENCH_PG_URL || process.env.TEST_PG_URL;
  if (externalUrl) {
    const url = await createDatabase(externalUrl, name);
    const dataDir = process.env.BENCH_PG_DATA;
    const pid = dataDir ? postmasterPid(dataDir) : undefined;
    // Pinned before any Controller connects: the backends forked for them inherit the postmaster's
    // affinity. Someone else's server gets its own affinity back when the configuration ends.
    const before = pid && cpus ? allowedCpus(pid) : undefined;
    if (pid && cpus) pinTree(pid, cpus);
    return {
      url,
      source: process.env.BENCH_PG_URL ? 'BENCH_PG_URL' : 'TEST_PG_URL',
      settings: 'as configured on that server',
      postmasterPid: pid,
      unmeasured: pid
        ? undefined
        : dataDir
          ? `no postmaster.pid under BENCH_PG_DATA=${dataDir}`
          : 'an existing server: set BENCH_PG_DATA to its data directory to measure (and pin) its processes',
      stop: async () => {
        if (pid && before) pinTree(pid, before);
        await dropDatabase(externalUrl, name);
      },
    };
  }
  const settings = [...BENCH_PG_SETTINGS, ...(process.env.BENCH_PG_OPTIONS ? [process.env.BENCH_PG_OPTIONS] : [])];
  const cluster: PgCluster = await startPgClusterWith({ settings, cpus });
  // A bench that dies (fatal, Ctrl-C) must not leave a postmaster behind.
  const onExit = () => cluster.stopSync();
  process.once('exit', onExit);
  try {
    const url = await createDatabase(cluster.url, name);
    const pid = postmasterPid(join(cluster.dir, 'data'));
    if (cpus && pid && allowedCpus(pid) !== cpus) pinTree(pid, cpus);
    return {
      url,
      source: 'own cluster',
      settings: settings.join(' '),
      postmasterPid: pid,
      unmeasured: pid ? undefined : 'postmaster.pid not found',
      stop: async () => {
        process.off('exit', onExit);
        cluster.stopSync();
      },
    };
  } catch (err) {
    process.off('exit', onExit);
    cluster.stopSync();
    throw err;
  }
}

export interface ServerSet {
  config: BenchConfig;
  /** Where clients connect: HAProxy when there is one, else the one instance. */
  url: string;
  port: number;
  controllers: Controller[];
  haproxy?: Haproxy;
  pg?: BenchPg;
  /** Stops everything this set started; resolves with each instance's exit code. */
  stop(opts?: { serverOutput?: string }): Promise<Array<number | null>>;
}

export interface ServerOptions {
  runtime: Runtime;
  cpus?: string;
  bundle?: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  timeoutMs: number;
  log: (m: string) => void;
}

/**
 * Starts the database, the instances and HAProxy of `config`. The first instance starts alone (it
 * migrates an empty database), the others then side by side, as in tests/e2e/ha.test.ts. Instances
 * behind HAProxy share ENCRYPTION_KEY and name HAProxy as CONTROLLER_PUBLIC_URL: it is the issuer of
 * operator tokens (any instance must verify them) and the audience agents sign their tokens for.
 */
export async function startServers(config: BenchConfig, o: ServerOptions): Promise<ServerSet> {
  const root = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
  const controllers: Controller[] = [];
  let pg: BenchPg | undefined;
  let haproxy: Haproxy | undefined;
  const stop: ServerSet['stop'] = async (s = {}) => {
    const codes = await Promise.all(
      controllers.map(async (c) => {
        const killer = setTimeout(() => c.proc.kill('SIGKILL'), 20_000);
        const { code } = await c.stop('SIGTERM');
        clearTimeout(killer);
        return code;
      }),
    );
    if (s.serverOutput)
      writeFileSync(
        s.serverOutput,
        controllers.map((c, i) => (controllers.length > 1 ? `── instance c${i + 1} (pid ${c.proc.pid}) ──\n` : '') + c.output()).join('\n'),
      );
    await haproxy?.stop();
    await pg?.stop();
    rmSync(root, { recursive: true, force: true });
    return codes;
  };
  try {
    const env: Record<string, string> = { ...o.env };
    if (config.db === 'postgres') {
      pg = await startBenchPg(o.cpus);
      env.DB_URL = pg.url;
      o.log(`PostgreSQL (${pg.source}) postmaster ${pg.postmasterPid ?? '?'} on cores ${allowedCpus(pg.postmasterPid) ?? '?'}`);
    } else if (config.instances > 1) {
      // Several instances on libSQL share one embedded file (SQLite serializes their writes).
      mkdirSync(join(root, 'shared'), { mode: 0o700 });
      env.DB_URL = `file:${join(root, 'shared', 'controller.db')}`;
    }
    const lbPort = config.lb ? await freePort() : undefined;
    if (config.instances > 1) env.ENCRYPTION_KEY = randomBytes(32).toString('base64');
    if (lbPort) env.CONTROLLER_PUBLIC_URL = `http://127.0.0.1:${lbPort}`;
    const start = (i: number) => {
      const dir = join(root, `c${i + 1}`);
      mkdirSync(dir);
      return startController({
        runtime: o.runtime,
        cpus: o.cpus,
        bundle: o.bundle,
        env,
        timeoutMs: o.timeoutMs,
        nodeArgs: o.nodeArgs,
        dir,
      });
    };
    controllers.push(await start(0));
    if (config.instances > 1) {
      const rest = await Promise.allSettled(Array.from({ length: config.instances - 1 }, (_, i) => start(i + 1)));
      for (const r of rest) if (r.status === 'fulfilled') controllers.push(r.value);
      const failed = rest.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    if (lbPort) {
      haproxy = await startHaproxy({
        port: lbPort,
        backends: controllers.map((c, i) => ({ name: `c${i + 1}`, port: c.port })),
        ...config.lbLimits,
      });
      // HAProxy serves the fleet beside the instances: it shares their cores.
      if (o.cpus && haproxy.proc.pid) pinTree(haproxy.proc.pid, o.cpus);
      for (let i = 0; i < controllers.length; i++) await haproxy.waitForState(`c${i + 1}`, 'UP');
    }
    const port = haproxy?.port ?? controllers[0]!.port;
    return { config, url: `http://127.0.0.1:${port}`, port, controllers, haproxy, pg, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
