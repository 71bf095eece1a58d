/**
 * Lets the event loop run (pending I/O, timers, other requests) before the caller goes on. A libSQL
 * statement runs synchronously on the event loop, so work over the whole fleet is done in chunks with
 * this between them. `setTimeout(0)` is the portable form (Node, Deno, Bun, Workers).
 */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Turns of the event loop handed out one at a time, in call order: each call resolves in a task of its
 * own, after the previous call's. Lanes of work that run synchronously for a while (a libSQL transaction
 * is synchronous) then never run back to back in one turn of the loop, with requests waiting behind all
 * of them: pending I/O is served between any two.
 */
export function loopTurns(): () => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  return () => {
    tail = tail.then(yieldToEventLoop);
    return tail;
  };
}
