import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const SOURCE_DIRS = ['src', 'routes', 'workers', 'db'];

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'generated') yield* sourceFiles(p);
    } else if (/\.(ts|mts|js|mjs|sql)$/.test(name)) yield p;
  }
}

const lines = function* () {
  for (const d of SOURCE_DIRS)
    for (const file of sourceFiles(join(ROOT, d))) {
      const text = readFileSync(file, 'utf8').split('\n');
      for (let i = 0; i < text.length; i++) yield { where: `${relative(ROOT, file)}:${i + 1}`, text: text[i]! };
    }
};

// Comments explain why in this repository's own words. A section number of a specification that is not in
// the repository tells a reader nothing: write the reason, or link docs/architecture.md.
test('no comment in src/, routes/, workers/ or db/ cites a specification section (§)', () => {
  const cites = [...lines()].filter((l) => l.text.includes('§')).map((l) => `${l.where}: ${l.text.trim()}`);
  assert.deepEqual(cites, [], `replace each citation with the reason it stood for:\n${cites.join('\n')}`);
});

// GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

test('every docs/architecture.md#anchor a comment links to is a heading of that page', () => {
  const headings = new Set(
    readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')
      .split('\n')
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) => anchor(l.replace(/^#+ /, ''))),
  );
  const broken = [...lines()].flatMap((l) =>
    [...l.text.matchAll(/docs\/architecture\.md#([\w-]+)/g)].filter((m) => !headings.has(m[1]!)).map((m) => `${l.where}: #${m[1]}`),
  );
  assert.deepEqual(broken, []);
});
