// Fleet-wide platform reconcile: how long the reconcile worker takes to work through a task for every fog,
// and how long it holds the server's event loop meanwhile (a sampler requests GET /api/v3/live every 10 ms;
// its slowest answer is the stall agents see).
//
//   node tests/bench/reconcile.mjs [--fogs 10000] [--router-mode edge|none] [--runtime node]
//     [--server-cpus 0 --client-cpus 1]   env BENCH_SERVER_ENV="K=V,…" sets server settings,
//   BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" passes flags to the server's node.
//
// Two phases, each timed from the request that enqueues the work to an empty task queue (read from the
// server's database file):
//   provision — N fogs are created; each fog's first reconcile issues its certificates (edge router: site,
//               local and agent certificate, three RSA keys; no router: the agent certificate, one key).
//               This is the kind of change that needs per-fog key generation.
//   hub-moved — the interior router every edge router connects to changes its host: every router fog is
//               reconciled again (new router configuration, certificates kept, no keys; the hub's own
//               certificates are re-issued with new keys, which at a few hundred fogs is most of the time).
//   hub-ports — the hub's ports change: configuration only, for the hub and every edge router.
//               Both only with --router-mode edge (fogs without a router have no upstream).
// Prints ONE JSON document on stdout; progress on stderr.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { ADMIN, startController, type Runtime } from '../harness/process';
import { benchServerEnv } from './proc-cpu';

const argv = process.argv.slice(2);
const arg = (name: string, d: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : d;
};
const FOGS = Number(arg('fogs', '10000'));
const ROUTER_MODE = arg('router-mode', 'edge') as 'edge' | 'none';
const RUNTIME = arg('runtime', 'node') as Runtime;
const SERVER_CPUS = arg('server-cpus', '');
const CLIENT_CPUS = arg('client-cpus', '');
const log = (m: string) => process.stderr.write(`[reconcile] ${m}\n`);
if (CLIENT_CPUS) spawnSync('taskset', ['-a', '-p', '-c', CLIENT_CPUS, String(process.pid)]);

const ctl = await startController({
  runtime: RUNTIME,
  cpus: SERVER_CPUS || undefined,
  env: {
    LOG_LEVEL: 'warn',
    AUTH_RATE_LIMIT_ENABLED: 'false',
    // BENCH_SERVER_ENV="K=V,K=V" adds or overrides server settings (e.g. RECONCILE_CONCURRENCY=1).
    ...benchServerEnv(),
  },
  timeoutMs: 60_000,
  nodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean),
});
const db = createClient({ url: `file:${join(ctl.dir, 'data/controller.db')}` });

async function call(method: string, path: string, token?: string, body?: unknown) {
  const t0 = performance.now();
  const res = await fetch(`${ctl.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, ms: performance.now() - t0, body: text ? JSON.parse(text) : undefined };
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
}

/** Requests /live 10 ms apart until stopped; returns the slowest answer. */
function liveSampler() {
  let stop = false;
  let max = 0;
  let samples = 0;
  const done = (async () => {
    while (!stop) {
      const r = await call('GET', '/api/v3/live');
      max = Math.max(max, r.ms);
      samples++;
      await new Promise((res) => setTimeout(res, 10));
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { maxMs: +max.toFixed(1), samples };
    },
  };
}

/** Waits until no task is pending or in progress; returns how many failed. */
async function drained(label: string): Promise<number> {
  let lastLog = 0;
  for (;;) {
    const r = await db.execute(
      "SELECT SUM(CASE WHEN status <> 'failed' THEN 1 ELSE 0 END) AS open, SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed FROM fog_platform_task",
    );
    const open = Number(r.rows[0]?.open ?? 0);
    if (open === 0) return Number(r.rows[0]?.failed ?? 0);
    if (performance.now() - lastLog > 5_000) {
      log(`${label}: ${open} tasks open`);
      lastLog = performance.now();
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

const token = (await call('POST', '/api/v3/user/login', undefined, { email: ADMIN.email, password: ADMIN.password })).body
  .accessToken as string;
const hub = await call('POST', '/api/v3/iofog', token, {
  name: 'hub',
  archId: 1,
  isSystem: true,
  routerMode: 'interior',
  host: 'hub.example',
  interRouterPort: 55671,
  edgeRouterPort: 45671,
});
if (hub.status !== 201) throw new Error(`hub: ${hub.status} ${JSON.stringify(hub.body)}`);
await drained('hub');

const phases: Array<Record<string, unknown>> = [];
{
  const sampler = liveSampler();
  const t0 = performance.now();
  let maxCreateMs = 0;
  await pool(FOGS, 16, async (i) => {
    const r = await call('POST', '/api/v3/iofog', token, {
      name: `fog-${i}`,
      archId: 1,
      routerMode: ROUTER_MODE,
      natsMode: 'none',
      ...(ROUTER_MODE === 'edge' ? { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } : {}),
    });
    if (r.status !== 201) throw new Error(`fog ${i}: ${r.status} ${JSON.stringify(r.body)}`);
    maxCreateMs = Math.max(maxCreateMs, r.ms);
  });
  const createdMs = performance.now() - t0;
  log(`${FOGS} fogs created in ${(createdMs / 1000).toFixed(1)} s`);
  const failed = await drained('provision');
  const ms = performance.now() - t0;
  const live = await sampler.stop();
  const keys = FOGS * (ROUTER_MODE === 'edge' ? 3 : 1);
  phases.push({
    phase: 'provision',
    needsKeys: true,
    fogs: FOGS,
    rsaKeys: keys,
    createMs: Math.round(createdMs),
    drainMs: Math.round(ms),
    fogsPerSec: +(FOGS / (ms / 1000)).toFixed(1),
    keysPerSec: +(keys / (ms / 1000)).toFixed(1),
    failed,
    liveMaxMs: live.maxMs,
    liveSamples: live.samples,
  });
  log(JSON.stringify(phases.at(-1)));
}
if (ROUTER_MODE === 'edge') {
  // The hub's host moves (its own certificates are re-issued with new keys, then every edge router is
  // reconfigured), then its ports change (configuration only, for the hub and every edge router).
  for (const [phase, change] of [
    ['hub-moved', { host: 'hub-2.example' }],
    ['hub-ports', { interRouterPort: 55672, edgeRouterPort: 45672 }],
  ] as const) {
    const sampler = liveSampler();
    const t0 = performance.now();
    const r = await call('PATCH', `/api/v3/iofog/${hub.body.uuid}`, token, change);
    if (r.status !== 204) throw new Error(`${phase}: ${r.status} ${JSON.stringify(r.body)}`);
    const enqueued = Number((await db.execute('SELECT COUNT(*) AS n FROM fog_platform_task')).rows[0]?.n ?? 0);
    const failed = await drained(phase);
    const ms = performance.now() - t0;
    const live = await sampler.stop();
    phases.push({
      phase,
      needsKeys: false,
      fogs: FOGS,
      enqueued,
      changeRequestMs: +r.ms.toFixed(1),
      drainMs: Math.round(ms),
      fogsPerSec: +(enqueued / (ms / 1000)).toFixed(1),
      failed,
      liveMaxMs: live.maxMs,
      liveSamples: live.samples,
    });
    log(JSON.stringify(phases.at(-1)));
  }
}
db.close();
await ctl.stop('SIGTERM');
console.log(
  JSON.stringify(
    {
      bench: 'reconcile',
      runtime: RUNTIME,
      fogs: FOGS,
      routerMode: ROUTER_MODE,
      serverCpus: SERVER_CPUS || 'any',
      clientCpus: CLIENT_CPUS || 'any',
      phases,
    },
    null,
    2,
  ),
);
process.exit(0);
