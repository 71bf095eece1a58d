// The Cloudflare Workers build (dist/worker.mjs, see wrangler.toml) served by `wrangler dev`, i.e.
// workerd from npm, fully offline. There is no libSQL server here, so DB_URL points at a closed
// port: liveness must still answer, everything else answers 503 CONTROLLER_NOT_READY.
// Needs `npm run build` first.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, ROOT } from '../harness/process';
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

describe('Workers build under wrangler dev (workerd)', { timeout: 120_000 }, () => {
  let proc: ChildProcess | undefined;
  let home = '';
  let url = '';
  let out = '';
  let startupMs = 0;

  before(async () => {
    assert.ok(existsSync(WORKER), `${WORKER} is missing: run npm run build first`);
    home = mkdtempSync(join(tmpdir(), 'controller-wrangler-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const { cmd, args } = wranglerCommand();
    const started = Date.now();
    proc = spawn(
      cmd,
      [
        ...args,
        'dev',
        '--config',
        join(ROOT, 'wrangler.toml'),
        '--port',
        String(port),
        '--ip',
        '127.0.0.1',
        '--inspector-port',
        String(await freePort()),
        '--persist-to',
        join(home, 'state'),
        '--show-interactive-dev-session=false',
        '--log-level',
        'info',
        '--var',
        'DB_URL:libsql://127.0.0.1:9',
        '--var',
        `ENCRYPTION_KEY:${randomBytes(32).toString('base64')}`,
      ],
      {
        cwd: ROOT,
        // Own process group, so the finally/after can end wrangler and workerd together.
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
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    let exited = false;
    proc.once('exit', () => (exited = true));
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
    if (state === 'exited') throw new Error(`wrangler dev exited during start:\n${out}`);
    if (state === 'late') throw new Error(`wrangler dev not ready within ${READY_TIMEOUT_MS} ms:\n${out}`);
    startupMs = Date.now() - started;
  });

  after(async () => {
    if (proc?.pid) {
      const pgid = proc.pid;
      const t0 = Date.now();
      await stopGroup(proc);
      process.stderr.write(`wrangler dev stopped in ${Date.now() - t0} ms\n`);
      if (process.env.WORKER_TEST_VERBOSE) process.stderr.write(out);
      assert.equal(groupAlive(pgid), false, 'wrangler/workerd processes left running');
    }
    if (home) rmSync(home, { recursive: true, force: true });
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
    // Miniflare's trigger endpoint in wrangler dev (wrangler's --test-scheduled /__scheduled needs
    // wrangler's own bundling, which wrangler.toml turns off: the bundle is esbuild's).
    const r = await fetch(`${url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('*/5 * * * *')}`);
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
