// Entry point for the exec session benchmark without a TypeScript runner on the command line:
//   node tests/bench/ws-sessions.mjs --sessions 1000 [--instances 2] [--seconds 10] [--runtime node|deno|bun]
// Registers tsx in this process and runs tests/bench/ws-sessions.ts, which prints one JSON document.
import { register } from 'tsx/esm/api';

register();
await import('./ws-sessions.ts');
