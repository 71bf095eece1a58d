import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';

/**
 * `offset`/`limit` for a list route whose upstream form has no paging: without them the answer is the
 * whole list, as upstream gives it.
 */
export function pagingQuery(items: string, order: string) {
  return {
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .openapi({ description: `${items} to skip, in ${order}` }),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .openapi({ description: `At most this many ${items.toLowerCase()}` }),
  };
}

/** The sentence every paged list route adds to its OpenAPI description. */
export const PAGING_NOTE =
  'Without `limit` the answer is the whole list, as upstream; `offset` and `limit` (not in upstream) page it. ' +
  'The answer is streamed page by page so that a large fleet never holds the server.';

/**
 * A JSON answer `{"<key>": [ … ]}` written a page at a time: each page is serialised when the client is
 * ready for it, with the event loop free in between, so a list of the whole fleet never holds it for long
 * (one `JSON.stringify` of 10,000 fogs took hundreds of milliseconds on its own). The first page is read
 * before the answer starts, so a bad filter is still a 400 and not a broken stream.
 */
export async function streamJsonList<T>(c: Context, key: string, pages: AsyncGenerator<T[]>): Promise<Response> {
  const encoder = new TextEncoder();
  const first = await pages.next();
  let written = 0;
  const page = (items: T[]): Uint8Array => {
    if (items.length === 0) return new Uint8Array(0);
    // One stringify of the page (its brackets cut off) is ~10 % cheaper than one per item.
    const text = JSON.stringify(items);
    const body = written > 0 ? `,${text.slice(1, -1)}` : text.slice(1, -1);
    written += items.length;
    return encoder.encode(body);
  };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`{${JSON.stringify(key)}:[`));
      if (!first.done) controller.enqueue(page(first.value));
    },
    async pull(controller) {
      const next = first.done ? first : await pages.next();
      if (next.done) {
        controller.enqueue(encoder.encode(']}'));
        controller.close();
      } else {
        controller.enqueue(page(next.value));
      }
    },
    async cancel() {
      await pages.return(undefined);
    },
  });
  return c.body(stream, 200, { 'Content-Type': 'application/json' });
}
