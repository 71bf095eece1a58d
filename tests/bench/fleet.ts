// Fleet benchmark: N simulated Edgelet agents (tests/harness/edgelet.ts) against the built bundle
// started as a real process on a fresh directory.
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
//   --server-output FILE writes what the server printed (e.g. with --trace-gc) to FILE at the end.
//   --server-cpus 0 / --client-cpus 1 pin the server (with every thread it starts) and this generator to
//   those cores with taskset, so a capacity number is the server's alone (the machine has 2 cores).
//   --bundle PATH runs another build of the server (e.g. an older commit's dist/controller.mjs) under the
//   same generator, for before/after comparisons.
//   --storm: a boot storm. After provisioning, every agent restarts within --ramp seconds (Edgelet's
//   restart: probe, registries, volume mounts, microservices, PATCH config, then an initialization
//   cycle), with Edgelet's retries (4 attempts, 1/2/4 s, fresh token each) as after a site power cut.
//   Reports `storm`: the slowest request and the 503s while it lasts, and how long after the last
//   restart every agent completed a successful change cycle (`allSteadySec`, bounded by --steady-max).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ADMIN, startController, type Runtime } from '../harness/process';
import { Edgelet, errorKey, isSuccess } from '../harness/edgelet';
import { LeanHttpPool } from '../harness/lean-http';

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

function fatal(message: string, extra: Record<string, unknown> = {}): never {
  console.log(JSON.stringify({ bench: 'fleet', error: message, ...extra }, null, 2));
  process.exit(1);
}
const log = (m: string) => process.stderr.write(`[fleet] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU milliseconds (user + system) the server process (or one of its threads: the main thread's id
 * is the pid) has used so far; clock ticks are 10 ms on Linux.
 */
function serverCpuMs(pid: number | undefined, thread?: number): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8')
      .split(') ')[1]!
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/**
 * Busy, stolen and total jiffies of the whole machine (all cores) from /proc/stat. Steal is time the
 * hypervisor ran something else while this VM wanted a core: counted as busy, and a sign that a
 * run's slowness came from the host.
 */
function machineJiffies(): { busy: number; steal: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), steal: f[7] ?? 0, total };
  } catch {
    return { busy: 0, steal: 0, total: 0 };
  }
}

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

// ── server ──
if (CLIENT_CPUS) {
  // Every thread of this process, now and later (they inherit it).
  const r = spawnSync('taskset', ['-a', '-p', '-c', CLIENT_CPUS, String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) fatal(`taskset for the generator failed: ${r.stderr || r.error}`);
}
const ctl = await startController({
  runtime: RUNTIME,
  cpus: SERVER_CPUS || undefined,
  bundle: BUNDLE_PATH || undefined,
  env: {
    LOG_LEVEL: 'warn',
    AUTH_RATE_LIMIT_ENABLED: 'false',
    ...Object.fromEntries(
      (process.env.BENCH_SERVER_ENV ?? '')
        .split(',')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
  },
  timeoutMs: 60_000,
  nodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean),
});
const pid = ctl.proc.pid;
const rssStart = rssMb(pid);
let rssPeak = rssStart;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 500);
const api = `${ctl.url}/api/v3`;
const agent = Edgelet.createAgent({ maxSockets: SOCKETS });
// The agents' transport (--client lean); the operator calls below keep using `agent`.
const leanPool = CLIENT === 'lean' ? new LeanHttpPool({ host: '127.0.0.1', port: ctl.port, maxSockets: SOCKETS }) : undefined;

async function stopServer(): Promise<number | null> {
  clearInterval(sampler);
  const killer = setTimeout(() => ctl.proc.kill('SIGKILL'), 20_000);
  const { code } = await ctl.stop('SIGTERM');
  clearTimeout(killer);
  agent.destroy();
  if (SERVER_OUTPUT) writeFileSync(SERVER_OUTPUT, ctl.output());
  leanPool?.destroy();
  return code;
}

// ── operator (user API) over the same keep-alive agent ──
function call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: ctl.port,
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
  if (r.status !== 200 || !r.body?.accessToken) {
    await stopServer();
    fatal(`admin login failed: ${r.status} ${JSON.stringify(r.body)}`);
  }
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

// ── provision ──
await login();
log(`controller (${RUNTIME}) pid ${pid} on ${ctl.url}; provisioning ${AGENTS} agents`);
const sims: Edgelet[] = new Array(AGENTS);
const t0 = performance.now();
let provisionFailure = '';
await pool(AGENTS, CONCURRENCY, async (i) => {
  if (provisionFailure) return;
  try {
    await provisionOne(i);
  } catch (err) {
    provisionFailure ||= `agent ${i}: ${(err as Error).message}`;
  }
});
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
if (provisionFailure) {
  const code = await stopServer();
  fatal(provisionFailure, { serverExit: code, serverOutput: ctl.output().slice(-2000) });
}
const provisionSec = (performance.now() - t0) / 1000;
const rssAfterProvision = rssMb(pid);
log(`provisioned in ${provisionSec.toFixed(1)} s; ramping over ${RAMP} s`);

// ── ramp + hold ──
const timers = new Set<ReturnType<typeof setTimeout>>();
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
measuring = true;
generatorLoop.enable();
const cpu0 = process.cpuUsage();
const serverCpu0 = serverCpuMs(pid);
const serverMainCpu0 = serverCpuMs(pid, pid);
const machine0 = machineJiffies();
const requests0 = requests;
const holdStart = performance.now();
await sleep(HOLD * 1000);
measuring = false;
generatorLoop.disable();
if (lagTimer) clearInterval(lagTimer);
const holdSec = (performance.now() - holdStart) / 1000;
const cpu = process.cpuUsage(cpu0);
const serverCpu = serverCpuMs(pid) - serverCpu0;
const serverMainCpu = serverCpuMs(pid, pid) - serverMainCpu0;
const machine1 = machineJiffies();
const holdRequests = requests - requests0;
stopping = true;
for (const t of timers) clearTimeout(t);
const peakDuringRun = Math.max(rssPeak, rssMb(pid));
const serverExit = await stopServer();

latencies.sort((a, b) => a - b);
const q = (p: number) => +(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0).toFixed(1);
const cycles = sims.reduce((n, s) => n + s.cycleCount, 0);
console.log(
  JSON.stringify(
    {
      bench: 'fleet',
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
      serverRssMb: { start: rssStart, afterProvision: rssAfterProvision, peak: peakDuringRun },
      serverCpuPct: +((serverCpu / (holdSec * 1000)) * 100).toFixed(1),
      // the event loop's thread alone (the rest: libuv threadpool, GC helpers, libSQL)
      serverMainThreadCpuPct: +((serverMainCpu / (holdSec * 1000)) * 100).toFixed(1),
      serverCpuMsPerRequest: holdRequests ? +(serverCpu / holdRequests).toFixed(3) : null,
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
      serverExit,
      // per second since start: "<responses>/<max latency ms>/<generator loop lag ms>"
      ...(TIMELINE
        ? {
            timelineStart: new Date(runStartEpochMs).toISOString(),
            timeline: Array.from(timeline, (b) => `${b?.n ?? 0}/${b?.maxMs ?? 0}/${b?.lagMs ?? 0}`),
          }
        : {}),
    },
    null,
    2,
  ),
);
process.exit(0);
