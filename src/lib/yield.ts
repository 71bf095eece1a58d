// Node and Bun: setImmediate runs after the loop has polled for I/O and, unlike setTimeout(0), does not
// wait for the timer's 1 ms floor (at 200 pages per list of 10,000 fogs that floor was a fifth of the
// list's time). Deno has setImmediate too, but requests that arrive meanwhile are not served between its
// callbacks: a 10 ms /live sampler waited 54-164 ms during one list read with it, 10-36 ms with
// setTimeout(0) (tests/bench/operator-reads.mjs --runtime deno). Deno and Workers use setTimeout(0).
const nextTurn: (resolve: () => void) => unknown =
  typeof globalThis.setImmediate === 'function' && !('Deno' in globalThis)
    ? (resolve) => globalThis.setImmediate(resolve)
    : (resolve) => setTimeout(resolve, 0);

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
