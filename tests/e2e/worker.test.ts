// The Cloudflare Workers build (dist/worker.mjs, see wrangler.toml) served by `wrangler dev`, i.e.
// workerd from npm, fully offline.
// - libSQL: there is no libSQL server here, so DB_URL points at a closed port: liveness must still
//   answer, everything else answers 503 CONTROLLER_NOT_READY.
// - PostgreSQL: the run's server (tests/harness/postgres.ts), reached over TCP from workerd: an
//   operator, an agent and cron triggers against an empty database the Worker migrates itself.
// Needs `npm run build` first.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { Edgelet } from '../harness/edgelet';
import { emptyPgDatabase, type PgDatabase } from '../harness/postgres';
import { ADMIN, freePort, jsonApi, ROOT } from '../harness/process';
import { waitFor } from '../harness/wait';

const WORKER = join(ROOT, 'dist/worker.mjs');
const READY_TIMEOUT_MS = 60_000;

/** wrangler is pinned to 4.86.0, the last 4.x release that supports Node 20 (later ones need Node 22). */
function wranglerCommand(): { cmd: string; args: string[] } {
  return { cmd: join(ROOT, 'node_modules/.bin/wrangler'), args: [] };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops wrangler and its workerd children: they all share wrangler's process group. */
async function stopGroup(proc: ChildProcess): Promise<void> {
  const pgid = proc.pid!;
  for (const [signal, waitMs] of [
    ['SIGTERM', 5000],
    ['SIGKILL', 5000],
  ] as const) {
    if (!groupAlive(pgid)) return;
    try {
      process.kill(-pgid, signal);
    } catch {
      /* already gone */
    }
    await waitFor('the process group to exit', () => !groupAlive(pgid), { timeoutMs: waitMs }).catch(() => {});
  }
}

interface Wrangler {
  url: string;
  startupMs: number;
  /** wrangler's and the Worker's output so far (the Controller's JSON lines included). */
  output(): string;
  stop(): Promise<void>;
}

/** `wrangler dev` on dist/worker.mjs with these variables (and wrangler.toml or `config`), answering /api/v3/live. */
async function startWrangler(vars: Record<string, string>, config = join(ROOT, 'wrangler.toml')): Promise<Wrangler> {
  assert.ok(existsSync(WORKER), `${WORKER} is missing: run npm run build first`);
  const home = mkdtempSync(join(tmpdir(), 'controller-wrangler-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { cmd, args } = wranglerCommand();
  const started = Date.now();
  const proc = spawn(
    cmd,
    [
      ...args,
      'dev',
      '--config',
      config,
      '--port',
      String(port),
      '--ip',
      '127.0.0.1',
      '--inspector-port',
      String(await freePort()),
      '--persist-to',
      join(home, 'state'),
      '--show-interactive-dev-session=false',
      // "log" (not "info") so that the Worker's console.log, the Controller's JSON lines, is kept too.
      '--log-level',
      'log',
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    ],
    {
      cwd: ROOT,
      // Own process group, so that stop() can end wrangler and workerd together.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_CACHE_HOME: join(home, '.cache'),
        WRANGLER_CACHE_DIR: join(home, '.cache/wrangler'),
        MINIFLARE_CACHE_DIR: join(home, '.cache/miniflare'),
        CI: '1',
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        // No banner means no npm update check.
        WRANGLER_HIDE_BANNER: 'true',
        DO_NOT_TRACK: '1',
        // Do not download the Request.cf object (offline); the built-in placeholder is used.
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
    },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  let exited = false;
  proc.once('exit', () => (exited = true));
  const stop = async () => {
    const pgid = proc.pid!;
    const t0 = Date.now();
    await stopGroup(proc);
    process.stderr.write(`wrangler dev stopped in ${Date.now() - t0} ms\n`);
    if (process.env.WORKER_TEST_VERBOSE) process.stderr.write(out);
    rmSync(home, { recursive: true, force: true });
    assert.equal(groupAlive(pgid), false, 'wrangler/workerd processes left running');
  };
  const state = await waitFor(
    'wrangler dev to answer /api/v3/live',
    async () => {
      if (exited) return 'exited' as const;
      // Not listening yet is a failed fetch: keep polling.
      const r = await fetch(`${url}/api/v3/live`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
      await r?.arrayBuffer();
      return r?.status === 200 ? ('ready' as const) : false;
    },
    { timeoutMs: started + READY_TIMEOUT_MS - Date.now(), intervalMs: 200 },
  ).catch(() => 'late' as const);
  if (state !== 'ready') {
    await stop().catch(() => {});
    throw new Error(
      state === 'exited' ? `wrangler dev exited during start:\n${out}` : `wrangler dev not ready within ${READY_TIMEOUT_MS} ms:\n${out}`,
    );
  }
  return { url, startupMs: Date.now() - started, output: () => out, stop };
}

/**
 * Fires a cron trigger through Miniflare's endpoint in wrangler dev (wrangler's --test-scheduled
 * /__scheduled needs wrangler's own bundling, which wrangler.toml turns off: the bundle is esbuild's).
 * `time` is the event's scheduledTime.
 */
function fireCron(url: string, cron: string, time?: number): Promise<Response> {
  const q = new URLSearchParams({ cron, ...(time === undefined ? {} : { time: String(time) }) });
  return fetch(`${url}/cdn-cgi/handler/scheduled?${q}`);
}

describe('Workers build under wrangler dev (workerd), libSQL server unreachable', { timeout: 120_000 }, () => {
  let wrangler: Wrangler | undefined;
  let url = '';
  let startupMs = 0;

  before(async () => {
    wrangler = await startWrangler({ DB_URL: 'libsql://127.0.0.1:9', ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    ({ url, startupMs } = wrangler);
  });

  after(async () => {
    await wrangler?.stop();
  });

  test('starts and answers GET /api/v3/live with 200 JSON, status "online"', async (t) => {
    t.diagnostic(`wrangler dev ready after ${startupMs} ms`);
    const r = await fetch(`${url}/api/v3/live`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await r.json()) as { status: string; timestamp: number; uptimeSec: number };
    assert.equal(body.status, 'online');
    assert.ok(Math.abs(body.timestamp - Date.now()) < 60_000, `timestamp ${body.timestamp} is not now`);
    assert.ok(body.uptimeSec >= 0 && body.uptimeSec < 600, `uptimeSec ${body.uptimeSec} is not since start`);
  });

  test('GET /api/v3/status answers 503 CONTROLLER_NOT_READY with Retry-After while the DB is unreachable', async () => {
    const r = await fetch(`${url}/api/v3/status`);
    assert.equal(r.status, 503);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
    const body = (await r.json()) as { code: string; retryable: boolean; requestId: string };
    assert.equal(body.code, 'CONTROLLER_NOT_READY');
    assert.equal(body.retryable, true);
    assert.ok(body.requestId);
  });

  test('a scheduled (cron) event does not take the worker down', async (t) => {
    const r = await fireCron(url, '*/5 * * * *');
    // The job cannot reach the DB here, so the outcome is an exception (500); it must not crash.
    const text = await r.text();
    t.diagnostic(`scheduled: ${r.status} ${text.slice(0, 200)}`);
    assert.ok(r.status === 200 || r.status === 500, `unexpected status ${r.status}: ${text.slice(0, 200)}`);
    assert.ok(!text.includes('CONTROLLER_NOT_READY'), 'the trigger reached scheduled(), not fetch()');
    const live = await fetch(`${url}/api/v3/live`);
    assert.equal(live.status, 200);
    assert.equal(((await live.json()) as { status: string }).status, 'online');
  });
});

describe('Workers build under wrangler dev (workerd), PostgreSQL', { timeout: 240_000 }, () => {
  let wrangler: Wrangler | undefined;
  let db: PgDatabase | undefined;
  // The test's own look into the database the Worker uses.
  let sql: postgres.Sql | undefined;
  let url = '';
  let admin = '';
  let fogUuid = '';
  let provisioningKey = '';
  let agent: Edgelet | undefined;

  const api = (method: string, path: string, opts: { token?: string; body?: unknown } = {}) => jsonApi(url)(method, path, opts);
  const createFog = async (name: string) => {
    const r = await api('POST', '/api/v3/iofog', { token: admin, body: { name, archId: 0, routerMode: 'none', natsMode: 'none' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.uuid as string;
  };

  before(async () => {
    // Empty: the Worker applies the migrations itself at its first request.
    db = await emptyPgDatabase();
    sql = postgres(db.url, { max: 1, idle_timeout: 1, onnotice: () => {}, fetch_types: false });
    wrangler = await startWrangler({
      DB_URL: db.url,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
      OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    });
    url = wrangler.url;
  });

  after(async () => {
    agent?.close();
    await wrangler?.stop();
    await sql?.end({ timeout: 1 });
    await db?.drop();
  });

  test('migrates the empty database and is ready on every request, not every other one', async (t) => {
    t.diagnostic(`wrangler dev ready after ${wrangler!.startupMs} ms`);
    const [migrations] = await sql!<{ n: number }[]>`SELECT count(*)::int AS n FROM schema_migration`;
    assert.ok(migrations!.n > 0, 'the Worker applied the migrations');
    // One connection pool per isolate failed every other request: a connection opened while serving
    // one request cannot be used while serving the next. Each request must find the database.
    for (let i = 0; i < 6; i++) {
      const r = await api('GET', '/api/v3/status');
      assert.equal(r.status, 200, `request ${i}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.status, 'online');
    }
  });

  test('an operator logs in, creates a fog and gets its provisioning key', async () => {
    const login = await api('POST', '/api/v3/user/login', { body: ADMIN });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    admin = login.body.accessToken;
    assert.ok(admin);
    fogUuid = await createFog('edge-w');
    const key = await api('GET', `/api/v3/iofog/${fogUuid}/provisioning-key`, { token: admin });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    provisioningKey = key.body.key;
    assert.ok(provisioningKey);
    const [row] = await sql!<{ name: string }[]>`SELECT name FROM fog WHERE uuid = ${fogUuid}`;
    assert.equal(row?.name, 'edge-w', 'the fog is in PostgreSQL');
  });

  test('an agent provisions, pulls its config, reports its status and polls and acknowledges changes', async () => {
    agent = new Edgelet(`${url}/api/v3`, { archId: 2 });
    const provisioned = await agent.provision(provisioningKey);
    assert.equal(provisioned.status, 200, JSON.stringify(provisioned.body));
    assert.equal(agent.uuid, fogUuid);

    const config = await agent.getConfig();
    assert.equal(config.status, 200, JSON.stringify(config.body));
    const status = await agent.putStatus();
    assert.equal(status.status, 204, JSON.stringify(status.body));
    const init = await agent.changeCycle();
    assert.equal(init.ok, true, JSON.stringify(init.errors));
    assert.equal(init.initialization, true);
    assert.ok(init.acknowledged, 'the initial cycle was acknowledged');

    const fog = await api('GET', `/api/v3/iofog/${fogUuid}`, { token: admin });
    assert.equal(fog.body.daemonStatus, 'RUNNING', 'the operator sees the status the agent reported');

    // An operator command raises a flag; the agent sees it, acknowledges it, and it is gone.
    assert.equal((await api('POST', `/api/v3/iofog/${fogUuid}/reboot`, { token: admin })).status, 204);
    const raised = await agent.pollChanges();
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    assert.equal(raised.body.reboot, true);
    const ack = await agent.ackChanges(raised.body.lastUpdated);
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
    const after = await agent.pollChanges();
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.reboot, false, 'acknowledged flags are cleared');
  });

  test('status reports sent together are each committed by their own request', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => agent!.putStatus({ cpuUsage: 10 + i })));
    assert.deepEqual(
      answers.map((a) => a.status),
      [204, 204, 204, 204, 204, 204],
      JSON.stringify(answers.map((a) => a.body)),
    );
  });

  test("the agent's last activity and used token ids are written after the requests (no timers on Workers)", async () => {
    // What the server writes on timers, the Worker writes after events once due (every 5 s for activity):
    // each check is a request that gives it the occasion.
    const row = await waitFor(
      'fog.last_active and an agent_jti_batch row',
      async () => {
        await (await fetch(`${url}/api/v3/status`)).arrayBuffer();
        const [fog] = await sql!<{ last_active: number | null }[]>`SELECT last_active FROM fog WHERE uuid = ${fogUuid}`;
        const [jtis] = await sql!<{ n: number }[]>`SELECT count(*)::int AS n FROM agent_jti_batch`;
        return fog?.last_active && jtis!.n > 0 ? { lastActive: Number(fog.last_active), batches: jtis!.n } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.ok(Math.abs(row.lastActive - Date.now()) < 120_000, `last_active ${row.lastActive} is recent`);
  });

  test('a list longer than one page streams every page (later pages are read while the body is sent)', async () => {
    // The fog list is read 50 rows at a time; pages after the first are read from the stream's pull.
    for (let i = 0; i < 55; i++) await createFog(`page-${i}`);
    const list = await api('GET', '/api/v3/iofog-list', { token: admin });
    assert.equal(list.status, 200);
    const names = (list.body.fogs as Array<{ name: string }>).map((f) => f.name);
    assert.equal(names.length, 56, 'every fog, across two pages');
    assert.ok(names.includes('edge-w') && names.includes('page-54'));
  });

  test('a cron trigger runs the jobs of its schedule under their job_run lease: fog-status marks a silent agent UNKNOWN', async () => {
    // The agent goes silent: its last report an hour ago, far beyond three missed reports.
    await sql!`UPDATE fog SET last_status_time = ${Date.now() - 3_600_000} WHERE uuid = ${fogUuid}`;
    const time = Date.now();
    const tick = Math.floor(time / 1000) * 1000;
    const r = await fireCron(url, '* * * * *', time);
    const text = await r.text();
    assert.equal(r.status, 200, text.slice(0, 300));

    const runs = await sql!<{ job: string; finished_at: number | null; result: string | null }[]>`
      SELECT job, finished_at, result FROM job_run WHERE tick = ${tick} ORDER BY job`;
    const fogStatus = runs.find((j) => j.job === 'fog-status');
    assert.ok(fogStatus, `a fog-status lease for tick ${tick}: ${JSON.stringify(runs)}`);
    assert.ok(fogStatus.finished_at, 'the run finished');
    assert.deepEqual(JSON.parse(fogStatus.result ?? 'null'), { markedUnknown: 1, removed: 0 });
    // Only the jobs of this schedule ran (the 5-minute token clean-up did not).
    assert.ok(!runs.some((j) => j.job === 'token-cleanup'), JSON.stringify(runs.map((j) => j.job)));

    const fog = await api('GET', `/api/v3/iofog/${fogUuid}`, { token: admin });
    assert.equal(fog.body.daemonStatus, 'UNKNOWN');

    // The same tick again (a second trigger, or another isolate): the lease is taken, the job does not
    // run again (a second run would record its own finish time on the row).
    assert.equal((await fireCron(url, '* * * * *', time)).status, 200);
    const [again] = await sql!<{ finished_at: number }[]>`SELECT finished_at FROM job_run WHERE tick = ${tick} AND job = 'fog-status'`;
    assert.equal(Number(again!.finished_at), Number(fogStatus.finished_at));
  });

  test('every connection the Worker opened is closed by it once its requests and events are done', async () => {
    // Per-request connections end after the answer is sent (in its waitUntil): none is left open…
    await waitFor(
      'no connection from the Worker left on the database',
      async () => {
        const [open] = await sql!<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
        return open!.n === 0 || undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    // …and each was ended by the driver (Terminate sent), not dropped with its request: workerd closes
    // the sockets of a finished request too, which the server counts as an abandoned session.
    const [stats] = await sql!<{ sessions: number; abandoned: number }[]>`
      SELECT sessions::int AS sessions, sessions_abandoned::int AS abandoned FROM pg_stat_database WHERE datname = current_database()`;
    assert.ok(stats!.sessions > 10, `sessions counted: ${stats!.sessions}`);
    assert.equal(stats!.abandoned, 0, `${stats!.abandoned} of ${stats!.sessions} sessions were dropped, not ended`);
  });
});

describe('Workers build under wrangler dev (workerd), PostgreSQL through a Hyperdrive binding (local mode)', { timeout: 120_000 }, () => {
  let wrangler: Wrangler | undefined;
  let db: PgDatabase | undefined;
  let sql: postgres.Sql | undefined;
  let dir = '';

  before(async () => {
    db = await emptyPgDatabase();
    sql = postgres(db.url, { max: 1, idle_timeout: 1, onnotice: () => {}, fetch_types: false });
    // wrangler.toml plus the binding a deployment adds (its id names the Hyperdrive config in the
    // account; under wrangler dev, localConnectionString is where it leads). No DB_URL: the binding is it.
    dir = mkdtempSync(join(tmpdir(), 'controller-hyperdrive-'));
    const config = join(dir, 'wrangler.toml');
    const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8').replace(/^main = .*$/m, `main = ${JSON.stringify(WORKER)}`);
    assert.notEqual(toml, readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'), 'wrangler.toml has a main line');
    // Hyperdrive refuses a connection string without a password; the test cluster authenticates by
    // trust and ignores it (a server with passwords has one in TEST_PG_URL already).
    const target = new URL(db.url);
    if (!target.password) target.password = 'unused-by-trust-auth';
    writeFileSync(
      config,
      `${toml}\n[[hyperdrive]]\nbinding = "HYPERDRIVE"\nid = "00000000000000000000000000000000"\nlocalConnectionString = ${JSON.stringify(target.toString())}\n`,
    );
    wrangler = await startWrangler(
      {
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
        OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      },
      config,
    );
  });

  after(async () => {
    await wrangler?.stop();
    await sql?.end({ timeout: 1 });
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('serves from the database behind the binding', async () => {
    const url = wrangler!.url;
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/api/v3/status`)).status, 200);
    const login = await fetch(`${url}/api/v3/user/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    assert.equal(login.status, 200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const created = await fetch(`${url}/api/v3/iofog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ name: 'via-hyperdrive', archId: 0, routerMode: 'none', natsMode: 'none' }),
    });
    assert.equal(created.status, 201, await created.text());
    const [row] = await sql!<{ name: string }[]>`SELECT name FROM fog WHERE name = 'via-hyperdrive'`;
    assert.equal(row?.name, 'via-hyperdrive', 'the fog is in the database the binding leads to');
  });
});
