import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE, ROOT, freePort } from '../harness/process';
import { waitFor } from '../harness/wait';

/** The shell blocks of the README's walkthrough, in order: the README is the script. */
function walkthroughScript(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- walkthrough:start');
  const end = readme.indexOf('<!-- walkthrough:end -->');
  assert.ok(start > 0 && end > start, 'README has the walkthrough markers');
  const blocks = [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 5, `walkthrough blocks: ${blocks.length}`);
  return blocks.join('\n');
}

const haveJq = !spawnSync('jq', ['--version'], { stdio: 'ignore' }).error;
const skip = !haveJq && !process.env.CI ? 'jq is not on PATH (apt-get install -y jq); skipped outside CI' : false;

test('README walkthrough: the same commands against the built bundle, from a fresh data folder to log lines on screen', {
  timeout: 240_000,
  skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'walkthrough-'));
  // The walkthrough runs from a checkout: the paths it names are the repository's.
  for (const name of ['examples', 'tools', 'tests', 'node_modules', 'package.json', 'tsconfig.json'])
    symlinkSync(join(ROOT, name), join(dir, name));
  const port = await freePort();
  const ctl = `http://127.0.0.1:${port}`;
  // What `npm start` runs, with the README's defaults: ./data under the working folder, no bootstrap variables.
  const server = spawn(process.execPath, [BUNDLE], {
    cwd: dir,
    env: { ...process.env, API_PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let serverOut = '';
  server.stdout.on('data', (d) => (serverOut += d));
  server.stderr.on('data', (d) => (serverOut += d));
  let script: ReturnType<typeof spawn> | undefined;
  try {
    await waitFor(
      'the Controller to serve /live',
      () =>
        fetch(`${ctl}/api/v3/live`).then(
          (r) => r.ok,
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    script = spawn('bash', ['-euo', 'pipefail', '-c', walkthroughScript()], {
      cwd: dir,
      env: { ...process.env, CTL: ctl },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    script.stdout!.on('data', (d) => (out += d));
    script.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => script!.once('exit', (c) => r(c)));
    const agentLog = (() => {
      try {
        return readFileSync(join(dir, 'agent.log'), 'utf8');
      } catch {
        return '';
      }
    })();
    const context = `script output:\n${out}\nagent.log:\n${agentLog}\nserver:\n${serverOut}`;
    assert.equal(code, 0, context);
    assert.ok(!out.includes('"requestId"'), `no step answered with an error envelope\n${context}`);
    assert.match(out, /"daemonStatus": "RUNNING"/, context);
    assert.match(out, /"name": "vibration-reader",\n\s+"uuid": "[0-9a-f-]{36}",\n\s+"status": "RUNNING"/, context);
    assert.match(out, /line 1\nline 2\nline 3\nline 4\nline 5\n/, `the log session printed the tail\n${context}`);
  } finally {
    // The walkthrough leaves the simulator running in the background, as a user's terminal would.
    if (script?.pid) {
      try {
        process.kill(-script.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
});
