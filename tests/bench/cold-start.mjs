// Cold start: spawn dist/controller.mjs → first 200 on GET /api/v3/status, per runtime.
// Two cases: "first" (empty directory: migrations, key generation, bootstrap admin) and
// "restart" (existing database). Prints one JSON document.
//   node tests/bench/cold-start.mjs [runs=10] [runtimes=node,deno,bun]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const bundle = join(root, 'dist/controller.mjs');
const runs = Number(process.argv[2] ?? 10);
const runtimes = (process.argv[3] ?? 'node,deno,bun').split(',');
const bins = {
  node: [process.execPath, [bundle]],
  deno: [join(root, 'node_modules/.bin/deno'), ['run', '-A', bundle]],
  bun: [join(root, 'node_modules/.bin/bun'), [bundle]],
};

const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

async function once(runtime, dir) {
  const port = await freePort();
  const [cmd, args] = bins[runtime];
  const t0 = performance.now();
  const p = spawn(cmd, args, {
    cwd: dir,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OIDC_BOOTSTRAP_ADMIN_USERNAME: 'admin@example.com',
      OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'Admin-Passw0rd-1',
      DENO_NO_UPDATE_CHECK: '1',
    },
  });
  let ms;
  while (!ms) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/api/v3/status`);
      if (r.status === 200) ms = performance.now() - t0;
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
    if (performance.now() - t0 > 20_000) throw new Error(`${runtime} did not start`);
  }
  await new Promise((res) => {
    p.once('exit', res);
    p.kill('SIGTERM');
  });
  return ms;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    runs: s.length,
    minMs: +s[0].toFixed(1),
    p50Ms: +q(0.5).toFixed(1),
    p90Ms: +q(0.9).toFixed(1),
    maxMs: +s[s.length - 1].toFixed(1),
  };
};

const results = {};
for (const rt of runtimes) {
  const first = [];
  const restart = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'cold-'));
    first.push(await once(rt, dir));
    restart.push(await once(rt, dir));
    rmSync(dir, { recursive: true, force: true });
  }
  results[rt] = { first: stats(first), restart: stats(restart) };
}
console.log(
  JSON.stringify({ bench: 'cold-start', metric: 'spawn → first 200 on GET /api/v3/status', cpus: cpus().length, results }, null, 2),
);
