// Entry point for the fleet-wide reconcile benchmark without a TypeScript runner on the command line:
//   node tests/bench/reconcile.mjs --fogs 10000 [--router-mode edge|none] [--runtime node]
// Registers tsx in this process and runs tests/bench/reconcile.ts, which prints one JSON document on stdout.
import { register } from 'tsx/esm/api';

register();
await import('./reconcile.ts');
