// Operator reads against a large fleet: how long each list route takes, how big its answer is, and how long
// it holds the server's event loop (every agent request waits that long). A sampler requests GET /api/v3/live
// every 10 ms on its own connection while the list is fetched; its slowest answer is the stall agents see.
//
//   node tests/bench/operator-reads.mjs [--fogs 10000] [--microservices 10000] [--repeat 3] [--runtime node]
//     [--server-cpus 0 --client-cpus 1] [--no-jobs] [--bundle path/to/controller.mjs]
//   env BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" passes flags to the server's node.
// Seeds through the API (fogs, then applications of 100 microservices spread over the fogs; each write also
// leaves an audit event), then prints ONE JSON document on stdout; progress on stderr.
import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { ADMIN, startController, type Runtime } from '../harness/process';

const argv = process.argv.slice(2);
const arg = (name: string, d: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : d;
};
const FOGS = Number(arg('fogs', '10000'));
const MICROSERVICES = Number(arg('microservices', '10000'));
const REPEAT = Number(arg('repeat', '3'));
const RUNTIME = arg('runtime', 'node') as Runtime;
const SERVER_CPUS = arg('server-cpus', '');
const CLIENT_CPUS = arg('client-cpus', '');
const NO_JOBS = argv.includes('--no-jobs');
// Another build of the server (an unminified one for a profile, an older one to compare): an absolute path.
const BUNDLE = arg('bundle', '');
const log = (m: string) => process.stderr.write(`[operator-reads] ${m}\n`);
if (CLIENT_CPUS) spawnSync('taskset', ['-a', '-p', '-c', CLIENT_CPUS, String(process.pid)]);

const ctl = await startController({
  runtime: RUNTIME,
  cpus: SERVER_CPUS || undefined,
  bundle: BUNDLE || undefined,
  // --no-jobs: no background jobs, so nothing reconciles the new fogs and the reads need not wait for it
  // (their platformStatus stays Pending; the lists are read and serialised the same way).
  env: { LOG_LEVEL: 'warn', AUTH_RATE_LIMIT_ENABLED: 'false', ...(NO_JOBS ? { JOBS_ENABLED: 'false' } : {}) },
  timeoutMs: 60_000,
  nodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean),
});
const keepAlive = new Agent({ keepAlive: true, maxSockets: 32 });

function call(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  agent = keepAlive,
): Promise<{ status: number; bytes: number; ms: number; body: any }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const t0 = performance.now();
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
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          let parsed: unknown;
          try {
            parsed = method === 'GET' && buf.length > 100_000 ? undefined : JSON.parse(buf.toString('utf8'));
          } catch {}
          resolve({ status: res.statusCode ?? 0, bytes: buf.length, ms: performance.now() - t0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
}

const token = (await call('POST', '/api/v3/user/login', undefined, { email: ADMIN.email, password: ADMIN.password })).body
  .accessToken as string;
const t0 = performance.now();
await pool(FOGS, 16, async (i) => {
  const r = await call('POST', '/api/v3/iofog', token, {
    name: `fog-${i}`,
    archId: 1,
    routerMode: 'none',
    natsMode: 'none',
    tags: ['bench'],
  });
  if (r.status !== 201) throw new Error(`fog ${i}: ${r.status} ${JSON.stringify(r.body)}`);
});
log(`${FOGS} fogs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const apps = Math.ceil(MICROSERVICES / 100);
await pool(apps, 4, async (a) => {
  const microservices = Array.from({ length: Math.min(100, MICROSERVICES - a * 100) }, (_, k) => ({
    name: `ms-${k}`,
    agentName: `fog-${(a * 100 + k) % Math.max(1, FOGS)}`,
    images: [{ containerImage: 'ghcr.io/acme/reader:1.0', archId: 1 }],
    env: [{ key: 'MODE', value: 'bench' }],
  }));
  const r = await call('POST', '/api/v3/application', token, { name: `app-${a}`, microservices });
  if (r.status !== 201) throw new Error(`application ${a}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
});
log(`${MICROSERVICES} microservices in ${apps} applications; seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
// Each new fog's first platform reconcile issues its agent certificate (an RSA key) in the background;
// the reads are measured after that, so the key generation does not compete with them for the cores.
// (At 10,000 fogs that takes about an hour on a 2-core machine: --no-jobs skips it.)
if (!NO_JOBS) {
  const db = createClient({ url: `file:${join(ctl.dir, 'data/controller.db')}` });
  for (;;) {
    const r = await db.execute("SELECT COUNT(*) AS n FROM fog_platform_task WHERE status <> 'failed'");
    const open = Number(r.rows[0]?.n ?? 0);
    if (open === 0) break;
    log(`waiting for ${open} fog platform tasks`);
    await new Promise((res) => setTimeout(res, 5_000));
  }
  db.close();
  log(`platform settled at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Requests /live every 10 ms until stopped; returns the slowest answer. The sampler is a process of its own
 * (tests/bench/live-sampler.mjs, on the client's cores): timed from this process, it also measured this
 * process receiving a 20 MB answer.
 */
async function liveSampler() {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'live-sampler.mjs'), String(ctl.port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const ready = new Promise<void>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('ready\n')) res();
    });
    child.on('exit', () => rej(new Error('live sampler exited before its first answer')));
  });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  await ready;
  return {
    async stop() {
      child.stdin!.end();
      await exited;
      return JSON.parse(out.slice(out.indexOf('ready\n') + 6)) as { maxMs: number; samples: number };
    },
  };
}

// The list routes whose answers grow with the fleet, whole (as upstream clients ask) and one page.
const routes = [
  '/api/v3/iofog-list',
  '/api/v3/microservices',
  '/api/v3/microservices/system',
  '/api/v3/application',
  '/api/v3/application/system',
  '/api/v3/events',
  '/api/v3/events?limit=1000',
  '/api/v3/iofog-list?limit=100&offset=0',
  '/api/v3/microservices?limit=100&offset=5000',
  '/api/v3/application?limit=10&offset=50',
];
const rows: Array<Record<string, unknown>> = [];
for (const path of routes) {
  for (let k = 0; k < REPEAT; k++) {
    const sampler = await liveSampler();
    await new Promise((r) => setTimeout(r, 100));
    const r = await call('GET', path, token);
    const live = await sampler.stop();
    rows.push({
      path,
      run: k + 1,
      status: r.status,
      ms: +r.ms.toFixed(1),
      bytes: r.bytes,
      liveMaxMs: live.maxMs,
      liveSamples: live.samples,
    });
    log(`${path}: ${r.status} ${r.ms.toFixed(0)} ms, ${(r.bytes / 1e6).toFixed(1)} MB, /live max ${live.maxMs} ms`);
  }
}
await ctl.stop('SIGTERM');
keepAlive.destroy();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
};
const table = routes.map((path) => {
  const runs = rows.filter((r) => r.path === path);
  return {
    path,
    status: runs.map((r) => r.status).join(','),
    msMedian: median(runs.map((r) => r.ms as number)),
    liveMaxMsMedian: median(runs.map((r) => r.liveMaxMs as number)),
    liveMaxMsWorst: Math.max(...runs.map((r) => r.liveMaxMs as number)),
    mb: +((runs[0]?.bytes as number) / 1e6).toFixed(2),
  };
});
console.log(
  JSON.stringify(
    {
      bench: 'operator-reads',
      table,
      runtime: RUNTIME,
      fogs: FOGS,
      microservices: MICROSERVICES,
      serverCpus: SERVER_CPUS || 'any',
      clientCpus: CLIENT_CPUS || 'any',
      jobs: !NO_JOBS,
      rows,
    },
    null,
    2,
  ),
);
process.exit(0);
