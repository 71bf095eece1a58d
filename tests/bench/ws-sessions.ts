// Exec session benchmark: N concurrent paired exec sessions against the built bundle as a real process.
//
// 1. Set-up: one fog (Edgelet simulator), one RUNNING microservice. The per-resource quota and the per-IP
//    socket limits are raised for the run (env), since every socket comes from 127.0.0.1.
// 2. Users: N user sockets open (bounded concurrency), each waits for its ACTIVATION.
// 3. Agents: for each session an agent socket opens (a fresh agent JWT each). Pairing latency is measured
//    per session from the agent's connect (socket creation, before the handshake) to the ACTIVATION
//    frame the agent receives — the controller-side pairing time plus the handshake.
// 4. Frames: for `--seconds` every user sends STDIN frames in a closed loop (one outstanding per
//    session); the agent echoes STDOUT; round trips/s and frames/s (both directions) are counted.
// 5. Teardown: every user sends CLOSE; the time until the last row is gone is reported.
// With `--instances 2` a real nats-server (WebSocket listener) relays: users on instance A, agents on B.
// Prints ONE JSON document on stdout; progress goes to stderr.
//
//   node tests/bench/ws-sessions.mjs --sessions 1000 [--instances 1|2] [--seconds 10] [--concurrency 200]
//     [--agent-concurrency 20] [--runtime node|deno|bun] [--audit true|false]
//   env BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" passes flags to the server's node.
// --concurrency bounds user sockets opening at once; --agent-concurrency bounds agents connecting at once
// (pairing latency is measured under that many simultaneous connects).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController, type Controller, type Runtime } from '../harness/process';
import { startNats, type NatsServer } from '../harness/nats';
import { FrameSocket, T, bin, text, toWs } from '../harness/ws';
import { bearer, fleetWithRunningMicroservice } from '../harness/ws-fleet';

const argv = process.argv.slice(2);
const arg = (name: string, d: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : d;
};
const sessions = Number(arg('sessions', '1000'));
const instances = Number(arg('instances', '1'));
const seconds = Number(arg('seconds', '10'));
const concurrency = Number(arg('concurrency', '200'));
const agentConcurrency = Number(arg('agent-concurrency', '20'));
const runtime = arg('runtime', 'node') as Runtime;
const log = (m: string) => process.stderr.write(`[ws-bench] ${m}\n`);

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** utime+stime of a process in ms (from /proc/<pid>/stat; 100 ticks/s). */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

const env = {
  WS_EXEC_MAX_CONCURRENT_PER_RESOURCE: String(sessions + 10),
  WS_SECURITY_MAX_CONNECTIONS_PER_IP: String(4 * sessions + 100),
  WS_SECURITY_MAX_REQUESTS_PER_MINUTE: String(4 * sessions + 100),
  WS_EXEC_PENDING_TIMEOUT_MS: '600000',
  LOG_LEVEL: 'warn',
  AUDIT_ENABLED: arg('audit', 'true'),
};

let nats: NatsServer | undefined;
const dir = mkdtempSync(join(tmpdir(), 'ws-bench-'));
const ctls: Controller[] = [];
try {
  if (instances === 2) nats = await startNats();
  const relayEnv: Record<string, string> = nats ? { NATS_RELAY_URL: nats.wsUrl } : {};
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean);
  ctls.push(await startController({ runtime, dir, env: { ...env, ...relayEnv }, timeoutMs: 60_000, nodeArgs }));
  if (instances === 2) {
    ctls.push(await startController({ runtime, dir, env: { ...env, ...relayEnv }, timeoutMs: 60_000, nodeArgs }));
    for (const c of ctls) {
      const deadline = Date.now() + 10_000;
      while (!c.output().includes('session relay connected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
  }
  const userCtl = ctls[0]!;
  const agentCtl = ctls[ctls.length - 1]!;
  const f = await fleetWithRunningMicroservice(userCtl, 'bench-edge');
  const pids = ctls.map((c) => c.proc.pid);
  const rssStart = pids.map(rssMb);

  log(`opening ${sessions} user sockets`);
  const users: FrameSocket[] = new Array(sessions);
  const ids: string[] = new Array(sessions);
  const errors: Record<string, number> = {};
  const fail = (k: string) => (errors[k] = (errors[k] ?? 0) + 1);
  const t0 = Date.now();
  await pool([...Array(sessions).keys()], concurrency, async (i) => {
    const s = await FrameSocket.connect(`${toWs(userCtl.url)}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    try {
      const a = await s.nextOfType(T.ACTIVATION, 60_000);
      ids[i] = JSON.parse(text(a)).sessionId;
      users[i] = s;
    } catch {
      fail(`user ${s.closed?.code ?? 'timeout'} ${s.closed?.reason ?? ''}`.trim());
    }
  });
  const userOpenSec = (Date.now() - t0) / 1000;

  log('opening agent sockets');
  const agents: FrameSocket[] = new Array(sessions);
  const pairing: number[] = [];
  const t1 = Date.now();
  // Tokens are signed up front so signing does not count as pairing time.
  const tokens = await Promise.all(ids.map(() => f.edge.token()));
  await pool([...Array(sessions).keys()], agentConcurrency, async (i) => {
    if (!ids[i]) return;
    const started = performance.now();
    const s = await FrameSocket.connect(`${toWs(agentCtl.url)}/api/v3/agent/exec/microservice/${f.msUuid}/${ids[i]}`, {
      authorization: `Bearer ${tokens[i]}`,
    });
    try {
      await s.nextOfType(T.ACTIVATION, 60_000);
      pairing.push(performance.now() - started);
      agents[i] = s;
      s.ws.on('message', () => {
        for (const fr of s.frames.splice(0))
          if (fr.type === T.STDIN)
            s.send({ type: T.STDOUT, data: fr.data, execId: ids[i], microserviceUuid: f.msUuid, timestamp: Date.now() });
      });
    } catch {
      fail(`agent ${s.closed?.code ?? 'timeout'} ${s.closed?.reason ?? ''}`.trim());
    }
  });
  const agentOpenSec = (Date.now() - t1) / 1000;
  const paired = pairing.length;
  const rssPaired = pids.map(rssMb);
  log(`${paired} paired; frames for ${seconds} s`);

  // Closed loop: each paired user keeps one STDIN outstanding.
  let roundTrips = 0;
  const rtt: number[] = [];
  let running = true;
  const loops: Promise<void>[] = [];
  for (let i = 0; i < sessions; i++) {
    const u = users[i];
    if (!u || !agents[i]) continue;
    while (u.frames.length) u.frames.pop();
    loops.push(
      (async () => {
        while (running) {
          const sent = performance.now();
          u.send({ type: T.STDIN, data: bin('x'.repeat(32)) });
          try {
            await u.nextOfType(T.STDOUT, 30_000);
          } catch {
            fail('frame timeout');
            return;
          }
          roundTrips++;
          if (roundTrips % 10 === 0) rtt.push(performance.now() - sent);
        }
      })(),
    );
  }
  const tf = Date.now();
  const genCpu0 = process.cpuUsage();
  const srvCpu0 = pids.map(cpuMs);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const frameSec = (Date.now() - tf) / 1000;
  const genCpu = process.cpuUsage(genCpu0);
  const generatorCpuPct = Math.round((genCpu.user + genCpu.system) / 10 / (frameSec * 1000));
  const serverCpuPct = pids.map((p, i) => Math.round((cpuMs(p) - srvCpu0[i]!) / (frameSec * 10)));
  await Promise.allSettled(loops);
  const rssPeak = pids.map(rssMb);

  log('closing');
  const t2 = Date.now();
  for (const u of users) if (u) u.send({ type: T.CLOSE, data: bin('bye') });
  await Promise.all(users.filter(Boolean).map((u) => u.waitClose(60_000).catch(() => fail('close timeout'))));
  let remaining = -1;
  for (let i = 0; i < 200; i++) {
    remaining = (await f.edge.getExecSessions()).body.execSessions.length;
    if (remaining === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const closeSec = (Date.now() - t2) / 1000;
  for (const a of agents) a?.close();
  f.edge.close();

  console.log(
    JSON.stringify({
      bench: 'ws-sessions',
      runtime,
      instances,
      sessions,
      agentConcurrency,
      paired,
      userOpenSec,
      agentOpenSec,
      pairingMs: { p50: pct(pairing, 50), p99: pct(pairing, 99), max: pct(pairing, 100) },
      roundTripsPerSec: Math.round(roundTrips / frameSec),
      framesPerSec: Math.round((2 * roundTrips) / frameSec),
      roundTripMs: { p50: pct(rtt, 50), p99: pct(rtt, 99) },
      framesPhaseCpuPct: { generator: generatorCpuPct, servers: serverCpuPct },
      closeSec,
      rowsLeft: remaining,
      serverRssMb: { start: rssStart, paired: rssPaired, afterFrames: rssPeak },
      errors,
    }),
  );
} finally {
  // SIGTERM first (a --cpu-prof profile is written on a clean exit), then make sure.
  for (const c of ctls) await c.stop();
  for (const c of ctls) await c.stop('SIGKILL');
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
