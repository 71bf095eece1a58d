import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asc, eq, sql } from 'drizzle-orm';
import { application, fog, microservice } from '../../db/schema/index';
import { DRIZZLE_MAPPING, rowMappingStats } from '../../db/row-mapping';
import { WideRows } from '../../db/wide-rows';
import { makeTestApp } from '../harness/app';
import { onPostgres, sqliteOnly } from '../harness/postgres';

/**
 * How list reads turn database rows into row objects (db/wide-rows.ts, db/row-mapping.ts): whatever the
 * path, a row must read exactly as drizzle's own `select()` reads it — every key in the same order, the
 * same types (booleans, numbers, null), REAL values to the last digit, text with any character.
 */

/** Same keys in the same order, same values and types (assert's deep equality ignores key order). */
function sameRows(actual: unknown[], expected: unknown[], what: string) {
  assert.equal(actual.length, expected.length, `${what}: row count`);
  actual.forEach((row, i) => {
    assert.deepEqual(Object.keys(row as object), Object.keys(expected[i] as object), `${what}: keys of row ${i}`);
    assert.deepStrictEqual(row, expected[i], `${what}: row ${i}`);
  });
}

async function seed(t: Awaited<ReturnType<typeof makeTestApp>>) {
  const { accessToken: token } = await t.login();
  for (const name of ['fog-a', 'fog-b', 'fog-c']) {
    const r = await t.call('POST', '/api/v3/iofog', {
      token,
      body: { name, archId: 1, routerMode: 'none', natsMode: 'none', tags: ['x', 'ü"\\'] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const microservices = [0, 1, 2].map((k) => ({ name: `ms-${k}`, agentName: 'fog-a', images: [{ containerImage: 'x:1', archId: 1 }] }));
  assert.equal((await t.call('POST', '/api/v3/application', { token, body: { name: 'app-1', microservices } })).status, 201);
  // Values that a careless path would change: REAL values that need 17 digits, text with quotes,
  // backslashes, control characters and characters outside the BMP, a NULL beside them.
  await t.ctx.store.raw.execute(
    'UPDATE fog SET latitude = ?, longitude = ?, cpu_usage = ?, description = ?, host = NULL, network_router = NULL WHERE name = ?',
    [0.1 + 0.2, -122.41941550000001, 12.345678901234567, 'a "quoted"\\ line\nnext\ttab \u0001 ünïcødé 🚀', 'fog-b'],
  );
  await t.ctx.store.raw.execute('UPDATE fog SET memory_usage = ?, last_status_time = ? WHERE name = ?', [
    1e300,
    1_764_000_000_123,
    'fog-c',
  ]);
  // A platform status with every field set (the fog list reads it joined to the page, GET by itself).
  const status = await t.ctx.store.raw.execute(
    'UPDATE fog_platform_status SET phase = ?, observed_generation = ?, last_error = ?, conditions = ? WHERE fog_uuid = (SELECT uuid FROM fog WHERE name = ?)',
    ['Failed', 3, 'router "edge" unreachable', '[{"type":"Ready","status":"False","reason":"Unreachable"}]', 'fog-b'],
  );
  assert.equal(status.rowsAffected, 1, 'fog-b has a platform status row');
}

/** A fresh app with the rows above, closed after `fn`. */
async function withSeeded(fn: (t: Awaited<ReturnType<typeof makeTestApp>>) => Promise<void>): Promise<void> {
  const t = await makeTestApp();
  try {
    await seed(t);
    await fn(t);
  } finally {
    await t.close();
  }
}

test('wide rows: a page of fogs read as JSON text is the page drizzle reads, value for value', async () =>
  withSeeded(async (t) => {
    const db = t.ctx.db;
    const wide = new WideRows(fog);
    const ours = wide.rows(db, await db.select(wide.selection(db)).from(fog).orderBy(asc(fog.name)));
    const theirs = await db.select().from(fog).orderBy(asc(fog.name));
    assert.equal(theirs.length, 3);
    sameRows(ours, theirs, 'fog');
    const b = ours.find((f) => f.name === 'fog-b')!;
    assert.equal(b.latitude, 0.1 + 0.2, 'REAL values keep every digit');
    assert.equal(b.cpuUsage, 12.345678901234567);
    assert.equal(b.description, 'a "quoted"\\ line\nnext\ttab \u0001 ünïcødé 🚀');
    assert.equal(b.host, null);

    const msWide = new WideRows(microservice);
    sameRows(
      msWide.rows(db, await db.select(msWide.selection(db)).from(microservice).orderBy(asc(microservice.name))),
      await db.select().from(microservice).orderBy(asc(microservice.name)),
      'microservice',
    );
  }));

test(
  'wide rows: an integer beyond 2^53 is refused as the client refuses it, not read as another number',
  {
    skip: sqliteOnly('the libSQL client refuses it; PostgreSQL reads bigint columns as text'),
  },
  async () =>
    withSeeded(async (t) => {
      await t.ctx.store.raw.execute("UPDATE fog SET last_status_time = 9007199254740993 WHERE name = 'fog-a'");
      const db = t.ctx.db;
      const wide = new WideRows(fog);
      const selected = await db.select(wide.selection(db)).from(fog).where(eq(fog.name, 'fog-a'));
      assert.throws(() => wide.rows(db, selected), RangeError);
      // drizzle's own read refuses it too (its error wraps the client's RangeError).
      await assert.rejects(db.select().from(fog).where(eq(fog.name, 'fog-a')), (err: Error) => err.cause instanceof RangeError);
    }),
);

test(
  'row mapping: flat and inner-joined selections are built without drizzle, exactly as drizzle builds them; left joins keep drizzle',
  {
    skip: sqliteOnly('installed on the libSQL driver'),
  },
  async () =>
    withSeeded(async (t) => {
      const db = t.ctx.db;
      const cases: Array<{ what: string; builder: { prepare(): unknown }; planned: boolean }> = [
        { what: 'a whole table', builder: db.select().from(fog).orderBy(asc(fog.name)), planned: true },
        {
          what: 'chosen columns with a mapped SQL value',
          builder: db
            .select({ name: fog.name, tags: fog.tags, n: sql<number>`length(${fog.name})`.mapWith(Number), isSystem: fog.isSystem })
            .from(fog),
          planned: true,
        },
        {
          what: 'an inner join into objects',
          builder: db
            .select({ ms: microservice, app: application })
            .from(microservice)
            .innerJoin(application, eq(application.id, microservice.applicationId))
            .orderBy(asc(microservice.name)),
          planned: true,
        },
        {
          what: 'a left join (drizzle nulls a missing side)',
          builder: db
            .select({ f: fog, ms: microservice })
            .from(fog)
            .leftJoin(microservice, eq(microservice.fogUuid, fog.uuid))
            .orderBy(asc(fog.name)),
          planned: false,
        },
      ];
      for (const { what, builder, planned } of cases) {
        const q = builder.prepare() as {
          values(): Promise<unknown[]>;
          mapAllResult(rows: unknown[]): unknown[];
          mapGetResult(rows: unknown[]): unknown;
          [DRIZZLE_MAPPING]: { all(this: unknown, rows: unknown[]): unknown[]; get(this: unknown, rows: unknown[]): unknown };
        };
        const rows = await q.values();
        assert.ok(rows.length >= 3, `${what}: rows to compare`);
        const before = rowMappingStats.planned;
        const ours = q.mapAllResult(rows);
        assert.equal(
          rowMappingStats.planned - before,
          planned ? rows.length : 0,
          `${what}: ${planned ? 'mapped by a plan' : 'left to drizzle'}`,
        );
        sameRows(ours, q[DRIZZLE_MAPPING].all.call(q, rows), what);
        // A second read of the same selection reuses the checked plan and still agrees.
        sameRows(q.mapAllResult(rows), q[DRIZZLE_MAPPING].all.call(q, rows), `${what}, again`);
        sameRows([q.mapGetResult(rows)], [q[DRIZZLE_MAPPING].get.call(q, rows)], `${what}, one row`);
      }
      // The left join really has a missing side here (fog-b and fog-c run no microservice).
      const left = (
        await db.select({ f: fog, ms: microservice }).from(fog).leftJoin(microservice, eq(microservice.fogUuid, fog.uuid))
      ).filter((r) => r.ms === null);
      assert.equal(left.length, 2);
    }),
);

// The same check through the routes, on libSQL and on PostgreSQL: the list item is the item GET shows.
test('row mapping: what the lists answer is unchanged on either database', async () =>
  withSeeded(async (t) => {
    const { accessToken: token } = await t.login();
    const fogs = (await t.call('GET', '/api/v3/iofog-list', { token })).body.fogs as Array<{ uuid: string; name: string }>;
    assert.deepEqual(
      fogs.map((f) => f.name),
      ['fog-a', 'fog-b', 'fog-c'],
    );
    for (const f of fogs) assert.deepEqual(f, (await t.call('GET', `/api/v3/iofog/${f.uuid}`, { token })).body);
    const b = fogs.find((f) => f.name === 'fog-b') as unknown as { latitude: number; platformStatus: { phase: string; lastError: string } };
    if (!onPostgres) assert.equal(b.latitude, 0.1 + 0.2);
    assert.equal(b.platformStatus.phase, 'Failed');
    assert.equal(b.platformStatus.lastError, 'router "edge" unreachable');
    const ms = (await t.call('GET', '/api/v3/microservices', { token })).body.microservices as Array<{ uuid: string }>;
    assert.equal(ms.length, 3);
    for (const m of ms) assert.deepEqual(m, (await t.call('GET', `/api/v3/microservices/${m.uuid}`, { token })).body);
    const apps = (await t.call('GET', '/api/v3/application', { token })).body.applications as Array<{ name: string }>;
    assert.deepEqual(apps, [(await t.call('GET', '/api/v3/application/app-1', { token })).body]);
  }));
