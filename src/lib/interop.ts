/**
 * The module object of a dynamic `import()` of a CommonJS package. The server bundle puts what is imported
 * dynamically in chunks of its own (scripts/build.mjs), and an ES module that imports a CommonJS chunk sees
 * only its `default` export; unbundled (tsx, Deno, Bun) and in the single-file Workers bundle the named
 * exports are there as well. `probe` names one export the caller needs.
 */
export function cjsModule<T extends object>(m: T, probe: keyof T & string): T {
  if (probe in m) return m;
  const d = (m as { default?: unknown }).default;
  if (d && typeof d === 'object' && probe in d) return d as T;
  throw new Error(`dynamic import: the module has no export "${probe}"`);
}
