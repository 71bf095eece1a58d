// Entry point for the fleet benchmark without a TypeScript runner on the command line:
//   node tests/bench/fleet.mjs --agents 1000 --ramp 20 --hold 60 [--runtime node|deno|bun]
// Registers tsx in this process (no child process, so the generator CPU figure stays honest)
// and runs tests/bench/fleet.ts, which prints one JSON document on stdout.
import { register } from 'tsx/esm/api';

register();
await import('./fleet.ts');
