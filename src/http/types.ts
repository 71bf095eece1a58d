import type { OpenAPIHono } from '@hono/zod-openapi';
import type { RequestCtx } from '../context';

/** What a runtime adapter passes as the second argument of `app.fetch`. */
export interface Bindings {
  /** The TCP peer address, when the runtime knows it. */
  clientIp?: string;
  /** Present when the runtime can accept a WebSocket upgrade for this request. */
  upgrade?: import('../ws/types').Upgrade;
  /**
   * Node: the response the runtime is about to write. Headers set on it before it is written are
   * merged into the handler's (the handler's win on a clash) without touching the handler's Response.
   */
  outgoing?: { readonly headersSent: boolean; setHeader(name: string, value: string): unknown };
}

export interface Vars {
  requestId: string;
  ctx: RequestCtx;
  /** `Bearer <token>` built from `?token=` on WebSocket routes. */
  queryBearer?: string;
  /** The request body media types the matched route declares (for the 415 message). */
  bodyTypes?: string[];
}

export type HonoEnv = { Bindings: Bindings; Variables: Vars };
export type App = OpenAPIHono<HonoEnv>;
