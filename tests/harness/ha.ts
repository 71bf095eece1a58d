// The shared database of the HA test, and the few direct reads the test makes of it (the job leases).
import { createClient } from '@libsql/client';
import { join } from 'node:path';

/**
 * The database the HA test's instances share when it is not a fresh PostgreSQL database: HA_DB_URL when
 * it is a URL, else one embedded libSQL file that all the processes open (SQLite serializes their writes).
 */
export function haDatabaseUrl(dir: string): string {
  const url = process.env.HA_DB_URL?.trim();
  return url && url !== 'postgres' && url !== 'file' ? url : `file:${join(dir, 'shared', 'controller.db')}`;
}

/** Runs one read-only query against the shared database, whatever its dialect; rows as plain objects. */
export async function queryShared(url: string, text: string): Promise<Array<Record<string, unknown>>> {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { default: postgres } = await import('postgres');
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      return (await sql.unsafe(text)).map((r) => ({ ...r }));
    } finally {
      await sql.end();
    }
  }
  const c = createClient({ url, intMode: 'number' });
  try {
    return (await c.execute(text)).rows.map((r) => ({ ...r }));
  } finally {
    c.close();
  }
}
