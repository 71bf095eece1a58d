// Entry point for the fleet benchmark without a TypeScript runner on the command line:
//   node tests/bench/fleet.mjs --agents 1000 --ramp 20 --hold 60 [--runtime node|deno|bun]
//   node tests/bench/fleet.mjs --db both --instances 2 --agents 300 --ramp 10 --hold 20 --server-cpus 0 --client-cpus 1
//     (libSQL, PostgreSQL, and PostgreSQL with two instances behind HAProxy, one after another)
// Registers tsx in this process (no child process, so the generator CPU figure stays honest)
// and runs tests/bench/fleet.ts, which prints one JSON document on stdout; its header comment
// describes every flag (--db libsql|postgres|both, --instances N, --haproxy, pinning, env).
import { register } from 'tsx/esm/api';

register();
await import('./fleet.ts');
