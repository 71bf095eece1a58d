// Builds dist/controller.mjs with dist/chunks/ (Node, Deno, Bun) and dist/worker.mjs (Cloudflare Workers).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';

execFileSync(process.execPath, ['scripts/gen-assets.mjs'], { stdio: 'inherit' });

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: false,
  legalComments: 'none',
  // Smaller source compiles faster at start-up; identifiers are kept so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // otpauth/noble ship ESM; nothing else needs a shim, but CJS deps that call require() do.
};

const started = Date.now();
// The server bundle is split: dist/controller.mjs holds what a start needs, and what the code imports
// dynamically (the PostgreSQL driver, the template engine, X.509, the NATS client, the docs UI assets, the
// `db` commands, the other runtimes' adapters) goes to dist/chunks/, read only when first used. A start
// then compiles about a third less JavaScript. Chunk names carry a content hash, so a rebuild of the same
// sources rewrites the same files; chunks of earlier builds are removed after the build.
const node = await build({
  ...common,
  entryPoints: { controller: 'src/main.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  metafile: true,
  platform: 'node',
  // The libSQL native binding cannot be bundled; it resolves from node_modules at run time.
  external: ['@libsql/client', 'libsql', 'bufferutil', 'utf-8-validate'],
  // drizzle's libsql entry imports @libsql/client's main entry at load, and with it the HTTP and WebSocket
  // clients for remote servers (a quarter of a second of a cold start on a busy machine). Its sqlite3 entry
  // is the same drizzle() over a client we pass in; the runtime adapters load the remote clients only for
  // a remote URL (src/runtime/fs.ts).
  // Some dependencies (postgres.js) import Node built-ins by bare name ('os', 'net'); Deno resolves
  // only the `node:` form, so the bundle names every built-in that way.
  alias: {
    ...Object.fromEntries(builtinModules.filter((m) => !m.startsWith('_') && !m.includes('/')).map((m) => [m, `node:${m}`])),
    'drizzle-orm/libsql': 'drizzle-orm/libsql/sqlite3',
  },
  banner: {
    js: "import { createRequire as __controllerCreateRequire } from 'node:module';\nconst require = __controllerCreateRequire(import.meta.url);",
  },
});
const written = new Set(Object.keys(node.metafile.outputs).map((f) => resolve(f)));
const chunkDir = resolve('dist/chunks');
for (const name of existsSync(chunkDir) ? readdirSync(chunkDir) : []) {
  if (!written.has(join(chunkDir, name))) rmSync(join(chunkDir, name), { force: true });
}
await build({
  ...common,
  entryPoints: ['src/runtime/worker.ts'],
  outfile: 'dist/worker.mjs',
  platform: 'browser',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['browser', 'module', 'main'],
  // postgres.js's `workerd` build opens TCP sockets with `cloudflare:sockets` and uses node:buffer,
  // node:events and node:stream; src/runtime/pg-request-scope.ts uses node:async_hooks. workerd provides
  // them (wrangler.toml: compatibility_flags = ["nodejs_compat"]), so they stay imports.
  external: ['cloudflare:*', 'node:*'],
});
console.log(`built dist/controller.mjs and dist/worker.mjs in ${Date.now() - started} ms`);
