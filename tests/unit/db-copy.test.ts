import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTableName } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { dialectOf, identityResetStatements, redactUrl, tablesInForeignKeyOrder } from '../../src/cli/db-copy';

test('db copy: parents come before the tables that reference them, and every table is there once', () => {
  const order = tablesInForeignKeyOrder();
  const names = order.map((t) => getTableName(t));
  assert.equal(new Set(names).size, names.length);
  for (const [i, t] of order.entries()) {
    for (const fk of getTableConfig(t).foreignKeys) {
      const parent = getTableName(fk.reference().foreignTable);
      assert.ok(names.indexOf(parent) < i, `${parent} before ${names[i]}`);
    }
  }
  for (const expected of ['fog', 'microservice', 'application', 'auth_user', 'auth_user_group', 'volume_mount_fog', 'job_run', 'secret'])
    assert.ok(names.includes(expected), expected);
});

test('db copy: identity sequences are advanced on PostgreSQL only, for integer ids', () => {
  assert.deepEqual(identityResetStatements('sqlite'), []);
  const pg = identityResetStatements('postgres');
  assert.ok(
    pg.includes(
      `SELECT setval(pg_get_serial_sequence('"application"', 'id'), COALESCE((SELECT MAX("id") FROM "application"), 0) + 1, false)`,
    ),
    pg.join('\n'),
  );
  assert.ok(!pg.some((s) => s.includes('"fog"')), 'fog is keyed by a uuid: no sequence');
  assert.ok(!pg.some((s) => s.includes('"job_run"')), 'composite keys have no sequence');
  assert.equal(dialectOf('postgres://u:p@h/db'), 'postgres');
  assert.equal(dialectOf('postgresql://h/db'), 'postgres');
  assert.equal(dialectOf('file:./data/controller.db'), 'sqlite');
});

test('db copy: passwords in URLs never reach the output', () => {
  assert.equal(redactUrl('postgres://ctl:s3cret@db:5432/controller'), 'postgres://ctl:***@db:5432/controller');
  assert.equal(redactUrl('error for postgres://ctl:s3cret@db/c here'), 'error for postgres://ctl:***@db/c here');
  assert.equal(redactUrl('file:./data/controller.db'), 'file:./data/controller.db');
});
