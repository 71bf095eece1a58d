// setImmediate runs after the loop has polled for I/O and, unlike setTimeout(0), does not wait for the
// timer's 1 ms floor: at 200 pages per list of 10,000 fogs that floor was a fifth of the list's time.
// Node, Deno and Bun have it; elsewhere (Workers) setTimeout(0) is the portable form.
const nextTurn: (resolve: () => void) => unknown =
  typeof globalThis.setImmediate === 'function' ? (resolve) => globalThis.setImmediate(resolve) : (resolve) => setTimeout(resolve, 0);

/**
 * Lets the event loop run (pending I/O, timers, other requests) before the caller goes on. A libSQL
 * statement runs synchronously on the event loop, so work over the whole fleet is done in chunks with
 * this between them.
 */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>(nextTurn);

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
