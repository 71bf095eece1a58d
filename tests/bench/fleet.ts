// Fleet benchmark: N simulated Edgelet agents against the built bundle as a real process.
// Each agent: PUT /agent/status every 10 s, and a changes cycle (GET /agent/config/changes + the
// PATCH acknowledgement Edgelet sends after every poll) every 10 s, jittered — ≈0.3 × N req/s.
// Ramp, then hold; prints one JSON document.
//   npx tsx tests/bench/fleet.ts --agents 1000 --ramp 20 --hold 60 [--runtime node|deno|bun] [--sockets 256]
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { ADMIN, startController, type Runtime } from '../harness/process';
import { Edgelet } from '../harness/edgelet';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const AGENTS = Number(arg('agents', '200'));
const RAMP = Number(arg('ramp', '10'));
const HOLD = Number(arg('hold', '30'));
const RUNTIME = arg('runtime', 'node') as Runtime;
const SOCKETS = Number(arg('sockets', '256'));
const PERIOD_MS = 10_000;

const ctl = await startController({ runtime: RUNTIME, env: { LOG_LEVEL: 'warn', AUTH_RATE_LIMIT_ENABLED: 'false', }, timeoutMs: 60_000, nodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) });
const url = new URL(ctl.url);
const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS });

function call(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, agent, headers: { 'content-type': 'application/json', ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

const login = JSON.parse((await call('POST', '/api/v3/user/login', {}, JSON.stringify(ADMIN))).text);
const auth = { authorization: `Bearer ${login.accessToken}` };

// Agents provision like Edgelet (tests/harness/edgelet.ts) and sign their tokens the same way; the load
// itself goes over node:http keep-alive sockets, which cost the generator far less than fetch.
type Sim = Edgelet;
const t0 = Date.now();
const sims = await pool<Sim>(AGENTS, 16, async (i) => {
  const fog = JSON.parse((await call('POST', '/api/v3/iofog', auth, JSON.stringify({ name: `bench-${i}`, archId: 1 }))).text);
  const key = JSON.parse((await call('GET', `/api/v3/iofog/${fog.uuid}/provisioning-key`, auth)).text);
  const edge = new Edgelet(`${ctl.url}/api/v3`, { archId: 1 });
  const prov = await edge.provision(key.key);
  if (prov.status !== 200) throw new Error(`provision failed: ${prov.status} ${JSON.stringify(prov.body)}`);
  return edge;
});
const provisionSec = (Date.now() - t0) / 1000;
const token = (s: Sim) => s.token();

const latencies: number[] = [];
const errors: Record<string, number> = {};
let measuring = false;
let requests = 0;
async function timed(s: Sim, method: string, path: string, body?: unknown): Promise<string | undefined> {
  const headers = { authorization: `Bearer ${await token(s)}`, 'request-id': String(process.hrtime.bigint()) };
  const start = performance.now();
  let res: { status: number; text: string };
  try {
    res = await call(method, `/api/v3/agent${path}`, headers, body === undefined ? undefined : JSON.stringify(body));
  } catch (err) {
    if (measuring) errors[`network ${(err as { code?: string }).code ?? 'error'}`] = (errors[`network ${(err as { code?: string }).code ?? 'error'}`] ?? 0) + 1;
    return undefined;
  }
  const ms = performance.now() - start;
  if (measuring) {
    requests++;
    latencies.push(ms);
    if (res.status !== 200 && res.status !== 204) {
      let code = '';
      try {
        code = JSON.parse(res.text).code ?? '';
      } catch {}
      errors[`${res.status} ${code}`.trim()] = (errors[`${res.status} ${code}`.trim()] ?? 0) + 1;
    }
  }
  return res.text;
}


let stopping = false;
const timers: ReturnType<typeof setTimeout>[] = [];
function schedule(s: Sim, startDelay: number) {
  const loop = (what: 'status' | 'changes', delay: number) => {
    timers.push(
      setTimeout(async () => {
        if (stopping) return;
        if (what === 'status') await timed(s, 'PUT', '/status', s.statusBody());
        else {
          const text = await timed(s, 'GET', '/config/changes');
          if (text) {
            try {
              const { lastUpdated } = JSON.parse(text);
              if (lastUpdated) await timed(s, 'PATCH', '/config/changes', { lastUpdated });
            } catch {}
          }
        }
        loop(what, PERIOD_MS * (0.9 + Math.random() * 0.2));
      }, delay),
    );
  };
  loop('status', startDelay);
  loop('changes', startDelay + Math.random() * PERIOD_MS);
}
sims.forEach((s, i) => schedule(s, (i / AGENTS) * RAMP * 1000 + Math.random() * PERIOD_MS));

const rssStart = rssMb(ctl.proc.pid!);
await new Promise((r) => setTimeout(r, (RAMP + PERIOD_MS / 1000) * 1000));
measuring = true;
const cpu0 = process.cpuUsage();
const holdStart = performance.now();
let rssPeak = rssMb(ctl.proc.pid!);
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(ctl.proc.pid!))), 1000);
await new Promise((r) => setTimeout(r, HOLD * 1000));
measuring = false;
const holdSec = (performance.now() - holdStart) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
stopping = true;
timers.forEach(clearTimeout);
await ctl.stop('SIGTERM');
agent.destroy();

latencies.sort((a, b) => a - b);
const q = (p: number) => +(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(1);
console.log(
  JSON.stringify(
    {
      bench: 'fleet',
      runtime: RUNTIME,
      agents: AGENTS,
      rampSec: RAMP,
      holdSec: +holdSec.toFixed(1),
      reqPerSec: +(requests / holdSec).toFixed(1),
      latencyMs: { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: +(latencies[latencies.length - 1] ?? 0).toFixed(1) },
      requests,
      errors,
      serverRssMb: { start: rssStart, peak: rssPeak },
      generatorCpuPct: +(((cpu.user + cpu.system) / 1000 / (holdSec * 1000)) * 100).toFixed(1),
      provisionSec: +provisionSec.toFixed(1),
      sockets: SOCKETS,
    },
    null,
    2,
  ),
);
process.exit(0);
