import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from './wait';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BUNDLE = join(ROOT, 'dist/controller.mjs');
export const ADMIN = { email: 'admin@example.com', password: 'Admin-Passw0rd-1' };

/** JSON calls to a running Controller at `baseUrl`: `{status, body}`, the body parsed when there is one. */
export function jsonApi(baseUrl: string) {
  return async (method: string, path: string, opts: { token?: string; body?: unknown } = {}) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

export type Runtime = 'node' | 'deno' | 'bun';

export function runtimeCommand(rt: Runtime, bundle = BUNDLE): { cmd: string; args: string[] } {
  if (rt === 'node') return { cmd: process.execPath, args: [bundle] };
  if (rt === 'deno') return { cmd: join(ROOT, 'node_modules/.bin/deno'), args: ['run', '-A', bundle] };
  return { cmd: join(ROOT, 'node_modules/.bin/bun'), args: [bundle] };
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

export interface Controller {
  url: string;
  port: number;
  proc: ChildProcess;
  dir: string;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code and how long it took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

/**
 * Starts the built bundle as a real process in a fresh working directory (its own libSQL file),
 * and waits until GET /api/v3/status answers 200.
 */
export async function startController(
  opts: {
    runtime?: Runtime;
    env?: Record<string, string>;
    dir?: string;
    timeoutMs?: number;
    nodeArgs?: string[];
    /** CONTROLLER_PUBLIC_URL = the URL it listens on */ publicUrl?: boolean;
    /** Pin the process and every thread it starts to these cores (`taskset -c`, e.g. "0"). */
    cpus?: string;
    /** Another build of the server (benchmarks comparing two commits); default dist/controller.mjs. */
    bundle?: string;
    /** Listen on this port (a restarted instance behind a load balancer); default a free one. */
    port?: number;
  } = {},
): Promise<Controller> {
  const runtime = opts.runtime ?? 'node';
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'controller-e2e-'));
  const port = opts.port ?? (await freePort());
  const { cmd, args: baseArgs } = runtimeCommand(runtime, opts.bundle);
  const args = runtime === 'node' && opts.nodeArgs ? [...opts.nodeArgs, ...baseArgs] : baseArgs;
  let out = '';
  // taskset execs the runtime, so the pid stays the runtime's and its threads inherit the affinity.
  const [file, argv] = opts.cpus ? ['taskset', ['-c', opts.cpus, cmd, ...args]] : [cmd, args];
  const proc = spawn(file, argv, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      // Deno and Bun resolve the external @libsql/client from the project's node_modules.
      NODE_PATH: join(ROOT, 'node_modules'),
      DENO_NO_UPDATE_CHECK: '1',
      DENO_DIR: join(ROOT, 'node_modules/.cache/deno'),
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
      OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'info',
      ...(opts.publicUrl ? { CONTROLLER_PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  proc.once('exit', () => (exited = true));
  const state = await waitFor(
    `controller (${runtime}) to answer /api/v3/status`,
    async () => {
      if (exited) return 'exited' as const;
      // Not listening yet is a failed fetch: keep polling.
      const r = await fetch(`${url}/api/v3/status`).catch(() => undefined);
      return r?.status === 200 ? ('ready' as const) : false;
    },
    { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 50 },
  ).catch(() => 'late' as const);
  if (state === 'exited') throw new Error(`controller (${runtime}) exited during start:\n${out}`);
  if (state === 'late') {
    proc.kill('SIGKILL');
    throw new Error(`controller (${runtime}) not ready in time:\n${out}`);
  }
  return {
    url,
    port,
    proc,
    dir,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((res) => {
        const t0 = Date.now();
        if (proc.exitCode !== null || proc.signalCode !== null) return res({ code: proc.exitCode, ms: 0 });
        proc.once('exit', (code) => {
          if (!opts.dir) rmSync(dir, { recursive: true, force: true });
          res({ code, ms: Date.now() - t0 });
        });
        proc.kill(signal);
      }),
  };
}
