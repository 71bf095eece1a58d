// Fleet benchmark: N simulated Edgelet agents (tests/harness/edgelet.ts) against the built bundle
// started as a real process on a fresh directory — or against several instances behind HAProxy, on
// libSQL or PostgreSQL, several configurations one after another in one invocation (see "Databases").
//
// 1. Provision (bounded concurrency): the operator creates a fog and fetches its provisioning key;
//    the agent provisions and runs Edgelet's post-provision sequence (registries, volume
//    mounts, microservices, PATCH config, PUT status). `provisionSec` covers all of it.
// 2. Ramp: agents start one after another over `--ramp` seconds (default N / 55, at least 10: a
//    faster ramp overloads the server with the agents' first cycles, and the agents that waited
//    in that backlog stay bunched — each schedules its next call a period after the last one
//    ended, as Edgelet does — so the hold then measures load waves (1,700–4,000 req/s at 3,000
//    offered), not the steady fleet; at 10,000 agents p99 was 158–1,286 ms with --ramp 60,
//    81–631 ms with 180).
//    Each agent then runs PUT /agent/status every 10 s and a full changes cycle (GET
//    /agent/config/changes + the PATCH acknowledgement Edgelet sends after every poll; the first
//    cycle is Edgelet's initialization cycle) every 10 s, both jittered ±10 %: ≈ 0.3 × N req/s.
// 3. Settle: one period after the last start, wait (at most --settle-max s) until the backlog the
//    ramp may have built is gone (few requests in flight for 2 s). `settleSec`/`settled` report it;
//    an overloaded server never settles and is then measured saturated.
// 4. Hold (`--hold` s), measured: client-side latency (send → response end, signing excluded;
//    includes waiting for a free socket), errors by "<status> <code>", achieved req/s, server RSS
//    (VmRSS of the controller process; peak sampled every 0.5 s over the whole run), server CPU (all
//    threads, and the event-loop thread alone as serverMainThreadCpuPct), generator CPU
//    (this process, % of one core).
// Prints ONE JSON document on stdout; progress goes to stderr.
//
//   node tests/bench/fleet.mjs --agents 1000 --ramp 20 --hold 60 [--runtime node|deno|bun]
//   npx tsx tests/bench/fleet.ts   (same flags)
//   other flags: --client lean|node (default lean: one LeanHttpPool from tests/harness/lean-http.ts,
//   the same requests on the wire as node:http for about 30 % less generator CPU — which the
//   server shares this machine with; node: the agents share one keep-alive http.Agent; operator
//   calls always use node:http),
//   --sockets 256 (keep-alive sockets shared by all agents), --concurrency 16
//   (provisioning), --period 10 (seconds), --settle-max 60 (seconds), --no-boot (skip the
//   post-provision sequence), --timeline (add per-second "<responses>/<max ms>/<generator loop lag ms>" over the whole run)
//   env BENCH_SERVER_NODE_ARGS="--cpu-prof" passes flags to the server's node;
//   env BENCH_SERVER_ENV="LOG_LEVEL=debug,K=V" adds (or overrides) server environment variables;
//   --server-output FILE writes what the server printed (e.g. with --trace-gc) to FILE at the end
//   (every instance's output, headed by its name; with several configurations FILE.<n> per configuration).
//   --server-cpus 0 / --client-cpus 1 pin the server (with every thread it starts) and this generator to
//   those cores with taskset, so a capacity number is the server's alone (the machine has 2 cores).
//   "The server" is everything that serves the fleet: every Controller instance, PostgreSQL (its
//   own cluster is started under taskset, so the postmaster and every backend it forks later inherit
//   the cores; an existing server with BENCH_PG_DATA is pinned with `taskset -a -p` on the postmaster
//   and its children before the first instance connects) and HAProxy. The output's `pinning` says
//   what ran where, as the kernel reported it.
//   --bundle PATH runs another build of the server (e.g. an older commit's dist/controller.mjs) under the
//   same generator, for before/after comparisons.
//   --storm: a boot storm. After provisioning, every agent restarts within --ramp seconds (Edgelet's
//   restart: probe, registries, volume mounts, microservices, PATCH config, then an initialization
//   cycle), with Edgelet's retries (4 attempts, 1/2/4 s, fresh token each) as after a site power cut.
//   Reports `storm`: the slowest request and the 503s while it lasts, the handshakes the kernel dropped
//   (`listenOverflows`: the server's accept queue was full), and how long after the last
//   restart every agent completed a successful change cycle (`allSteadySec`, bounded by --steady-max).
//
// Databases and instances (tests/bench/fleet-servers.ts):
//   --db libsql (default): the embedded file, as before. --db postgres: a throw-away PostgreSQL cluster
//   of the bench's own (tests/harness/postgres.ts; durability defaults except synchronous_commit=off,
//   the same promise as libSQL's WAL with synchronous=NORMAL — BENCH_PG_SETTINGS in fleet-servers.ts;
//   BENCH_PG_OPTIONS="-c k=v …" adds settings), or an existing server: BENCH_PG_URL (else TEST_PG_URL),
//   a superuser URL where each configuration gets a new database; BENCH_PG_DATA=<its data directory>
//   lets the bench find (postmaster.pid), pin and measure its processes.
//   --instances N (default 1): N Controller instances on one database behind a real HAProxy
//   (tests/harness/haproxy.ts), sharing ENCRYPTION_KEY and HAProxy's URL as CONTROLLER_PUBLIC_URL;
//   agents and the operator go through HAProxy. On libSQL the N instances share one embedded file.
//   --haproxy puts HAProxy in front of a single instance too (to separate the proxy's cost from the
//   second instance's). --lb-maxconn N: HAProxy sends each instance at most N requests at once and
//   queues the rest; --lb-queue S: a request queued longer than S seconds gets HAProxy's retryable 503
//   (docs/operations.md, "Boot storms on Node").
//   --db both: a side-by-side comparison in one invocation, one configuration after another with the
//   same agents/ramp/hold: libsql x1, postgres x1, and postgres xN when --instances N > 1. Each
//   configuration starts from nothing (new directories, a new cluster or database) and is stopped
//   before the next starts.
//   Output: one configuration prints the document below; several print
//   {"bench":"fleet","compare":[one summary row per configuration],"runs":[the full document of each]}.
//   A configuration that fails is reported with its `error` in place and the next one still runs.
//   Added to the document: `db`, `instances`, `loadBalancer`; server* figures are sums over the
//   instances (`perInstance` has each one's, with the requests HAProxy sent it over the hold);
//   `postgres.cpuPct` / `postgres.cpuMsPerRequest`: the postmaster and all its processes over the hold
//   (utime+stime from /proc, backends that exited during the hold included through the postmaster's
//   cutime/cstime), `haproxy` likewise, and `serverSideCpuMsPerRequest` = Controllers + PostgreSQL +
//   HAProxy per request: what the fleet costs the serving side.
//   CPU per request needs BENCH_SERVER_ENV=JOBS_ENABLED=false unless the hold is long: right after
//   provisioning, the platform jobs generate keys for every new fog (RSA, in the libuv threadpool), and
//   in a short hold that work, not the requests, dominates the Controllers' CPU (300 agents, 20 s hold:
//   5.6–9.7 ms per request with jobs on, 1.3–1.9 ms with them off).
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ADMIN, type Runtime } from '../harness/process';
import { Edgelet, errorKey, isSuccess } from '../harness/edgelet';
import { LeanHttpPool } from '../harness/lean-http';
import { type BenchConfig, type BenchDb, configName, type ServerSet, startServers } from './fleet-servers';
import { allowedCpus, benchServerEnv, listenOverflows, machineJiffies, processCpuMs, processTreeCpuMs, rssMb } from './proc-cpu';

const argv = process.argv.slice(2);
const arg = (name: string, d: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : d;
};
const num = (name: string, d: number, min: number) => {
  const v = Number(arg(name, String(d)));
  if (!Number.isFinite(v) || v < min) fatal(`--${name} must be a number ≥ ${min}`);
  return v;
};
const AGENTS = Math.floor(num('agents', 200, 1));
const RAMP = num('ramp', Math.max(10, Math.ceil(AGENTS / 55)), 0);
const HOLD = num('hold', 30, 1);
const SOCKETS = Math.floor(num('sockets', 256, 1));
const CONCURRENCY = Math.floor(num('concurrency', 16, 1));
const PERIOD_MS = num('period', 10, 1) * 1000;
const SETTLE_MAX = num('settle-max', 60, 0);
const BOOT = !argv.includes('--no-boot');
const TIMELINE = argv.includes('--timeline');
const RUNTIME = arg('runtime', 'node') as Runtime;
const SERVER_OUTPUT = arg('server-output', '');
if (!['node', 'deno', 'bun'].includes(RUNTIME)) fatal('--runtime must be node, deno or bun');
const SERVER_CPUS = arg('server-cpus', '');
const BUNDLE_PATH = arg('bundle', '');
const CLIENT_CPUS = arg('client-cpus', '');
const STORM = argv.includes('--storm');
const STEADY_MAX = num('steady-max', 180, 1);
const CLIENT = arg('client', 'lean');
if (!['lean', 'node'].includes(CLIENT)) fatal('--client must be lean or node');
const DB = arg('db', 'libsql');
if (!['libsql', 'postgres', 'both'].includes(DB)) fatal('--db must be libsql, postgres or both');
const INSTANCES = Math.floor(num('instances', 1, 1));
const FORCE_LB = argv.includes('--haproxy');
const LB_MAXCONN = argv.includes('--lb-maxconn') ? Math.floor(num('lb-maxconn', 0, 1)) : undefined;
const LB_QUEUE = argv.includes('--lb-queue') ? Math.floor(num('lb-queue', 10, 1)) : undefined;

/** The configurations this invocation runs, in order (see the header: --db, --instances, --haproxy). */
function plan(): BenchConfig[] {
  const one = (db: BenchDb, instances: number): BenchConfig => ({
    db,
    instances,
    lb: instances > 1 || FORCE_LB,
    lbLimits: { serverMaxconn: LB_MAXCONN, queueTimeoutSec: LB_QUEUE },
  });
  if (DB !== 'both') return [one(DB as BenchDb, INSTANCES)];
  return [one('libsql', 1), one('postgres', 1), ...(INSTANCES > 1 ? [one('postgres', INSTANCES)] : [])];
}
const CONFIGS = plan();

function fatal(message: string, extra: Record<string, unknown> = {}): never {
  console.log(JSON.stringify({ bench: 'fleet', error: message, ...extra }, null, 2));
  process.exit(1);
}
/** A configuration that cannot be measured: reported in its place, and the next configuration still runs. */
class RunFailed extends Error {
  constructor(
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
const log = (m: string) => process.stderr.write(`[fleet] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await fn(i);
      }
    }),
  );
}

const pct = (ms: number, holdSec: number) => +((ms / (holdSec * 1000)) * 100).toFixed(1);
const perRequest = (ms: number, requests: number) => (requests ? +(ms / requests).toFixed(3) : null);

/** One configuration: servers up, provision, ramp, settle, hold, servers down; the result document. */
async function runConfig(cfg: BenchConfig, index: number): Promise<Record<string, unknown>> {
  // ── servers ──
  const servers: ServerSet = await startServers(cfg, {
    runtime: RUNTIME,
    cpus: SERVER_CPUS || undefined,
    bundle: BUNDLE_PATH || undefined,
    env: {
      LOG_LEVEL: 'warn',
      AUTH_RATE_LIMIT_ENABLED: 'false',
      ...benchServerEnv(),
    },
    timeoutMs: 60_000,
    nodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean),
    log,
  }).catch((err: Error) => {
    throw new RunFailed(`servers did not start: ${err.message.slice(0, 2000)}`);
  });
  const pids = servers.controllers.map((c) => c.proc.pid);
  const pgPid = servers.pg?.postmasterPid;
  const lbPid = servers.haproxy?.proc.pid;
  const rssStart = pids.map((p) => rssMb(p));
  const rssPeak = [...rssStart];
  const sampler = setInterval(() => {
    for (const [i, p] of pids.entries()) rssPeak[i] = Math.max(rssPeak[i]!, rssMb(p));
  }, 500);
  const api = `${servers.url}/api/v3`;
  const agent = Edgelet.createAgent({ maxSockets: SOCKETS });
  // The agents' transport (--client lean); the operator calls below keep using `agent`.
  const leanPool = CLIENT === 'lean' ? new LeanHttpPool({ host: '127.0.0.1', port: servers.port, maxSockets: SOCKETS }) : undefined;

  let stopped: Promise<Array<number | null>> | undefined;
  const stopServers = () => {
    stopped ??= (async () => {
      clearInterval(sampler);
      const codes = await servers.stop({
        serverOutput: SERVER_OUTPUT ? (CONFIGS.length > 1 ? `${SERVER_OUTPUT}.${index + 1}` : SERVER_OUTPUT) : undefined,
      });
      agent.destroy();
      leanPool?.destroy();
      return codes;
    })();
    return stopped;
  };
  const outputTail = () => servers.controllers.map((c) => c.output().slice(-2000)).join('\n');

  try {
    return await measure();
  } finally {
    await stopServers();
  }

  async function measure(): Promise<Record<string, unknown>> {
    // ── operator (user API) over the same keep-alive agent ──
    function call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: servers.port,
            method,
            path,
            agent,
            headers: {
              'content-type': 'application/json',
              ...(token ? { authorization: `Bearer ${token}` } : {}),
              ...(payload ? { 'content-length': String(Buffer.byteLength(payload)) } : {}),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => {
              let parsed: unknown = text;
              try {
                parsed = text ? JSON.parse(text) : undefined;
              } catch {}
              resolve({ status: res.statusCode ?? 0, body: parsed });
            });
          },
        );
        req.on('error', reject);
        if (payload) req.write(payload);
        req.end();
      });
    }
    let adminToken = '';
    async function login(): Promise<void> {
      const r = await call('POST', '/api/v3/user/login', undefined, { email: ADMIN.email, password: ADMIN.password });
      if (r.status !== 200 || !r.body?.accessToken) throw new RunFailed(`admin login failed: ${r.status} ${JSON.stringify(r.body)}`);
      adminToken = r.body.accessToken;
    }
    /** An operator call that, like a real client, retries an overload 503 a few times after about a second. */
    async function admin(method: string, path: string, body?: unknown) {
      let r = await call(method, path, adminToken, body);
      for (let attempt = 1; attempt <= 5 && r.status === 503; attempt++) {
        await new Promise((res) => setTimeout(res, 1000 * attempt * (0.5 + Math.random())));
        r = await call(method, path, adminToken, body);
      }
      if (r.status === 401) {
        await login();
        r = await call(method, path, adminToken, body);
      }
      return r;
    }

    // ── measurement ──
    const latencies: number[] = [];
    const errors: Record<string, number> = {};
    const rampErrors: Record<string, number> = {};
    // The boot storm (--storm) is measured from the first restart until every agent is steady.
    const stormStatuses: Record<string, number> = {};
    const stormLatencies: number[] = [];
    let stormPhase = false;
    const timeline: Array<{ n: number; maxMs: number; lagMs?: number }> = [];
    const runStart = performance.now();
    const runStartEpochMs = Date.now();
    // The generator's own event-loop delay: a response that arrives while this process is busy (signing,
    // scheduling, parsing other responses) is counted late — client-side latency includes it.
    const generatorLoop = monitorEventLoopDelay({ resolution: 10 });
    let lagProbe = performance.now();
    const lagTimer = TIMELINE
      ? setInterval(() => {
          const now = performance.now();
          const b = (timeline[Math.floor((now - runStart) / 1000)] ??= { n: 0, maxMs: 0 });
          b.lagMs = Math.max(b.lagMs ?? 0, Math.round(now - lagProbe - 50));
          lagProbe = now;
        }, 50)
      : undefined;
    let measuring = false;
    let stopping = false;
    let requests = 0;
    let inflight = 0;
    const onSend = () => void inflight++;
    const observe = (r: { status: number; ms: number; body: unknown; error?: string }) => {
      inflight--;
      if (TIMELINE) {
        const b = (timeline[Math.floor((performance.now() - runStart) / 1000)] ??= { n: 0, maxMs: 0 });
        b.n++;
        b.maxMs = Math.max(b.maxMs, Math.round(r.ms));
      }
      if (stormPhase) {
        stormLatencies.push(r.ms);
        const k = isSuccess(r.status, r.body) ? String(r.status) : errorKey(r);
        stormStatuses[k] = (stormStatuses[k] ?? 0) + 1;
      }
      if (measuring) {
        requests++;
        latencies.push(r.ms);
        if (!isSuccess(r.status, r.body)) errors[errorKey(r)] = (errors[errorKey(r)] ?? 0) + 1;
      } else if (!isSuccess(r.status, r.body) && !stopping) rampErrors[errorKey(r)] = (rampErrors[errorKey(r)] ?? 0) + 1;
    };
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const stopLoad = () => {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      if (lagTimer) clearInterval(lagTimer);
    };

    // ── provision ──
    await login();
    log(`${configName(cfg)}: controller (${RUNTIME}) pid ${pids.join(', ')} on ${servers.url}; provisioning ${AGENTS} agents`);
    const sims: Edgelet[] = new Array(AGENTS);
    const t0 = performance.now();
    let provisionFailure = '';
    async function provisionOne(i: number): Promise<void> {
      const fog = await admin('POST', '/api/v3/iofog', { name: `bench-${i}`, archId: 1, routerMode: 'none', natsMode: 'none' });
      if (fog.status !== 201) return void (provisionFailure ||= `create fog: ${fog.status} ${JSON.stringify(fog.body)}`);
      const key = await admin('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`);
      if (key.status !== 201) return void (provisionFailure ||= `provisioning key: ${key.status} ${JSON.stringify(key.body)}`);
      // Provisioning and boot retry a 503 as Edgelet does (a loaded machine sheds); the measured cycles
      // retry only in a storm run, so that a shed request in the hold counts as an error.
      const edge = new Edgelet(api, { archId: 1, agent, pool: leanPool, observe, onSend, cycleHistory: 2, retry: true });
      const prov = await edge.provision(key.body.key);
      if (prov.status !== 200) return void (provisionFailure ||= `provision: ${prov.status} ${JSON.stringify(prov.body)}`);
      if (BOOT) {
        const failed = (await edge.boot()).find((r) => !isSuccess(r.status, r.body));
        if (failed) return void (provisionFailure ||= `boot: ${errorKey(failed)} ${JSON.stringify(failed.body)}`);
      }
      edge.opts.retry = STORM;
      sims[i] = edge;
    }
    await pool(AGENTS, CONCURRENCY, async (i) => {
      if (provisionFailure) return;
      try {
        await provisionOne(i);
      } catch (err) {
        provisionFailure ||= `agent ${i}: ${(err as Error).message}`;
      }
    });
    if (provisionFailure) {
      stopLoad();
      const codes = await stopServers();
      throw new RunFailed(provisionFailure, { serverExit: codes.length > 1 ? codes : codes[0], serverOutput: outputTail() });
    }
    const provisionSec = (performance.now() - t0) / 1000;
    const rssAfterProvision = pids.map((p) => rssMb(p));
    log(`provisioned in ${provisionSec.toFixed(1)} s; ramping over ${RAMP} s`);

    // ── ramp + hold ──
    const later = (ms: number, fn: () => Promise<unknown>) => {
      const t = setTimeout(async () => {
        timers.delete(t);
        if (stopping) return;
        try {
          await fn();
        } catch (err) {
          const k = `exception ${(err as Error).message}`;
          errors[k] = (errors[k] ?? 0) + 1;
        }
      }, ms);
      timers.add(t);
    };
    const jitter = () => PERIOD_MS * (0.9 + Math.random() * 0.2);
    function loop(fn: () => Promise<unknown>, firstDelay: number) {
      later(firstDelay, async () => {
        await fn();
        if (!stopping) loop(fn, jitter());
      });
    }
    // Storm bookkeeping: when each agent's restart began, and when it first completed a good change cycle after it.
    const restartAt = new Float64Array(AGENTS);
    const steadyAt = new Float64Array(AGENTS);
    stormPhase = STORM;
    const overflowsBefore = listenOverflows();
    sims.forEach((s, i) => {
      later((i / AGENTS) * RAMP * 1000, async () => {
        if (STORM) {
          restartAt[i] = performance.now();
          await s.restart();
        }
        loop(() => s.putStatus(), Math.random() * PERIOD_MS);
        loop(
          async () => {
            const c = await s.changeCycle();
            if (STORM && c.ok && steadyAt[i] === 0) steadyAt[i] = performance.now();
          },
          STORM ? 0 : Math.random() * PERIOD_MS,
        );
      });
    });

    let storm: Record<string, unknown> | undefined;
    if (STORM) {
      await sleep(RAMP * 1000);
      const lastRestart = Math.max(...restartAt);
      while (steadyAt.some((t) => t === 0) && performance.now() - lastRestart < STEADY_MAX * 1000) await sleep(250);
      stormPhase = false;
      const overflowsAfter = listenOverflows();
      const steady = steadyAt.filter((t) => t > 0).length;
      stormLatencies.sort((a, b) => a - b);
      const sq = (p: number) =>
        +(stormLatencies[Math.min(stormLatencies.length - 1, Math.ceil(p * stormLatencies.length) - 1)] ?? 0).toFixed(1);
      storm = {
        restartsOverSec: RAMP,
        agentsSteady: steady,
        allSteadySec: steady === AGENTS ? +((Math.max(...steadyAt) - lastRestart) / 1000).toFixed(1) : null,
        requests: stormLatencies.length,
        latencyMs: { p50: sq(0.5), p99: sq(0.99), max: +(stormLatencies.at(-1) ?? 0).toFixed(1) },
        responses: { ...stormStatuses },
        // Handshakes the kernel dropped because the server's accept queue was full (machine-wide counter).
        listenOverflows: overflowsBefore === null || overflowsAfter === null ? null : overflowsAfter - overflowsBefore,
      };
      log(`storm: ${steady}/${AGENTS} agents steady; ${JSON.stringify(storm.latencyMs)}`);
    }
    await sleep(STORM ? PERIOD_MS : RAMP * 1000 + PERIOD_MS);
    const settleStart = performance.now();
    const calm = Math.max(32, SOCKETS / 4);
    let calmSamples = 0;
    while (calmSamples < 4 && performance.now() - settleStart < SETTLE_MAX * 1000) {
      await sleep(500);
      calmSamples = inflight <= calm ? calmSamples + 1 : 0;
    }
    const settled = calmSamples >= 4;
    const settleSec = (performance.now() - settleStart) / 1000;
    log(`${settled ? 'settled' : 'NOT settled (saturated?)'} after ${settleSec.toFixed(1)} s; holding ${HOLD} s`);
    const lbStats0 = await servers.haproxy?.serverStats().catch(() => undefined);
    measuring = true;
    generatorLoop.enable();
    const cpu0 = process.cpuUsage();
    const serverCpu0 = pids.map((p) => processCpuMs(p));
    const serverMainCpu0 = pids.map((p) => processCpuMs(p, p));
    const pgCpu0 = processTreeCpuMs(pgPid);
    const lbCpu0 = processCpuMs(lbPid);
    const machine0 = machineJiffies();
    const requests0 = requests;
    const holdStart = performance.now();
    await sleep(HOLD * 1000);
    measuring = false;
    generatorLoop.disable();
    const holdSec = (performance.now() - holdStart) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const serverCpu = pids.map((p, i) => processCpuMs(p) - serverCpu0[i]!);
    const serverMainCpu = pids.map((p, i) => processCpuMs(p, p) - serverMainCpu0[i]!);
    const pgCpu1 = processTreeCpuMs(pgPid);
    const pgCpu = pgCpu1.ms - pgCpu0.ms;
    const lbCpu = processCpuMs(lbPid) - lbCpu0;
    const machine1 = machineJiffies();
    const holdRequests = requests - requests0;
    const lbStats1 = await servers.haproxy?.serverStats().catch(() => undefined);
    stopLoad();
    const peakDuringRun = pids.map((p, i) => Math.max(rssPeak[i]!, rssMb(p)));
    const pinning = {
      controllers: pids.map((p) => allowedCpus(p) ?? '?'),
      ...(pgPid ? { postgres: allowedCpus(pgPid) ?? '?' } : {}),
      ...(lbPid ? { haproxy: allowedCpus(lbPid) ?? '?' } : {}),
      generator: allowedCpus(process.pid) ?? '?',
    };
    const serverExit = await stopServers();

    latencies.sort((a, b) => a - b);
    const q = (p: number) => +(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0).toFixed(1);
    const cycles = sims.reduce((n, s) => n + s.cycleCount, 0);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const controllerCpu = sum(serverCpu);
    const serverSideCpu = controllerCpu + (servers.pg?.postmasterPid ? pgCpu : 0) + lbCpu;
    return {
      bench: 'fleet',
      config: configName(cfg),
      db: cfg.db,
      instances: cfg.instances,
      loadBalancer: servers.haproxy ? 'haproxy' : 'none',
      runtime: RUNTIME,
      client: CLIENT,
      agents: AGENTS,
      rampSec: RAMP,
      settleSec: +settleSec.toFixed(1),
      settled,
      holdSec: +holdSec.toFixed(1),
      offeredReqPerSec: +((AGENTS * 3) / (PERIOD_MS / 1000)).toFixed(1),
      reqPerSec: +(requests / holdSec).toFixed(1),
      latencyMs: { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: +(latencies[latencies.length - 1] ?? 0).toFixed(1) },
      requests,
      errors,
      rampErrors,
      ...(storm ? { storm } : {}),
      bundle: BUNDLE_PATH || 'dist/controller.mjs',
      serverCpus: SERVER_CPUS || 'any',
      clientCpus: CLIENT_CPUS || 'any',
      pinning,
      // Sums over the instances (one instance: that instance's figures, as before).
      serverRssMb: { start: sum(rssStart), afterProvision: sum(rssAfterProvision), peak: sum(peakDuringRun) },
      serverCpuPct: pct(controllerCpu, holdSec),
      // the event loop's thread alone (the rest: libuv threadpool, GC helpers, libSQL)
      serverMainThreadCpuPct: pct(sum(serverMainCpu), holdSec),
      serverCpuMsPerRequest: perRequest(controllerCpu, holdRequests),
      ...(cfg.instances > 1 || servers.haproxy
        ? {
            perInstance: pids.map((p, i) => ({
              name: `c${i + 1}`,
              pid: p,
              cpuPct: pct(serverCpu[i]!, holdSec),
              mainThreadCpuPct: pct(serverMainCpu[i]!, holdSec),
              rssMb: { start: rssStart[i], afterProvision: rssAfterProvision[i], peak: peakDuringRun[i] },
              // what HAProxy sent this instance over the hold (its `stot` counter)
              holdRequests:
                lbStats0 && lbStats1 ? Number(lbStats1[`c${i + 1}`]?.stot ?? 0) - Number(lbStats0[`c${i + 1}`]?.stot ?? 0) : null,
            })),
          }
        : {}),
      ...(servers.pg
        ? {
            postgres: {
              server: servers.pg.source,
              settings: servers.pg.settings,
              ...(servers.pg.postmasterPid
                ? {
                    // the postmaster and every process it forked (backends of all instances, checkpointer, autovacuum …)
                    cpuPct: pct(pgCpu, holdSec),
                    cpuMsPerRequest: perRequest(pgCpu, holdRequests),
                    processes: pgCpu1.processes,
                  }
                : { cpuPct: null, cpuMsPerRequest: null, unmeasured: servers.pg.unmeasured }),
            },
          }
        : {}),
      ...(servers.haproxy ? { haproxy: { cpuPct: pct(lbCpu, holdSec), cpuMsPerRequest: perRequest(lbCpu, holdRequests) } } : {}),
      // Controllers + PostgreSQL + HAProxy: the serving side's CPU per request
      serverSideCpuMsPerRequest: perRequest(serverSideCpu, holdRequests),
      // every core of the machine, busy (100 = all cores busy): server + generator + kernel + the rest
      machineBusyPct:
        machine1.total > machine0.total ? +((100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total)).toFixed(1) : null,
      machineStealPct:
        machine1.total > machine0.total
          ? +((100 * (machine1.steal - machine0.steal)) / (machine1.total - machine0.total)).toFixed(1)
          : null,
      generatorCpuPct: +(((cpu.user + cpu.system) / 1000 / (holdSec * 1000)) * 100).toFixed(1),
      // how late the generator's event loop ran its callbacks over the hold (ms; resolution 10 ms)
      generatorLoopDelayMs: {
        p50: +(generatorLoop.percentile(50) / 1e6).toFixed(1),
        p99: +(generatorLoop.percentile(99) / 1e6).toFixed(1),
        max: +(generatorLoop.max / 1e6).toFixed(1),
      },
      provisionSec: +provisionSec.toFixed(1),
      changeCycles: cycles,
      sockets: SOCKETS,
      boot: BOOT,
      serverExit: serverExit.length > 1 ? serverExit : serverExit[0],
      // per second since start: "<responses>/<max latency ms>/<generator loop lag ms>"
      ...(TIMELINE
        ? {
            timelineStart: new Date(runStartEpochMs).toISOString(),
            timeline: Array.from(timeline, (b) => `${b?.n ?? 0}/${b?.maxMs ?? 0}/${b?.lagMs ?? 0}`),
          }
        : {}),
    };
  }
}

/** The side-by-side row of one configuration. */
function summaryRow(r: Record<string, any>): Record<string, unknown> {
  if (r.error) return { config: r.config, error: r.error };
  return {
    config: r.config,
    settled: r.settled,
    reqPerSec: r.reqPerSec,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    errors: Object.values(r.errors as Record<string, number>).reduce((a, b) => a + b, 0),
    controllerCpuPct: r.serverCpuPct,
    controllerCpuMsPerRequest: r.serverCpuMsPerRequest,
    postgresCpuPct: r.postgres?.cpuPct ?? null,
    postgresCpuMsPerRequest: r.postgres?.cpuMsPerRequest ?? null,
    haproxyCpuMsPerRequest: r.haproxy?.cpuMsPerRequest ?? null,
    serverSideCpuMsPerRequest: r.serverSideCpuMsPerRequest,
    machineBusyPct: r.machineBusyPct,
    generatorCpuPct: r.generatorCpuPct,
  };
}

// ── main ──
if (CLIENT_CPUS) {
  // Every thread of this process, now and later (they inherit it).
  const r = spawnSync('taskset', ['-a', '-p', '-c', CLIENT_CPUS, String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) fatal(`taskset for the generator failed: ${r.stderr || r.error}`);
}
const results: Array<Record<string, unknown>> = [];
for (const [i, cfg] of CONFIGS.entries()) {
  if (CONFIGS.length > 1) log(`── configuration ${i + 1}/${CONFIGS.length}: ${configName(cfg)} ──`);
  try {
    results.push(await runConfig(cfg, i));
  } catch (err) {
    if (!(err instanceof RunFailed) && CONFIGS.length === 1) throw err;
    const extra = err instanceof RunFailed ? err.extra : { stack: (err as Error).stack };
    results.push({ bench: 'fleet', config: configName(cfg), error: (err as Error).message, ...extra });
    log(`${configName(cfg)} failed: ${(err as Error).message}`);
  }
}
const failed = results.some((r) => r.error);
if (CONFIGS.length === 1) console.log(JSON.stringify(results[0], null, 2));
else console.log(JSON.stringify({ bench: 'fleet', compare: results.map(summaryRow), runs: results }, null, 2));
process.exit(failed ? 1 : 0);
