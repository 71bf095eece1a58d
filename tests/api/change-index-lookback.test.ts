import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp } from '../harness/app';
import { ChangeIndex } from '../../src/services/changes/flags';

test('change index: a change row that commits after a higher id was already read (concurrent writers) still marks its fog', async () => {
  const t = await makeTestApp();
  try {
    const db = t.ctx.store.client;
    const now = Date.now();
    for (const f of ['f-early', 'f-high', 'f-late'])
      await db.execute({ sql: 'INSERT INTO fog (uuid, name, created_at, updated_at) VALUES (?, ?, ?, ?)', args: [f, f, now, now] });
    const idx = new ChangeIndex();
    idx.start(t.ctx.store.db, t.ctx.logger);
    await db.execute({ sql: 'INSERT INTO fog_change (id, fog_uuid, flags, created_at) VALUES (1, ?, 1, ?)', args: ['f-early', now] });
    await idx.refresh(t.ctx.store.db);
    await db.execute({ sql: 'INSERT INTO fog_change (id, fog_uuid, flags, created_at) VALUES (10, ?, 1, ?)', args: ['f-high', now] });
    await idx.refresh(t.ctx.store.db);
    assert.equal(idx.mayHavePending('f-high'), true);
    assert.equal(idx.mayHavePending('f-late'), false);
    // Id 5 was handed out before 10 but commits after it was read, as a PostgreSQL sequence allows.
    await db.execute({ sql: 'INSERT INTO fog_change (id, fog_uuid, flags, created_at) VALUES (5, ?, 1, ?)', args: ['f-late', now] });
    await idx.refresh(t.ctx.store.db);
    assert.equal(idx.mayHavePending('f-late'), true);
    idx.stop();
  } finally {
    await t.close();
  }
});
