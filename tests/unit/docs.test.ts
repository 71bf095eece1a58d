import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** Relative links of a page outside code: `[text](target)`, without http(s):, mailto: or <autolinks>. */
function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t));
}

test('every relative link in README.md and docs/*.md names a file that exists, and an anchor that exists', () => {
  const broken: string[] = [];
  for (const page of PAGES) {
    const md = readFileSync(join(ROOT, page), 'utf8');
    for (const link of relativeLinks(md)) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path ? resolve(dirname(join(ROOT, page)), path) : join(ROOT, page);
      if (!existsSync(target)) {
        broken.push(`${page}: ${link} (no file ${relative(ROOT, target)})`);
        continue;
      }
      if (anchor && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(anchor))
        broken.push(`${page}: ${link} (no heading #${anchor} in ${relative(ROOT, target)})`);
    }
  }
  assert.deepEqual(broken, []);
});

test("the anchors are GitHub's", () => {
  const a = anchors('# A: b (c)\n## The agent contract (Edgelet)\n## `AUTH_MODE=external` x\n## A: b (c)\n```\n# not a heading\n```\n');
  assert.deepEqual([...a], ['a-b-c', 'the-agent-contract-edgelet', 'auth_modeexternal-x', 'a-b-c-1']);
});

test('the README stays a guide: under 25 KB, with the reference in docs/', () => {
  const size = Buffer.byteLength(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(size < 25_000, `README.md is ${size} bytes; move reference material into docs/`);
});

test('every package in package.json has a row in docs/dependencies.md', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
  const doc = readFileSync(join(ROOT, 'docs/dependencies.md'), 'utf8');
  const rows = doc
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .map((l) => l.split(' | ')[0]!);
  const missing = names.filter((n) => !rows.some((r) => r.includes(`\`${n}\``)));
  assert.deepEqual(missing, [], `add a row (what it does that the stack cannot) to docs/dependencies.md for: ${missing.join(', ')}`);
});
