// Builds dist/controller.mjs (Node, Deno, Bun) and dist/worker.mjs (Cloudflare Workers).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';

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
await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/controller.mjs',
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
