// PostgreSQL on Cloudflare Workers: the connections belong to the request that opened them.
//
// workerd ties every socket to the request (or cron event) that opened it. A connection opened while
// serving one request cannot be used while serving the next ("Cannot perform I/O on behalf of a
// different request"): with one postgres.js pool per isolate, as on Node, every other query failed
// and /status alternated between 200 and 503. The isolate still keeps one context (keys, caches, the
// drizzle handle, prepared statement texts); only the postgres.js client under that handle is a
// stand-in that hands each call to the client of the request it runs in. That client is found through
// AsyncLocalStorage (nodejs_compat), opened on first use and ended once the request is done.
//
// Each request therefore pays a connection set-up (TCP and the startup handshake; TLS and SCRAM too
// against a remote server). Hyperdrive removes most of that in production: its connection string points
// at a pooler next to the Worker (see README, "Cloudflare Workers").
import { AsyncLocalStorage } from 'node:async_hooks';
import type postgres from 'postgres';
import type { PgDriver } from '../../db/pg-driver';

type Sql = postgres.Sql;
type Options = NonNullable<Parameters<PgDriver['postgres']>[1]>;

/**
 * Most connections one request opens. Workers allow six open outbound connections per invocation; a
 * request needs more than one only when it reads outside the transaction it holds, and the rest stay
 * free for fetch() calls (an external IdP's keys, say).
 */
export const MAX_CONNECTIONS_PER_REQUEST = 3;

/** The PostgreSQL clients one request or cron event opened. */
export class PgRequestScope {
  #clients = new Map<object, Sql>();

  /** The client of `owner` (one stand-in) for this request, opened by `open` on first use. */
  client(owner: object, open: () => Sql): Sql {
    let sql = this.#clients.get(owner);
    if (!sql) {
      sql = open();
      this.#clients.set(owner, sql);
    }
    return sql;
  }

  /** Ends the clients opened so far: queries still running finish first (up to `timeoutSec`). */
  async end(timeoutSec = 5): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((sql) => sql.end({ timeout: timeoutSec }).catch(() => {})));
  }

  /** Ends what `owner` opened in this request (the stand-in's own `end()`). */
  async endOf(owner: object, timeoutSec?: number): Promise<void> {
    const sql = this.#clients.get(owner);
    this.#clients.delete(owner);
    await sql?.end({ timeout: timeoutSec });
  }
}

export interface RequestScopedPg {
  /** The driver to hand to bootstrap: its `postgres()` returns a stand-in bound to no connection. */
  driver: PgDriver;
  /** Runs `fn` (one request or cron event) with `scope` as the owner of the connections it uses. */
  run<T>(scope: PgRequestScope, fn: () => T): T;
}

export function requestScopedPg(real: PgDriver, maxPerRequest = MAX_CONNECTIONS_PER_REQUEST): RequestScopedPg {
  const requests = new AsyncLocalStorage<PgRequestScope>();

  const postgresPerRequest = (url: string, options: Options = {}): Sql => {
    // Never connects (postgres.js connects on the first query, and nothing queries it): it holds the
    // options, the type parsers and serializers, which drizzle adjusts on the client it is given.
    const template = real.postgres(url, options);
    const owner = {};
    const open = (): Sql => {
      const sql = real.postgres(url, { ...options, max: Math.min(options.max ?? maxPerRequest, maxPerRequest) });
      Object.assign(sql.options.parsers, template.options.parsers);
      Object.assign(sql.options.serializers, template.options.serializers);
      return sql;
    };
    const current = (): Sql => {
      const scope = requests.getStore();
      if (!scope) throw new Error('PostgreSQL was used outside a request or cron event; on Workers every connection belongs to one');
      return scope.client(owner, open);
    };
    return new Proxy(template, {
      apply: (_target, thisArg, args) => Reflect.apply(current(), thisArg, args),
      get(target, prop) {
        if (prop === 'options') return target.options;
        if (prop === 'end') return (opts?: { timeout?: number }) => requests.getStore()?.endOf(owner, opts?.timeout) ?? Promise.resolve();
        const sql = current();
        const value = Reflect.get(sql, prop, sql);
        return typeof value === 'function' ? value.bind(sql) : value;
      },
    });
  };

  return {
    driver: { postgres: postgresPerRequest as PgDriver['postgres'], drizzle: real.drizzle },
    run: (scope, fn) => requests.run(scope, fn),
  };
}
