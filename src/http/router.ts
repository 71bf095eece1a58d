import type { Result, Router } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';

/** Paths remembered; past this the memory starts over (a scanner's random paths cannot grow it). */
const MAX_PATHS = 512;

/**
 * Hono's TrieRouter with the answers for paths without parameters remembered by method and path.
 *
 * Hono's default router tries its RegExpRouter first, which refuses this API (a static segment
 * beside a parameter, `/application/system` and `/application/:name`), and then walks the trie for
 * every request: ~3 % of an agent request's event-loop time, for answers that never change — the
 * agent polls hit a handful of fixed paths. A remembered answer is the one the trie gave (the same
 * arrays; Hono only reads them), and only one whose every handler has no parameters is remembered,
 * so no request ever sees another's parameters. Adding a route forgets everything.
 */
export class CachingRouter<T> implements Router<T> {
  readonly name = 'CachingRouter(TrieRouter)';
  readonly #trie = new TrieRouter<T>();
  #answers = new Map<string, Result<T>>();

  /** Answers remembered now. */
  get size(): number {
    return this.#answers.size;
  }

  add(method: string, path: string, handler: T): void {
    this.#answers.clear();
    this.#trie.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    const known = this.#answers.get(key);
    if (known) return known;
    const answer = this.#trie.match(method, path);
    if (withoutParams(answer)) {
      if (this.#answers.size >= MAX_PATHS) this.#answers = new Map();
      this.#answers.set(key, answer);
    }
    return answer;
  }
}

function withoutParams<T>(answer: Result<T>): boolean {
  if (answer[1] !== undefined) return false;
  for (const [, params] of answer[0]) {
    for (const _ in params) return false;
  }
  return true;
}
