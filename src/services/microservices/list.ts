import { and, asc, eq, gt, gte, or, sql, type SQL } from 'drizzle-orm';
import { application, microservice } from '../../../db/schema/index';
import type { AppCtx } from '../../context';
import { yieldToEventLoop } from '../../lib/yield';
import { presentApplications } from './applications';
import { presentMicroservices } from './presenter';
import type { ApplicationResponse, MicroserviceResponse } from './schemas';

/**
 * The operator lists of microservices and applications, read a page at a time.
 *
 * With a fleet of thousands of fogs these lists hold thousands of rows (every fog has a system application
 * with its router and NATS microservices). Reading and presenting them in one go held the event loop for
 * seconds, and every agent request waited behind it. Here each page is a keyset query (it seeks, so page
 * 200 costs what page 1 costs) followed by a fixed number of reads for the page's details, and the event
 * loop is released between pages. The route streams the pages out; joined, they are exactly the list an
 * unpaged read returned: the same items in the same order.
 */

export interface ListWindow {
  /** Items to skip, in list order. */
  offset?: number;
  /** At most this many items. */
  limit?: number;
}

/**
 * Microservices per page. Reading, presenting and serialising 100 takes ~15 ms of one core here; pages of 200
 * and 300 held the loop for up to 100 ms (tests/bench/operator-reads.mjs, 3,000 microservices, pinned).
 */
const MICROSERVICE_PAGE = 100;
/** Applications per page, and the most microservices a page gathers (an application is never split). */
const APPLICATION_PAGE = 50;
const APPLICATION_PAGE_MICROSERVICES = 100;

/** Microservices in (application name, microservice name) order, as GET /microservices lists them. */
export async function* microservicePages(
  ctx: AppCtx,
  opts: { system: boolean; applicationName?: string },
  window: ListWindow = {},
): AsyncGenerator<MicroserviceResponse[]> {
  let left = window.limit ?? Number.POSITIVE_INFINITY;
  let after: { app: string; ms: string } | undefined;
  let skip = window.offset ?? 0;
  while (left > 0) {
    const conds: SQL[] = [eq(application.isSystem, opts.system)];
    if (opts.applicationName) conds.push(eq(application.name, opts.applicationName));
    // Written as a range on the application name plus a tie-break, so SQLite can seek on the name index
    // instead of scanning from the first application on every page.
    if (after) conds.push(gte(application.name, after.app), or(gt(application.name, after.app), gt(microservice.name, after.ms))!);
    const size = Math.min(MICROSERVICE_PAGE, left);
    const query = ctx.db
      .select({ ms: microservice, app: application })
      .from(microservice)
      .innerJoin(application, eq(application.id, microservice.applicationId))
      .where(and(...conds))
      .orderBy(asc(application.name), asc(microservice.name))
      .limit(size);
    const rows = skip > 0 ? await query.offset(skip) : await query;
    skip = 0;
    if (rows.length === 0) return;
    const last = rows[rows.length - 1]!;
    after = { app: last.app.name, ms: last.ms.name };
    const page = await presentMicroservices(
      ctx,
      rows.map((r) => ({ ...r.ms, app: r.app })),
    );
    left -= page.length;
    yield page;
    if (rows.length < size) return;
    await yieldToEventLoop();
  }
}

/** Applications in name order, each with its microservices, as GET /application lists them. */
export async function* applicationPages(ctx: AppCtx, system: boolean, window: ListWindow = {}): AsyncGenerator<ApplicationResponse[]> {
  let left = window.limit ?? Number.POSITIVE_INFINITY;
  let after: string | undefined;
  let skip = window.offset ?? 0;
  while (left > 0) {
    const size = Math.min(APPLICATION_PAGE, left);
    const query = ctx.db
      .select({
        app: application,
        microservices: sql<number>`(select count(*) from ${microservice} where ${microservice.applicationId} = ${application.id})`,
      })
      .from(application)
      .where(and(eq(application.isSystem, system), after === undefined ? undefined : gt(application.name, after)))
      .orderBy(asc(application.name))
      .limit(size);
    const rows = skip > 0 ? await query.offset(skip) : await query;
    skip = 0;
    if (rows.length === 0) return;
    // A page stops once it has gathered enough microservices, so applications with a hundred
    // microservices each do not make one page a hundred times heavier.
    let take = 0;
    let gathered = 0;
    while (take < rows.length && (take === 0 || gathered + Number(rows[take]!.microservices) <= APPLICATION_PAGE_MICROSERVICES)) {
      gathered += Number(rows[take]!.microservices);
      take++;
    }
    const apps = rows.slice(0, take).map((r) => r.app);
    after = apps[apps.length - 1]!.name;
    const page = await presentApplications(ctx, apps);
    left -= page.length;
    yield page;
    if (rows.length < size && take === rows.length) return;
    await yieldToEventLoop();
  }
}
