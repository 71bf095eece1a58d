import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cron } from 'croner';
import { jobs } from '../../workers/index';

test('every job has a unique name and a valid five-field cron schedule', () => {
  assert.equal(new Set(jobs.map((j) => j.name)).size, jobs.length);
  for (const j of jobs) {
    assert.equal(j.schedule.trim().split(/\s+/).length, 5, `${j.name}: five fields (Workers cron triggers)`);
    assert.doesNotThrow(() => new Cron(j.schedule, { paused: true }).stop(), j.name);
  }
});

test('wrangler.toml cron triggers are exactly the job schedules', () => {
  const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
  const m = /^crons\s*=\s*\[([^\]]*)\]/m.exec(toml);
  assert.ok(m, 'wrangler.toml has [triggers] crons');
  const crons = [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]).sort();
  assert.deepEqual(crons, [...new Set(jobs.map((j) => j.schedule))].sort());
});

test('server schedules: each job still runs in every minute its Workers schedule names, and no two jobs start in the same second', () => {
  // One day of ticks, second by second. The outbox drainer and the platform reconcile worker run every
  // second (one indexed read when there is nothing to do; the reconcile turn lets the loop run between
  // its tasks, so a job starting beside it interleaves rather than stacks) and are left out; every other pair starting together stacks its queries on
  // the one event loop (at 10,000 fogs the quarter-hour second took 245 ms while they all started at :00).
  const from = new Date('2026-01-05T00:00:00Z');
  const to = from.getTime() + 86_400_000;
  const bySecond = new Map<number, string[]>();
  for (const j of jobs) {
    const server = new Cron(j.serverSchedule ?? j.schedule, { paused: true, timezone: 'UTC' });
    const workers = new Cron(j.schedule, { paused: true, timezone: 'UTC' });
    for (let t = workers.nextRun(new Date(from.getTime() - 1000)); t && t.getTime() < to; t = workers.nextRun(t)) {
      const next = server.nextRun(new Date(t.getTime() - 1000));
      assert.ok(next && next.getTime() < t.getTime() + 60_000, `${j.name}: no server tick in the minute of ${t.toISOString()}`);
    }
    if (j.name !== 'outbox-drainer' && j.name !== 'platform-reconcile-worker') {
      for (let t = server.nextRun(new Date(from.getTime() - 1000)); t && t.getTime() < to; t = server.nextRun(t)) {
        const s = t.getTime() / 1000;
        bySecond.set(s, [...(bySecond.get(s) ?? []), j.name]);
      }
    }
    server.stop();
    workers.stop();
  }
  const together = [...bySecond].filter(([, names]) => names.length > 1).slice(0, 3);
  assert.deepEqual(
    together.map(([s, names]) => `${new Date(s * 1000).toISOString()} ${names.join('+')}`),
    [],
  );
});
