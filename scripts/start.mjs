// `npm start`: builds the bundle when it is missing or older than the sources, then runs it in
// this process. package.json runs this script with `exec`, so the shell npm starts is replaced by this
// process and the SIGTERM/SIGINT that npm forwards reaches the Controller (a plain `sh -c` would swallow it).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const bundle = join(root, 'dist/controller.mjs');

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) t = Math.max(t, newest(p));
    else if (/\.(ts|mjs|json)$/.test(entry.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

const sources = ['src', 'routes', 'db', 'workers'].map((d) => join(root, d)).filter(existsSync);
const stale =
  !existsSync(bundle) || Math.max(...sources.map(newest), statSync(join(root, 'package-lock.json')).mtimeMs) > statSync(bundle).mtimeMs;
if (stale) execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
await import(pathToFileURL(bundle).href);
