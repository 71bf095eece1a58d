import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Small key/value settings owned by the Controller itself (e.g. the encryption-key check value). */
export const controllerSetting = sqliteTable('controller_setting', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * One row per (job, scheduled tick). Inserting the row is the lease: the instance whose insert
 * wins runs the tick, every other instance skips it.
 */
export const jobRun = sqliteTable(
  'job_run',
  {
    job: text('job').notNull(),
    tick: integer('tick').notNull(),
    owner: text('owner').notNull(),
    startedAt: integer('started_at').notNull(),
    finishedAt: integer('finished_at'),
    result: text('result'),
  },
  (t) => [primaryKey({ columns: [t.job, t.tick] })],
);
