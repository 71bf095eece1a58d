import type { OpenAPIHono } from '@hono/zod-openapi';
import type { RequestCtx } from '../context';

/** What a runtime adapter passes as the second argument of `app.fetch`. */
export interface Bindings {
  /** The TCP peer address, when the runtime knows it. */
  clientIp?: string;
}

export interface Vars {
  requestId: string;
  ctx: RequestCtx;
}

export type HonoEnv = { Bindings: Bindings; Variables: Vars };
export type App = OpenAPIHono<HonoEnv>;
