import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { findSleeps } from '../../scripts/check-sleeps.mjs';

const script = join(import.meta.dirname, '../../scripts/check-sleeps.mjs');
// The fixtures are built from pieces so that this file's own source does not trip the check it tests.
const ST = 'setTimeout';
const TP = `'node:timers/${'promises'}'`;

/** A throwaway tests/ folder with the given files. */
function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'check-sleeps-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

test('check-sleeps: a test that sleeps to synchronise fails the check, with file and line', () => {
  const root = fixture({
    'api/slow.test.ts': `test('x', async () => {\n  await go();\n  await new Promise((r) => ${ST}(r, 200));\n});\n`,
    'e2e/helper.ts': `import { setTimeout as wait } from ${TP};\nexport const pause = () => ${'sleep'}(10);\n`,
  });
  try {
    assert.deepEqual(
      findSleeps(root).map((f) => `${f.file}:${f.line}`),
      ['api/slow.test.ts:3', 'e2e/helper.ts:1', 'e2e/helper.ts:2'],
    );
    const run = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
    assert.equal(run.status, 1, 'the CLI exits non-zero');
    assert.match(run.stderr, /api\/slow\.test\.ts:3: raw sleep/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('check-sleeps: waitFor, bounded races, fake-server delays, marked sleeps, wait.ts and benchmarks pass', () => {
  const root = fixture({
    'api/ok.test.ts': [
      "await waitFor('row gone', async () => (await rows()).length === 0);",
      "const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('hung'), 15_000))]);",
      "setTimeout(() => res.end('world'), 10);",
      'req.setTimeout(timeoutMs, () => req.destroy());',
      '// sleep-ok: holding the socket idle is the behaviour under test',
      `await new Promise((r) => ${ST}(r, 600));`,
      `await new Promise((r) => ${ST}(r, 1)); // sleep-ok: paces the load`,
      '// a comment that says sleep(1) is not code',
    ].join('\n'),
    'harness/wait.ts': `await new Promise((resolve) => ${ST}(resolve, intervalMs));\n`,
    'bench/load.ts': `await ${'sleep'}(HOLD * 1000);\n`,
  });
  try {
    assert.deepEqual(findSleeps(root), []);
    assert.equal(spawnSync(process.execPath, [script, root]).status, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("check-sleeps: this repository's tests are clean", () => {
  const found = findSleeps(join(import.meta.dirname, '..'));
  assert.deepEqual(
    found.map((f) => `${f.file}:${f.line}: ${f.text}`),
    [],
  );
});
