// The import-cycle check that CI runs (npm run lint): it must fail on a cycle between src/services
// domains, name the cycle and the files that make it, and not count imports the compiler erases.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/check-import-cycles.mjs');

function check(files: Record<string, string>): { status: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'import-cycles-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const r = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('a cycle between two domains through a shared module fails and is reported with its import chain', () => {
  const r = check({
    'src/services/alpha/a.ts': "import { b } from '../beta/b';\nexport const a = () => b();\n",
    'src/services/beta/b.ts': "import {\n  helper,\n} from '../../lib/helper';\nexport const b = () => helper();\n",
    'src/lib/helper.ts': "export { a as helper } from '../services/alpha/a';\n",
  });
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /import cycle between src\/services domains alpha, beta: alpha -> beta -> alpha/);
  assert.match(r.out, /beta -> alpha: src\/services\/beta\/b\.ts -> src\/lib\/helper\.ts -> src\/services\/alpha\/a\.ts/);
});

test('type-only imports, dynamic imports, comments and imports inside one domain do not count', () => {
  const r = check({
    'src/services/alpha/a.ts': "import { b } from '../beta/b';\nimport { a2 } from './a2';\nexport const a = () => b() + a2;\n",
    'src/services/alpha/a2.ts': "import { a } from './a';\nexport const a2 = 1;\nexport const again = () => a();\n",
    'src/services/beta/b.ts': [
      "import type { a } from '../alpha/a';",
      "import { type a2 } from '../alpha/a2';",
      "export type { again } from '../alpha/a2';",
      "// import { a } from '../alpha/a';",
      "export const b = async () => (await import('../alpha/a')).a;",
    ].join('\n'),
  });
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /none between the 2 src\/services domains/);
});

test('this repository has no cycle between its src/services domains', () => {
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
