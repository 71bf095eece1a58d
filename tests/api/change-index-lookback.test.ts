import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { sql } from 'drizzle-orm';
import { ChangeIndex } from '../../src/services/changes/flags';
import { execute } from '../../db/dialect';

test('change index: a change row that commits after a higher id was already read (concurrent writers) still marks its fog', async () => {
  const t = await makeTestApp();
  try {
    const db = t.ctx.store.db;
    const now = Date.now();
    for (const f of ['f-early', 'f-high', 'f-late'])
      await execute(db, sql`INSERT INTO fog (uuid, name, created_at, updated_at) VALUES (${f}, ${f}, ${now}, ${now})`);
    const idx = new ChangeIndex();
    idx.start(db, t.ctx.logger);
    await execute(db, sql`INSERT INTO fog_change (id, fog_uuid, flags, created_at) VALUES (1, ${'f-early'}, 1, ${now})`);
    await idx.refresh(db);
    await execute(db, sql`INSERT INTO fog_change (id, fog_uuid, flags, created_at) VALUES (10, ${'f-high'}, 1, ${now})`);
    await idx.refresh(db);
    assert.equal(idx.mayHavePending('f-high'), true);
    assert.equal(idx.mayHavePending('f-late'), false);
    // Id 5 was handed out before 10 but commits after it was read, as a PostgreSQL sequence allows.
    await execute(db, sql`INSERT INTO fog_change (id, fog_uuid, flags, created_at) VALUES (5, ${'f-late'}, 1, ${now})`);
    await idx.refresh(db);
    assert.equal(idx.mayHavePending('f-late'), true);
    idx.stop();
  } finally {
    await t.close();
  }
});
