import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDbFolder, explainFsError, nodeKeyFiles } from '../../src/runtime/fs';

const errno = (code: string, syscall: string, path: string) =>
  Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path, errno: -13 });

test('EACCES and EPERM read "permission denied" with the path and the setting that moves it', () => {
  for (const code of ['EACCES', 'EPERM']) {
    const e = explainFsError(errno(code, 'mkdir', '/srv/ctl/data'), 'create the database folder', '/srv/ctl/data', 'DB_URL') as Error & {
      code: string;
    };
    assert.equal(
      e.message,
      `cannot create the database folder /srv/ctl/data: permission denied (${code}); give this user access there or set DB_URL to another path`,
    );
    assert.equal(e.code, code);
    assert.doesNotMatch(e.message, /\n/);
  }
});

test('the path the system call names wins over the one asked for (mkdir -p stops at the first folder it cannot create)', () => {
  const e = explainFsError(errno('EACCES', 'mkdir', '/srv/ctl'), 'create the database folder', '/srv/ctl/data', 'DB_URL') as Error;
  assert.match(e.message, /^cannot create the database folder \/srv\/ctl: permission denied/);
});

test('errors that are not about the filesystem pass through unchanged', () => {
  const other = Object.assign(new Error('SQLITE_CORRUPT'), { code: 'SQLITE_CORRUPT' });
  assert.equal(explainFsError(other, 'open', '/x', 'DB_URL'), other);
  assert.equal(explainFsError(undefined, 'open', '/x'), undefined);
});

test('a database path under a regular file fails with one line naming the folder and DB_URL (also as root)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'controller-data-folder-'));
  try {
    writeFileSync(join(dir, 'file'), '');
    await assert.rejects(ensureDbFolder(`file:${join(dir, 'file/data/controller.db')}`), (e: Error) => {
      assert.equal(
        e.message,
        `cannot create the database folder ${join(dir, 'file/data')}: a part of the path is a file, not a folder (ENOTDIR); set DB_URL to another path`,
      );
      return true;
    });
    await assert.rejects(
      nodeKeyFiles.write(join(dir, 'file/keys/encryption.key'), 'k'),
      /^Error: cannot create the folder .*file\/keys: .*ENOTDIR.*ENCRYPTION_KEY_FILE/,
    );
    await ensureDbFolder(`file:${join(dir, 'ok/controller.db')}`);
    assert.equal(statSync(join(dir, 'ok/controller.db')).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
