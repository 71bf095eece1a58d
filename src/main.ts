// Entry of dist/controller.mjs — the same file runs on Node, Deno and Bun.
// Nothing is exported: Bun would auto-serve a default export with a `fetch`.
// Without arguments it is the server; `db …` runs a database maintenance command and exits.
import { detectRuntime } from './runtime/detect';
import { runServer } from './server';

const rt = await detectRuntime();
const [command, ...rest] = rt.args();
if (command === undefined) {
  await runServer(rt);
} else if (command === 'db') {
  const { runDbCommand } = await import('./cli/db-command');
  await runDbCommand(rt, rest);
} else {
  rt.stderr(`unknown command ${JSON.stringify(command)}: run without arguments to start the server, or "db help"`);
  rt.exit(2);
}
