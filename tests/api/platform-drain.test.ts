import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { ADMIN } from '../harness/app';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { ManualClock } from '../../src/lib/clock';
import { Vault } from '../../src/crypto/vault';
import { eq } from 'drizzle-orm';
import { fogPlatformStatus, fogPlatformTask } from '../../db/schema/index';
import { withTransaction } from '../../db/tx';
import { createFog } from '../../src/services/fogs/fogs';
import { claimTask, drainFogTasks, processFogTasks, requestReconcile } from '../../src/services/platform/fog-platform';
import { enqueueFogReconcile, enqueueFogsReconcile } from '../../src/services/changes/reconcile-queue';
import { platformReconcileWorkerJob } from '../../workers/platform-reconcile-worker';

/**
 * The reconcile worker drains the fog task queue in turns (many tasks per turn, not one per tick) and
 * keeps the lease rules: across instances draining at the same time every task is reconciled once, a
 * task claimed by an instance that died is left alone until its lease expires and is then taken over,
 * and a turn stops when the server is busy with requests (but always moves at least one task on).
 */
test('platform drain: turns drain many tasks; two instances at once reconcile each task once; a dead instance’s task waits for its lease; busy stops a turn', {
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-drain-'));
  const key = Vault.generateKey();
  const clock = new ManualClock();
  const env = () =>
    loadConfig({
      DB_URL: `file:${join(dir, 'c.db')}`,
      ENCRYPTION_KEY: key,
      OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
      OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    });
  const a = await bootstrap({ config: env(), logger: createLogger('silent'), createClient, clock });
  const b = await bootstrap({ config: env(), logger: createLogger('silent'), createClient, clock });
  try {
    const uuids: string[] = [];
    for (let i = 0; i < 12; i++)
      uuids.push((await createFog(a, { name: `f${String(i).padStart(2, '0')}`, archId: 1, routerMode: 'none', natsMode: 'none' })).uuid);
    // The first reconcile of each fog issues its agent certificate (a key each); one worker turn takes them all.
    // Four lanes (RECONCILE_CONCURRENCY's default): instance b watches how many tasks are in progress at once.
    let busiest = 0;
    let running = true;
    const watch = (async () => {
      while (running) {
        const rows = await b.db.select({ status: fogPlatformTask.status }).from(fogPlatformTask);
        busiest = Math.max(busiest, rows.filter((r) => r.status === 'in_progress').length);
        await new Promise((r) => setTimeout(r, 2)); // sleep-ok: sampling pace
      }
    })();
    const first = await platformReconcileWorkerJob.run(a);
    running = false;
    await watch;
    assert.ok(busiest > 1 && busiest <= 4, `tasks in progress at once: ${busiest} (lanes work side by side, at most 4)`);
    assert.deepEqual({ reconciled: first?.reconciled, failed: first?.failed }, { reconciled: 12, failed: [] });
    assert.deepEqual(await a.db.select().from(fogPlatformTask), []);

    // A change that touches every fog (here: a retry of each) drains again, without new keys.
    for (const u of uuids) await requestReconcile(a, u);
    assert.equal(
      (await drainFogTasks(a, { budgetMs: 0 })).stoppedBy,
      'budget',
      'an exhausted budget ends the turn before claiming anything',
    );
    const two = await drainFogTasks(a, { budgetMs: 60_000, maxTasks: 2, concurrency: 4 });
    assert.equal(two.reconciled.length, 2);
    assert.equal(two.stoppedBy, 'budget');

    // Busy: the loop is late, so the turn stops after the task it had to move on.
    const lagMs = a.admission.lagMs.bind(a.admission);
    a.admission.lagMs = () => 500;
    const busy = await drainFogTasks(a, { budgetMs: 60_000, concurrency: 4 });
    assert.equal(busy.stoppedBy, 'busy');
    assert.equal(busy.reconciled.length, 1, 'with several lanes too, a busy turn moves one task on');
    a.admission.lagMs = lagMs;

    // Instance b claims a task and dies before finishing it.
    const orphan = await claimTask(b);
    assert.ok(orphan);
    const seen: string[] = [...two.reconciled, ...busy.reconciled];
    // Both instances work three tasks at a time: lanes claim like instances do.
    const [ra, rb] = await Promise.all([
      drainFogTasks(a, { budgetMs: 60_000, concurrency: 3 }),
      drainFogTasks(b, { budgetMs: 60_000, concurrency: 3 }),
    ]);
    assert.equal(ra.stoppedBy, 'empty');
    assert.equal(rb.stoppedBy, 'empty');
    seen.push(...ra.reconciled, ...rb.reconciled, ...ra.failed, ...rb.failed);
    assert.deepEqual([...seen].sort(), uuids.filter((u) => u !== orphan.fogUuid).sort(), 'every other task once, none twice');
    const left = await a.db.select().from(fogPlatformTask);
    assert.deepEqual(
      left.map((t) => [t.fogUuid, t.status]),
      [[orphan.fogUuid, 'in_progress']],
      'the dead instance’s task is leased, not taken over',
    );

    // Once the lease has expired, a live instance takes the task over.
    clock.advance(300_001);
    assert.deepEqual(await processFogTasks(a, 5), { reconciled: [orphan.fogUuid], failed: [] });
    assert.deepEqual(await a.db.select().from(fogPlatformTask), []);
  } finally {
    a.store.close();
    b.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('enqueueing many fogs at once follows the one-fog rules: delete stays, the higher generation wins, in-progress stays leased, failed starts over', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-enqueue-'));
  const ctx = await bootstrap({
    config: loadConfig({
      DB_URL: `file:${join(dir, 'c.db')}`,
      ENCRYPTION_KEY: Vault.generateKey(),
      OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
      OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    }),
    logger: createLogger('silent'),
    createClient,
    clock: new ManualClock(),
  });
  try {
    // Each state twice: one fog goes through the one-fog enqueue, its twin through the batch.
    const states: Array<{ task?: Partial<typeof fogPlatformTask.$inferInsert>; phase?: string; gen: number }> = [
      { gen: 1 },
      { task: { status: 'pending', reason: 'spec-changed', specGeneration: 1 }, phase: 'Ready', gen: 1 },
      { task: { status: 'pending', reason: 'spec-changed', specGeneration: 5 }, phase: 'Pending', gen: 3 },
      {
        task: { status: 'in_progress', reason: 'spec-changed', specGeneration: 2, leaderUuid: 'x', claimedAt: 7 },
        phase: 'Progressing',
        gen: 4,
      },
      {
        task: { status: 'failed', reason: 'spec-changed', specGeneration: 1, attempts: 10, lastError: 'boom', nextAttemptAt: null },
        phase: 'Failed',
        gen: 1,
      },
      {
        task: { status: 'pending', reason: 'spec-changed', specGeneration: 1, attempts: 2, lastError: 'flaky', nextAttemptAt: 99 },
        phase: 'Failed',
        gen: 1,
      },
      { task: { status: 'pending', reason: 'delete', specGeneration: 1 }, phase: 'Deleting', gen: 1 },
    ];
    const single: Array<{ uuid: string; gen: number }> = [];
    const batch: Array<{ uuid: string; gen: number }> = [];
    for (const [i, st] of states.entries()) {
      for (const list of [single, batch]) {
        const { uuid } = await createFog(ctx, {
          name: `${list === single ? 's' : 'b'}${i}`,
          archId: 1,
          routerMode: 'none',
          natsMode: 'none',
        });
        await ctx.db.delete(fogPlatformTask).where(eq(fogPlatformTask.fogUuid, uuid));
        await ctx.db.delete(fogPlatformStatus).where(eq(fogPlatformStatus.fogUuid, uuid));
        if (st.task)
          await ctx.db
            .insert(fogPlatformTask)
            .values({ fogUuid: uuid, createdAt: 1, updatedAt: 1, reason: 'x', specGeneration: 0, status: 'x', ...st.task });
        if (st.phase) await ctx.db.insert(fogPlatformStatus).values({ fogUuid: uuid, phase: st.phase, lastTransitionAt: 1 });
        list.push({ uuid, gen: st.gen });
      }
    }
    await withTransaction(ctx, async (tx) => {
      for (const f of single) await enqueueFogReconcile(tx, f.uuid, 'upstream-changed', f.gen);
      await enqueueFogsReconcile(tx, batch, 'upstream-changed');
    });
    const tasks = new Map((await ctx.db.select().from(fogPlatformTask)).map((t) => [t.fogUuid, t]));
    const statuses = new Map((await ctx.db.select().from(fogPlatformStatus)).map((s) => [s.fogUuid, s]));
    const view = (uuid: string) => {
      const { fogUuid: _t, ...task } = tasks.get(uuid)!;
      const { fogUuid: _s, ...status } = statuses.get(uuid)!;
      return { task, status };
    };
    for (const [i, f] of single.entries()) assert.deepEqual(view(batch[i]!.uuid), view(f.uuid), `state ${i}: ${JSON.stringify(states[i])}`);
    assert.equal(tasks.get(batch[6]!.uuid)!.reason, 'delete');
    assert.equal(tasks.get(batch[3]!.uuid)!.status, 'in_progress');
  } finally {
    ctx.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
