import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { asc } from 'drizzle-orm';
import { jobRun } from '../../db/schema/index';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import type { AppCtx } from '../../src/context';
import { Vault } from '../../src/crypto/vault';
import { ManualClock } from '../../src/lib/clock';
import { createLogger } from '../../src/lib/logger';
import { runTick } from '../../src/jobs/runner';
import type { Job } from '../../src/jobs/types';

/** Two instances (contexts with their own instanceId) on one database file, no HTTP layer. */
async function twoInstances() {
  const dir = mkdtempSync(join(tmpdir(), 'controller-lease-'));
  const env = {
    DB_URL: `file:${join(dir, 'controller.db')}`,
    ENCRYPTION_KEY: Vault.generateKey(),
    JOBS_ENABLED: 'false',
    LOG_LEVEL: 'error',
  };
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 12));
  const boot = () => bootstrap({ config: loadConfig(env), logger: createLogger('error', () => {}), createClient, clock });
  const a = await boot();
  const b = await boot();
  return {
    a,
    b,
    clock,
    close() {
      a.store.close();
      b.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function countingJob(name: string, perInstance: boolean) {
  const runs: string[] = [];
  const job: Job = { name, schedule: '* * * * *', perInstance, run: async (ctx: AppCtx) => void runs.push(ctx.instanceId) };
  return { job, runs };
}

test('job lease: an ordinary job runs once per tick across instances', async () => {
  const s = await twoInstances();
  try {
    const { job, runs } = countingJob('shared-job', false);
    const tick = s.clock.now();
    assert.equal((await runTick(s.a, job, tick)).ran, true);
    assert.deepEqual(await runTick(s.b, job, tick), { ran: false, reason: 'claimed-elsewhere' });
    // Sub-second differences fall into the same tick.
    assert.equal((await runTick(s.b, job, tick + 400)).ran, false);
    assert.deepEqual(runs, [s.a.instanceId]);
    assert.equal((await runTick(s.b, job, tick + 60_000)).ran, true, 'the next tick is a new lease');
    assert.deepEqual(runs, [s.a.instanceId, s.b.instanceId]);
  } finally {
    s.close();
  }
});

test('job lease: a perInstance job runs once per tick on every instance, under a lease named job@instance', async () => {
  const s = await twoInstances();
  try {
    assert.notEqual(s.a.instanceId, s.b.instanceId);
    const { job, runs } = countingJob('beat', true);
    const tick = s.clock.now();
    assert.equal((await runTick(s.a, job, tick)).ran, true);
    assert.equal((await runTick(s.b, job, tick)).ran, true, 'the other instance is not blocked by the first one');
    assert.deepEqual(await runTick(s.a, job, tick), { ran: false, reason: 'claimed-elsewhere' }, 'still once per instance and tick');
    assert.equal((await runTick(s.b, job, tick)).ran, false);
    assert.deepEqual(runs.sort(), [s.a.instanceId, s.b.instanceId].sort());

    const leases = await s.a.db.select().from(jobRun).orderBy(asc(jobRun.job));
    assert.deepEqual(
      leases.map((l) => ({ job: l.job, owner: l.owner, tick: l.tick })).sort((x, y) => x.job.localeCompare(y.job)),
      [
        { job: `beat@${s.a.instanceId}`, owner: s.a.instanceId, tick: Math.floor(tick / 1000) * 1000 },
        { job: `beat@${s.b.instanceId}`, owner: s.b.instanceId, tick: Math.floor(tick / 1000) * 1000 },
      ].sort((x, y) => x.job.localeCompare(y.job)),
    );
    assert.ok(
      leases.every((l) => l.finishedAt !== null),
      'each lease records its finish',
    );
  } finally {
    s.close();
  }
});

test('job lease: a failing perInstance run is recorded on its own lease and does not block the other instance', async () => {
  const s = await twoInstances();
  try {
    const job: Job = {
      name: 'flaky',
      schedule: '* * * * *',
      perInstance: true,
      run: async (ctx) => {
        if (ctx.instanceId === s.a.instanceId) throw new Error('boom');
        return { ok: true };
      },
    };
    const tick = s.clock.now();
    assert.deepEqual(await runTick(s.a, job, tick), { ran: false, reason: 'failed', error: 'boom' });
    assert.deepEqual(await runTick(s.b, job, tick), { ran: true, result: { ok: true } });
    const rows = await s.b.db.select().from(jobRun);
    const byJob = Object.fromEntries(rows.map((r) => [r.job, r.result]));
    assert.equal(byJob[`flaky@${s.a.instanceId}`], 'error: boom');
    assert.equal(byJob[`flaky@${s.b.instanceId}`], '{"ok":true}');
  } finally {
    s.close();
  }
});
