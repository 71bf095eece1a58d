// `node scripts/check-sleeps.mjs [dir]`: fails when a test waits with a raw sleep.
//
// A test that sleeps to let something happen is flaky on a loaded machine and slow on a quiet one. Tests wait on
// an observable condition with tests/harness/wait.ts `waitFor(what, check)`, or move the injected clock
// (`ManualClock`). A sleep that IS the behaviour under test (holding a connection idle to prove a timeout, pacing
// load) stays only with a `// sleep-ok: <reason>` comment on its line or the line above.
//
// What counts as a raw sleep: `setTimeout(resolve, ms)` (a timer whose callback is a bare promise resolver), a call
// to a helper named `sleep(` or `delay(`, and `timers/promises`. A `setTimeout(() => …)` that bounds a race or
// makes a fake server slow is not a wait and is not flagged.
//
// Skipped: tests/harness/wait.ts (the one place that polls), and tests/bench/ (benchmarks are run by hand; their
// sleeps are the load profile, and they assert nothing).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PATTERNS = [
  { re: /(?<![.\w$])setTimeout\(\s*[A-Za-z_$][\w$]*\s*[,)]/, what: 'setTimeout(resolve, ms)' },
  { re: /(?<![.\w$])(sleep|delay)\s*\(/, what: 'sleep()/delay()' },
  { re: /['"](node:)?timers\/promises['"]/, what: 'timers/promises' },
];
const SKIP = new Set(['harness/wait.ts']);
const SKIP_DIRS = new Set(['bench', 'node_modules', 'artifacts']);
const EXT = /\.(ts|mts|js|mjs)$/;

function* files(dir, root) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!SKIP_DIRS.has(name)) yield* files(p, root);
    } else if (EXT.test(name) && !SKIP.has(relative(root, p).split(sep).join('/'))) yield p;
  }
}

/** Raw sleeps under `root` (a tests/ folder): `[{ file, line, what, text }]`, empty when clean. */
export function findSleeps(root) {
  const found = [];
  for (const file of files(root, root)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      const code = text.trim();
      if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return;
      if (text.includes('sleep-ok:') || (i > 0 && lines[i - 1].includes('sleep-ok:'))) return;
      for (const { re, what } of PATTERNS)
        if (re.test(text)) {
          found.push({ file: relative(root, file).split(sep).join('/'), line: i + 1, what, text: code });
          return;
        }
    });
  }
  return found;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? fileURLToPath(new URL('../tests', import.meta.url));
  const found = findSleeps(root);
  for (const f of found) console.error(`${f.file}:${f.line}: raw sleep (${f.what}): ${f.text}`);
  if (found.length) {
    console.error(
      `\n${found.length} raw sleep(s) in tests: wait with waitFor(what, check) from tests/harness/wait.ts or move a ManualClock;` +
        ' a sleep that is the behaviour under test needs a `// sleep-ok: <reason>` comment.',
    );
    process.exit(1);
  }
}
