import type { z } from '@hono/zod-openapi';
import { jsonAnswer, jsonRequest, type TestApp } from './app';
import { assertShape } from './contract';

/**
 * A typed layer over `TestApp.call()`, whose body is `any`. `callJson` gives the body a type: with a `schema`
 * (the route's own response schema, imported from its domain's `schemas.ts`) a success body is checked strictly
 * against it — a missing, mistyped or undeclared key fails the test — and typed by it; without one the caller
 * names the type. `expect` asserts the status and shows the body when it differs, so a failing step says why.
 *
 * It lives beside `app.ts` rather than in it so the harness factory keeps one job: making the app.
 */

/** The error envelope every 4xx/5xx answer carries. */
export interface ErrorBody {
  name: string;
  message: string;
  code: string;
  requestId: string;
}

export type CallOpts = NonNullable<Parameters<TestApp['call']>[2]>;

export interface JsonResult<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface JsonOpts<S extends z.ZodType | undefined> extends CallOpts {
  /** Response schema a 2xx body must match exactly. */
  schema?: S;
  /** The status the call must answer; the assertion message carries the body. */
  expect?: number;
}

export async function callJson<S extends z.ZodType>(
  t: Pick<TestApp, 'call'>,
  method: string,
  path: string,
  opts: JsonOpts<S> & { schema: S },
): Promise<JsonResult<z.infer<S>>>;
export async function callJson<T = unknown>(
  t: Pick<TestApp, 'call'>,
  method: string,
  path: string,
  opts?: JsonOpts<undefined>,
): Promise<JsonResult<T>>;
export async function callJson(
  t: Pick<TestApp, 'call'>,
  method: string,
  path: string,
  opts: JsonOpts<z.ZodType | undefined> = {},
): Promise<JsonResult<unknown>> {
  const { schema, expect, ...callOpts } = opts;
  const res = await t.call(method, path, callOpts);
  const label = `${method} ${path} → ${res.status}`;
  if (expect !== undefined && res.status !== expect)
    throw new Error(`${label}, expected ${expect}: ${typeof res.body === 'string' ? res.body : JSON.stringify(res.body)}`);
  if (schema && res.status >= 200 && res.status <= 299) assertShape(schema, res.body, label);
  return res;
}

/** An answer that must be an error with `status`: returns the typed envelope, checked to carry all its keys. */
export async function callError(
  t: Pick<TestApp, 'call'>,
  method: string,
  path: string,
  status: number,
  opts: CallOpts = {},
): Promise<ErrorBody> {
  const res = await callJson<ErrorBody>(t, method, path, { ...opts, expect: status });
  for (const k of ['name', 'message', 'code', 'requestId'] as const)
    if (typeof res.body?.[k] !== 'string')
      throw new Error(`${method} ${path} → ${status}: the error envelope lacks ${k}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** `callJson` / `callError` with a bearer token filled in, for tests that act as one user throughout. */
export function asUser(t: Pick<TestApp, 'call'>, token: string) {
  return {
    json<S extends z.ZodType>(method: string, path: string, schema: S, opts: Omit<JsonOpts<S>, 'schema' | 'token'> = {}) {
      return callJson(t, method, path, { ...opts, token, schema });
    },
    call<T = unknown>(method: string, path: string, opts: Omit<JsonOpts<undefined>, 'schema' | 'token'> = {}) {
      return callJson<T>(t, method, path, { ...opts, token });
    },
    error(method: string, path: string, status: number, opts: Omit<CallOpts, 'token'> = {}) {
      return callError(t, method, path, status, { ...opts, token });
    },
  };
}

/** `call()` against a running Controller over HTTP (the e2e tests' built bundle), so they can use `callJson` too. */
export function httpCaller(baseUrl: string): Pick<TestApp, 'call'> {
  return {
    async call(method, path, o = {}) {
      return jsonAnswer(await fetch(baseUrl + path, { method, ...jsonRequest(o) }));
    },
  };
}
