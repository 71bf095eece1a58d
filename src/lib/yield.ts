/**
 * Lets the event loop run (pending I/O, timers, other requests) before the caller goes on. A libSQL
 * statement runs synchronously on the event loop, so work over the whole fleet is done in chunks with
 * this between them. `setTimeout(0)` is the portable form (Node, Deno, Bun, Workers).
 */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, 0));
