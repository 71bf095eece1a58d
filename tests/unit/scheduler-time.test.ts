// Job schedules are UTC on every host: a daily job at 03:17 runs at 03:17Z even where the local time
// zone is not UTC (the scheduler reads schedules with a fixed offset, not through Intl time zones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cron } from 'croner';
import { CRON_TIME } from '../../src/jobs/scheduler';

test('job schedules are read in UTC whatever the host time zone, across a DST change', () => {
  const before = process.env.TZ;
  process.env.TZ = 'America/New_York';
  try {
    assert.notEqual(new Date('2026-12-07T12:00:00Z').getTimezoneOffset(), 0, 'the test runs in a non-UTC zone');
    const daily = new Cron('17 3 * * *', { paused: true, ...CRON_TIME });
    assert.equal(daily.nextRun(new Date('2026-12-07T12:00:00Z'))?.toISOString(), '2026-12-08T03:17:00.000Z');
    // New York moves its clocks on 2026-03-08: UTC schedules do not move.
    assert.deepEqual(
      daily.nextRuns(3, new Date('2026-03-07T12:00:00Z')).map((d) => d.toISOString()),
      ['2026-03-08T03:17:00.000Z', '2026-03-09T03:17:00.000Z', '2026-03-10T03:17:00.000Z'],
    );
    const everySecond = new Cron('* * * * * *', { paused: true, ...CRON_TIME });
    assert.equal(everySecond.nextRun(new Date('2026-12-07T12:00:00.400Z'))?.toISOString(), '2026-12-07T12:00:01.000Z');
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
});
