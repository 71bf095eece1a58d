// Fails when the domains under src/services/ import each other in a circle, and prints the circle.
//
//   node scripts/check-import-cycles.mjs [--root <dir>]     (default: this repository)
//
// What counts as an edge from domain A to domain B: a file in src/services/A imports, at runtime, a file
// in src/services/B — directly, or through files outside src/services (src/context.ts, src/lib/…, db/…),
// because a path through a shared module ties the two domains together just the same.
//
// What does not count:
// - `import type …` / `export type …`, and imports whose every name is marked `type`: the compiler erases
//   them, so they cannot make one module wait for another at load time. (A value import used only as a
//   type is counted; the linter asks for `import type` there anyway.)
// - dynamic `import('…')`: it runs after both modules have loaded.
// - package imports: only relative paths are followed.
// Files inside one domain may import each other freely; cycles there are the domain's own business.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The relative specifiers a module imports at runtime. Matches `import … from '…'`, `export … from '…'`
 * and bare `import '…'`, across lines; skips type-only forms.
 */
export function runtimeImports(source) {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out = [];
  const re = /\b(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[5] !== undefined) {
      out.push(m[5]);
      continue;
    }
    if (m[2]) continue;
    const clause = m[3].trim();
    const braces = clause.match(/^\{([\s\S]*)\}$/);
    if (braces) {
      const names = braces[1]
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      if (names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    }
    out.push(m[4]);
  }
  return out.filter((s) => s.startsWith('.'));
}

/** `src/services/<domain>/…` → `<domain>`, anything else → undefined. */
export function domainOf(file) {
  const m = file.match(/^src\/services\/([^/]+)\//);
  return m ? m[1] : undefined;
}

function resolveSpecifier(from, spec, files) {
  const base = normalize(join(dirname(from), spec)).replace(/\\/g, '/');
  for (const candidate of [base, `${base}.ts`, `${base}.mts`, `${base}/index.ts`, base.replace(/\.js$/, '.ts')]) {
    if (files.has(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The domain graph of a set of files (path relative to the repository root → source text): for each
 * domain, the domains it reaches and, for each, one chain of files that shows the edge.
 */
export function domainGraph(files) {
  const imports = new Map();
  for (const [file, source] of files) {
    imports.set(
      file,
      runtimeImports(source)
        .map((s) => resolveSpecifier(file, s, files))
        .filter(Boolean),
    );
  }
  const graph = new Map();
  for (const file of files.keys()) {
    const from = domainOf(file);
    if (!from) continue;
    if (!graph.has(from)) graph.set(from, new Map());
    // Walk outward until the walk enters a domain file; files outside the domains are passed through.
    const seen = new Set([file]);
    const stack = (imports.get(file) ?? []).map((f) => [file, f]);
    while (stack.length) {
      const chain = stack.pop();
      const at = chain[chain.length - 1];
      if (seen.has(at)) continue;
      seen.add(at);
      const to = domainOf(at);
      if (to === from) continue;
      if (to) {
        if (!graph.get(from).has(to)) graph.get(from).set(to, chain);
        continue;
      }
      for (const next of imports.get(at) ?? []) stack.push([...chain, next]);
    }
  }
  return graph;
}

/** Every strongly connected group of two or more domains, each with one cycle through all of its members' edges found. */
export function findCycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const groups = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of (graph.get(v) ?? new Map()).keys()) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const group = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return groups.map((group) => ({ domains: group, cycle: cycleIn(graph, group) }));
}

/** One shortest cycle from the group's first domain back to itself, as a list of domains. */
function cycleIn(graph, group) {
  const members = new Set(group);
  const start = group[0];
  const prev = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of (graph.get(v) ?? new Map()).keys()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = prev.get(v); p !== undefined; p = prev.get(p)) path.unshift(p);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** The report lines for the cycles found (empty when there are none): one cycle, then every edge inside the group. */
export function describeCycles(graph, cycles) {
  const lines = [];
  for (const { domains, cycle } of cycles) {
    const members = new Set(domains);
    lines.push(`import cycle between src/services domains ${domains.join(', ')}: ${cycle.join(' -> ')}`);
    lines.push('  edges inside the group (one import chain each):');
    for (const from of domains) {
      for (const [to, chain] of graph.get(from) ?? new Map()) {
        if (members.has(to)) lines.push(`    ${from} -> ${to}: ${chain.join(' -> ')}`);
      }
    }
  }
  return lines;
}

function listSources(root, dir, out) {
  for (const name of readdirSync(join(root, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) listSources(root, path, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.set(path, readFileSync(join(root, path), 'utf8'));
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--root');
  const root = at > 0 ? process.argv[at + 1] : relative(process.cwd(), fileURLToPath(new URL('..', import.meta.url))) || '.';
  const files = new Map();
  for (const dir of ['src', 'db']) if (existsSync(join(root, dir))) listSources(root, dir, files);
  const graph = domainGraph(files);
  const cycles = findCycles(graph);
  if (cycles.length === 0) {
    console.log(`import cycles: none between the ${graph.size} src/services domains`);
  } else {
    for (const line of describeCycles(graph, cycles)) console.error(line);
    process.exit(1);
  }
}
