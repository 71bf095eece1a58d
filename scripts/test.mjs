// `npm test`: checks generated files, builds the bundles, then runs every suite with node:test.
//   npm test                 all suites (unit, api, e2e)
//   npm test -- unit api     only those folders
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (args) => execFileSync(process.execPath, args, { stdio: 'inherit', cwd: root });

run(['scripts/embed-migrations.mjs', '--check']);
run(['scripts/build.mjs']);

const suites = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const folders = suites.length ? suites : ['unit', 'api', 'e2e'];
const files = folders.flatMap((f) =>
  readdirSync(join(root, 'tests', f))
    .filter((n) => n.endsWith('.test.ts'))
    .sort()
    .map((n) => join('tests', f, n)),
);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(r.status ?? 1);
