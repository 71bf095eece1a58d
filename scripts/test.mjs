// `npm test`: checks generated files, builds the bundles, then runs every suite with node:test.
//   npm test                 all suites (unit, api, e2e); the API suite twice: on libSQL, then on PostgreSQL;
//                            then the HA e2e alone
//   npm test -- unit api     only those folders
// A throw-away PostgreSQL cluster is started for the run (tests/harness/postgres.ts) and stopped at
// the end; set TEST_PG_URL to a superuser URL to use an existing server instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (args) => execFileSync(process.execPath, args, { stdio: 'inherit', cwd: root });

run(['scripts/embed-migrations.mjs', '--check']);
run(['--import', 'tsx', 'scripts/gen-pg-schema.ts', '--check']);
run(['scripts/build.mjs']);

const suites = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const folders = suites.length ? suites : ['unit', 'api', 'e2e'];
const filesOf = (f) =>
  readdirSync(join(root, 'tests', f))
    .filter((n) => n.endsWith('.test.ts'))
    .sort()
    .map((n) => join('tests', f, n));
// The HA e2e (three instances, HAProxy, a NATS cluster, 1,000 agents) runs alone after the other suites:
// beside them on a 2-core machine it measures CPU starvation, not the loss of an instance.
const ALONE = ['tests/e2e/ha.test.ts'];
const all = folders.flatMap(filesOf);
const files = all.filter((f) => !ALONE.includes(f));
const aloneFiles = all.filter((f) => ALONE.includes(f));
// The PostgreSQL pass: the API files whose test apps come from the harness (makeTestApp picks the
// dialect); the others open libSQL files of their own and would only run a second time on libSQL.
const pgFiles = folders.includes('api') ? filesOf('api').filter((f) => readFileSync(join(root, f), 'utf8').includes('makeTestApp(')) : [];

let cluster;
const env = { ...process.env, NODE_ENV: 'test' };
if (!env.TEST_PG_URL && (pgFiles.length || folders.includes('e2e'))) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'tests/harness/pg-cluster-cli.ts', 'start'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cluster = JSON.parse(out);
  env.TEST_PG_URL = cluster.url;
}

const pass = (name, list, extraEnv) => {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...list], {
    stdio: 'inherit',
    cwd: root,
    env: { ...env, ...extraEnv },
  });
  console.log(`# ${name}: ${list.length} files in ${Math.round((Date.now() - started) / 1000)} s, exit ${r.status}`);
  return r.status ?? 1;
};

let status = 1;
try {
  status = pass('libSQL', files, {});
  if (pgFiles.length) status = pass('PostgreSQL (API suite)', pgFiles, { TEST_DB: 'postgres' }) || status;
  if (aloneFiles.length) status = pass('HA (PostgreSQL, alone)', aloneFiles, {}) || status;
} finally {
  if (cluster)
    execFileSync(process.execPath, ['--import', 'tsx', 'tests/harness/pg-cluster-cli.ts', 'stop', cluster.dir], {
      cwd: root,
      stdio: 'inherit',
    });
}
process.exit(status);
