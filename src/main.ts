// Entry of dist/controller.mjs — the same file runs on Node, Deno and Bun.
// Nothing is exported: Bun would auto-serve a default export with a `fetch`.
import { detectRuntime } from './runtime/detect';
import { runServer } from './server';

const rt = await detectRuntime();
await runServer(rt);
