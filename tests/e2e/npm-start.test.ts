import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort } from '../harness/process';
import { waitFor } from '../harness/wait';

const statusOf = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.status,
    () => 0,
  );

/**
 * `npm start` is the README's first command: a signal sent to npm's pid (what a terminal's Ctrl-C, a process
 * manager or `kill` does) must stop the Controller and free its port, not leave it serving as an orphan.
 */
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`npm start: ${signal} to npm stops the Controller and frees the port`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'controller-npm-start-'));
    const port = await freePort();
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      // A background job of a non-interactive shell starts with SIGINT ignored; detached keeps this test's own
      // process group out of the way of the signal.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        API_PORT: String(port),
        API_HOST: '127.0.0.1',
        DB_URL: `file:${join(dir, 'c.db')}`,
        ENCRYPTION_KEY_FILE: join(dir, 'key'),
        JOBS_ENABLED: 'false',
      },
    });
    let out = '';
    npm.stdout.on('data', (d) => (out += d));
    npm.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
    try {
      const live = `http://127.0.0.1:${port}/api/v3/live`;
      await waitFor('the Controller to serve /live', async () => (await statusOf(live)) === 200, { timeoutMs: 60_000, intervalMs: 100 });
      npm.kill(signal);
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
      assert.equal(code, 0, `npm exit code after ${signal}; output:\n${out}`);
      await waitFor('the port to be closed', async () => (await statusOf(live)) === 0, { timeoutMs: 5_000, intervalMs: 100 });
      assert.match(out, new RegExp(`"msg":"stopped","signal":"${signal}"`));
    } finally {
      if (npm.exitCode === null) process.kill(-npm.pid!, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
