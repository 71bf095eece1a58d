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
