import { and, asc, eq, gt, gte, or, sql, type SQL } from 'drizzle-orm';
import { application, fog, microservice } from '../../../db/schema/index';
import { columnPlaceholder, renderOnce, ReusableSelect } from '../../../db/statements';
import type { AppCtx } from '../../context';
import { yieldToEventLoop } from '../../lib/yield';
import { presentApplications } from './applications';
import { presentMicroservices } from './presenter';
import { microserviceRows } from './rows';
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

// The page queries, rendered once per variant (db/statements.ts): drizzle rendered each page anew.
// A page is a keyset query: a range on the application name plus a tie-break, so SQLite seeks on the name
// index instead of scanning from the first application on every page.
const microservicePageStatements = [false, true].flatMap((byApplication) =>
  [false, true].map((afterKey) =>
    renderOnce((db) => {
      const conds: SQL[] = [eq(application.isSystem, columnPlaceholder(application.isSystem, 'system'))];
      if (byApplication) conds.push(eq(application.name, sql.placeholder('app')));
      if (afterKey) {
        const afterApp = sql.placeholder('afterApp');
        conds.push(gte(application.name, afterApp), or(gt(application.name, afterApp), gt(microservice.name, sql.placeholder('afterMs')))!);
      }
      return ReusableSelect.from(
        db
          .select({ ms: microserviceRows.selection(db), app: application, agentName: fog.name })
          .from(microservice)
          .innerJoin(application, eq(application.id, microservice.applicationId))
          .leftJoin(fog, eq(fog.uuid, microservice.fogUuid))
          .where(and(...conds))
          .orderBy(asc(application.name), asc(microservice.name))
          .limit(sql.placeholder('limit'))
          .offset(sql.placeholder('offset')),
      );
    }),
  ),
);
const microservicePage = (byApplication: boolean, afterKey: boolean) =>
  microservicePageStatements[(byApplication ? 2 : 0) + (afterKey ? 1 : 0)]!;

const applicationPageStatements = [false, true].map((afterKey) =>
  renderOnce((db) =>
    ReusableSelect.from(
      db
        .select({
          app: application,
          microservices: sql<number>`(select count(*) from ${microservice} where ${microservice.applicationId} = ${application.id})`,
        })
        .from(application)
        .where(
          and(
            eq(application.isSystem, columnPlaceholder(application.isSystem, 'system')),
            afterKey ? gt(application.name, sql.placeholder('after')) : undefined,
          ),
        )
        .orderBy(asc(application.name))
        .limit(sql.placeholder('limit'))
        .offset(sql.placeholder('offset')),
    ),
  ),
);
const applicationPage = (afterKey: boolean) => applicationPageStatements[afterKey ? 1 : 0]!;

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
    const size = Math.min(MICROSERVICE_PAGE, left);
    const rows = await microservicePage(
      Boolean(opts.applicationName),
      after !== undefined,
    )(ctx.db).all(ctx.db, {
      system: opts.system,
      app: opts.applicationName,
      afterApp: after?.app,
      afterMs: after?.ms,
      limit: size,
      offset: skip,
    });
    skip = 0;
    if (rows.length === 0) return;
    const ms = microserviceRows.rows(
      ctx.db,
      rows.map((r) => r.ms),
    );
    after = { app: rows[rows.length - 1]!.app.name, ms: ms[ms.length - 1]!.name };
    const page = await presentMicroservices(
      ctx,
      ms.map((m, i) => ({ ...m, app: rows[i]!.app, agentName: rows[i]!.agentName })),
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
  // Applications read for the next page: each is read with its count of microservices, which is work
  // wasted on those the page then leaves for later. After a page that stopped early, ask for about as
  // many as it took; after a full one, for twice as many, up to APPLICATION_PAGE.
  let ask = APPLICATION_PAGE;
  while (left > 0) {
    const size = Math.min(ask, left);
    const rows = await applicationPage(after !== undefined)(ctx.db).all(ctx.db, { system, after, limit: size, offset: skip });
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
    ask = take < rows.length ? take + 1 : Math.min(APPLICATION_PAGE, ask * 2);
    const apps = rows.slice(0, take).map((r) => r.app);
    after = apps[apps.length - 1]!.name;
    const page = await presentApplications(ctx, apps);
    left -= page.length;
    yield page;
    if (rows.length < size && take === rows.length) return;
    await yieldToEventLoop();
  }
}
