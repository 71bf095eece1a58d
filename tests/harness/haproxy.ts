// A real HAProxy (Debian's `haproxy`) in front of several Controller instances, with the configuration
// docs/operations.md recommends, generated per test: health checks on GET /api/v3/status, redispatch,
// retries only where a replay cannot double-write, and the Controller's retryable 503 envelope when
// no instance can answer.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process';
import { waitFor } from './wait';

export interface Backend {
  name: string;
  port: number;
}

export interface Haproxy {
  url: string;
  port: number;
  proc: ChildProcess;
  config: string;
  output(): string;
  /** Each backend server's state as HAProxy sees it: 'UP', 'DOWN', 'UP 1/2' (going down), 'DOWN 1/2' (coming up), … */
  serverStates(): Promise<Record<string, string>>;
  /** Each backend server's row of `show stat` (status, stot, hrsp_2xx, …) by column name. */
  serverStats(): Promise<Record<string, Record<string, string>>>;
  waitForState(server: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * What HAProxy answers itself when a request cannot get a response from any instance (the instance
 * died mid-request, or none is up): the Controller's own 503 envelope with `retryable: true` and
 * Retry-After, so agents and clients treat it like the Controller's own 503 — retry, never count it
 * as an auth failure. HAProxy sends these files verbatim.
 */
export function unavailableResponse(detail: string): string {
  const body = JSON.stringify({
    name: 'ServiceUnavailable',
    message: `No Controller instance could answer (${detail}); retry shortly`,
    code: 'CONTROLLER_UNAVAILABLE',
    requestId: '',
    error: 'ServiceUnavailable',
    retryable: true,
  });
  return [
    'HTTP/1.1 503 Service Unavailable',
    'content-type: application/json',
    'retry-after: 1',
    'cache-control: no-store',
    'connection: close',
    `content-length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** The configuration, as an operator would write it (see docs/operations.md for each choice). */
export interface HaproxyLimits {
  /**
   * Requests HAProxy sends each instance at once; more wait in HAProxy's queue (`maxconn` on the server
   * lines). Unset: no limit, every client connection gets its own connection to an instance.
   */
  serverMaxconn?: number;
  /** How long a request may wait in that queue before HAProxy answers it the 503 below (default 10 s). */
  queueTimeoutSec?: number;
}

export function haproxyConfig(o: { port: number; backends: Backend[]; dir: string; checkIntervalMs?: number } & HaproxyLimits): string {
  const inter = o.checkIntervalMs ?? 1000;
  return `global
  nbthread 1
  maxconn 4096
  stats socket ${join(o.dir, 'admin.sock')} mode 600 level admin
  # Server state changes (UP/DOWN) and alerts on stderr; no per-request log.
  log stderr format short local0 notice

defaults
  mode http
  log global
  option http-keep-alive
  timeout connect 2s
  # A busy instance may take a while to answer its health check; only no answer at all is a failure.
  timeout check 5s
  timeout client 65s
  timeout server 65s
  timeout http-keep-alive 10s
  timeout http-request 10s
  timeout queue ${o.queueTimeoutSec ?? 10}s
  # WebSocket exec/log sessions: once upgraded, the connection is a tunnel.
  timeout tunnel 1h
  timeout client-fin 5s
  # A request that cannot reach an instance is sent to another one (at most 3 times).
  retries 3
  option redispatch 1
  errorfile 502 ${join(o.dir, '502.http')}
  errorfile 503 ${join(o.dir, '503.http')}
  errorfile 504 ${join(o.dir, '504.http')}

frontend controller
  bind 127.0.0.1:${o.port}
  default_backend controllers

backend controllers
  balance roundrobin
  option httpchk GET /api/v3/status
  http-check expect status 200
  # A dead instance leaves after two failed checks (~${inter * 2} ms); a new one joins after two good ones.
  default-server check inter ${inter}ms fastinter ${Math.max(100, inter / 2)}ms downinter ${inter}ms fall 2 rise 2 observe layer4 error-limit 3 on-error fastinter${o.serverMaxconn ? ` maxconn ${o.serverMaxconn}` : ''}
  # Which failures are retried on another instance:
  # - conn-failure: the request was never sent, always safe;
  # - empty-response and 503: only for GET/HEAD from operators. A POST/PUT/PATCH/DELETE may have been
  #   committed by an instance that died before answering: replaying it could write twice. Agent
  #   requests carry a single-use token (jti): a replay on another instance may be refused as a reused
  #   token (401), which Edgelet counts toward wiping itself; they get the 503 below instead and retry
  #   with a fresh token.
  retry-on conn-failure empty-response 503
  http-request disable-l7-retry unless METH_GET
  http-request disable-l7-retry if { path_beg /api/v3/agent/ }
${o.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port}`).join('\n')}
`;
}

export async function startHaproxy(
  opts: { backends: Backend[]; port?: number; checkIntervalMs?: number } & HaproxyLimits,
): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
  const port = opts.port ?? (await freePort());
  writeFileSync(join(dir, '502.http'), unavailableResponse('the instance closed the connection before answering'));
  writeFileSync(join(dir, '503.http'), unavailableResponse('no instance is up, or every instance is busy'));
  writeFileSync(join(dir, '504.http'), unavailableResponse('the instance did not answer in time'));
  const config = haproxyConfig({ ...opts, port, dir });
  const cfgPath = join(dir, 'haproxy.cfg');
  writeFileSync(cfgPath, config);
  // -db: stay in the foreground, -W: master-worker off is the default for -db; the test owns the process.
  const proc = spawn('haproxy', ['-db', '-f', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  let exited = false;
  proc.once('exit', () => (exited = true));

  const socket = join(dir, 'admin.sock');
  const command = (cmd: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect(socket);
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('end', () => resolve(data));
      s.on('error', reject);
      s.write(`${cmd}\n`);
    });
  const serverStats = async () => {
    const csv = await command('show stat');
    const [head, ...lines] = csv.split('\n').filter(Boolean);
    const header = head!.replace(/^# /, '').split(',');
    const out: Record<string, Record<string, string>> = {};
    for (const l of lines) {
      const row = Object.fromEntries(l.split(',').map((v, i) => [header[i], v]));
      if (row.pxname === 'controllers' && row.svname !== 'BACKEND' && row.svname !== 'FRONTEND') out[row.svname!] = row;
    }
    return out;
  };
  const serverStates = async () => Object.fromEntries(Object.entries(await serverStats()).map(([k, v]) => [k, v.status!]));
  await waitFor(
    'HAProxy to listen',
    async () => {
      if (exited) throw new Error(`haproxy exited:\n${out}`);
      return (await serverStates()) && true;
    },
    { timeoutMs: 10_000 },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    config,
    output: () => out,
    serverStates,
    serverStats,
    waitForState: (server, state, timeoutMs = 20_000) =>
      waitFor(`HAProxy to mark ${server} ${state}`, async () => (await serverStates())[server] === state, {
        timeoutMs,
        intervalMs: 100,
      }).then(() => undefined),
    stop: () =>
      new Promise((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (exited) return done();
        proc.once('exit', done);
        proc.kill('SIGTERM');
      }),
  };
}
