// `controller db …`: the database maintenance commands of the bundle (`node dist/controller.mjs db …`,
// also `docker run … node dist/controller.mjs db …`). Output is one JSON summary on stdout; the exit
// code is 0 on success, 1 when the operation failed or was refused, 2 on a usage error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { ensureDbFolder } from '../runtime/fs';
import type { RuntimeAdapter } from '../runtime/types';
import { backupDatabase } from './db-backup';
import { CopyRefused, copyDatabase, redactUrl } from './db-copy';

export const DB_USAGE = `usage:
  controller db copy --from <url> --to <url> [--force] [--batch <rows>]
      Copies every table (foreign-key order, batches of --batch rows per transaction, default 500)
      and checks the row count of each table. The target is migrated first. A target that already
      holds data is refused unless --force, which EMPTIES the target first. Stop every instance
      writing to --from first (or copy from a 'db backup' file). Both sides need the same
      ENCRYPTION_KEY: encrypted columns are copied as stored.
      Remote libSQL tokens: DB_COPY_FROM_AUTH_TOKEN, DB_COPY_TO_AUTH_TOKEN.
  controller db backup --to <file> [--from <url>] [--force]
      Online backup of the embedded database (default: DB_URL) with VACUUM INTO; safe while the
      server runs. Refuses to replace an existing file unless --force.`;

class UsageError extends Error {}

function parse(args: string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || !v.trim()) throw new UsageError(`--${name} is required`);
  return v.trim();
}

async function run(rt: RuntimeAdapter, args: string[]): Promise<{ ok: boolean }> {
  const [sub, ...rest] = args;
  const env = rt.env();
  if (sub === 'copy') {
    const v = parse(rest, {
      from: { type: 'string' },
      to: { type: 'string' },
      force: { type: 'boolean' },
      batch: { type: 'string' },
    });
    const batch = v.batch === undefined ? undefined : Number(v.batch);
    if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 10_000))
      throw new UsageError('--batch must be a whole number from 1 to 10000');
    const from = requireString(v, 'from');
    const to = requireString(v, 'to');
    // A new embedded target gets its folder (0700) and file (0600) as the server would create them.
    await ensureDbFolder(to);
    return copyDatabase(rt.createClient, {
      from,
      to,
      force: v.force === true,
      batchRows: batch,
      authTokenFrom: env.DB_COPY_FROM_AUTH_TOKEN,
      authTokenTo: env.DB_COPY_TO_AUTH_TOKEN,
    });
  }
  if (sub === 'backup') {
    const v = parse(rest, { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' } });
    const from = typeof v.from === 'string' && v.from.trim() ? v.from.trim() : loadConfig(env).db.url;
    return backupDatabase(rt.createClient, { from, to: requireString(v, 'to'), force: v.force === true });
  }
  if (sub === undefined || sub === 'help' || sub === '--help') throw new UsageError('');
  throw new UsageError(`unknown db command ${JSON.stringify(sub)}`);
}

export async function runDbCommand(rt: RuntimeAdapter, args: string[]): Promise<never> {
  try {
    const summary = await run(rt, args);
    rt.stdout(JSON.stringify(summary, null, 2));
    if (!summary.ok) rt.stderr('db: the row counts of source and target differ (see "tables")');
    return rt.exit(summary.ok ? 0 : 1);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) rt.stderr(`db: ${err.message}`);
      rt.stderr(DB_USAGE);
      return rt.exit(err.message ? 2 : 0);
    }
    const message = err instanceof ConfigError || err instanceof CopyRefused ? err.message : `${(err as Error)?.message ?? err}`;
    rt.stdout(JSON.stringify({ ok: false, error: redactUrl(message) }));
    rt.stderr(`db: ${redactUrl(message)}`);
    return rt.exit(1);
  }
}
