// Entry point for the operator-reads benchmark without a TypeScript runner on the command line:
//   node tests/bench/operator-reads.mjs --fogs 10000 --microservices 10000
// Registers tsx in this process (no child process, so the generator CPU figure stays honest)
// and runs tests/bench/operator-reads.ts, which prints one JSON document on stdout.
import { register } from 'tsx/esm/api';

register();
await import('./operator-reads.ts');
