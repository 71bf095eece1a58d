// `controller db backup --to <file>`: an online, consistent copy of the embedded database file.
// Only the Node/Deno/Bun entry reaches this module (all three implement node:fs); the Workers
// bundle has no embedded file to back up.
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { getTableName } from 'drizzle-orm';
import { openStore, retryBusy, type CreateLibsqlClient } from '../../db/client';
import { CopyRefused, tablesInForeignKeyOrder } from './db-copy';

export interface BackupSummary {
  ok: boolean;
  from: string;
  to: string;
  bytes: number;
  integrity: string;
  tables: Array<{ table: string; rows: number }>;
  rows: number;
  ms: number;
}

/** `file:./data/controller.db?x=y` → the path SQLite opens. */
export function filePath(url: string): string {
  return url.slice('file:'.length).split('?')[0]!;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Writes a consistent copy of the database at `from` (a `file:` URL) to the file `to` with SQLite's
 * `VACUUM INTO`: it reads inside one read transaction, so it sees one committed state while the
 * server keeps writing (WAL lets writers go on meanwhile), and the output is compacted. The copy is
 * written under a temporary name, checked (`PRAGMA integrity_check`, row counts) and only then
 * renamed to `to`, so a failed or interrupted backup never leaves a half-written file under the
 * final name. An existing `to` is kept unless `force`.
 */
export async function backupDatabase(
  createClient: CreateLibsqlClient,
  opts: { from: string; to: string; force?: boolean },
): Promise<BackupSummary> {
  const started = Date.now();
  if (!opts.from.startsWith('file:')) {
    throw new CopyRefused(
      'db backup copies the embedded database file (DB_URL=file:…); back up PostgreSQL with pg_dump and a libSQL server with its own tools',
    );
  }
  const target = resolve(opts.to.startsWith('file:') ? filePath(opts.to) : opts.to);
  const sourcePath = resolve(filePath(opts.from));
  if (target === sourcePath) throw new CopyRefused('--to is the database file itself');
  if (!(await exists(sourcePath))) throw new CopyRefused(`no database file at ${sourcePath}`);
  if ((await exists(target)) && !opts.force) throw new CopyRefused(`${target} exists; choose another name or pass --force to replace it`);
  const partial = `${target}.partial-${crypto.randomUUID().slice(0, 8)}`;
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await rm(partial, { force: true });
  const source = await openStore(createClient, { url: opts.from, busyTimeoutMs: 1000, writeWaitMs: 5000 });
  try {
    if (source.kind === 'postgres') throw new CopyRefused('db backup copies an embedded file database; back up PostgreSQL with pg_dump');
    const { client } = source;
    // A checkpoint running at that moment can make the read transaction's start fail with BUSY.
    await retryBusy(() => client.execute({ sql: 'VACUUM INTO ?', args: [partial] }));
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  } finally {
    await source.close();
  }
  try {
    // It holds every secret (encrypted) and every password hash: readable by this user only.
    await chmod(partial, 0o600);
    const check = createClient({ url: `file:${partial}`, intMode: 'number' });
    let integrity: string;
    const tables: Array<{ table: string; rows: number }> = [];
    try {
      const rows = (await check.execute('PRAGMA integrity_check')).rows.map((r) => String(Object.values(r)[0]));
      integrity = rows.join('; ');
      for (const t of tablesInForeignKeyOrder()) {
        const name = getTableName(t);
        const n = (await check.execute(`SELECT count(*) AS n FROM "${name}"`)).rows[0]!.n;
        tables.push({ table: name, rows: Number(n) });
      }
    } finally {
      check.close();
    }
    if (integrity !== 'ok') throw new Error(`the backup failed its integrity check: ${integrity}`);
    await rename(partial, target);
    return {
      ok: true,
      from: opts.from,
      to: target,
      bytes: (await stat(target)).size,
      integrity,
      tables,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      ms: Date.now() - started,
    };
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
