import { constants } from 'node:fs';
import { access, chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { Client, Config } from '@libsql/client';
import { createClient as createFileClient } from '@libsql/client/sqlite3';
import type { KeyFileStore } from '../boot';
import type { RuntimeAdapter } from './types';
import type { TlsSource } from '../config';

const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};

/**
 * A file the Controller could not create, write or read at start, said so that an operator can act on it: what the Controller tried, the path,
 * the reason in words, and the setting that moves it. The raw errno text ("EACCES: permission denied, mkdir …")
 * names neither the setting nor the path the operator chose. Errors that are not about the filesystem pass
 * through unchanged.
 */
export function explainFsError(err: unknown, what: string, path: string, setting?: string): unknown {
  const code = (err as { code?: unknown })?.code;
  const reason = typeof code === 'string' ? FS_REASONS[code] : undefined;
  if (!reason) return err;
  const at = (err as { path?: unknown }).path;
  const where = typeof at === 'string' && at ? at : path;
  const access = reason === 'permission denied' || code === 'EROFS';
  const fix = !setting
    ? ''
    : access
      ? `; give this user access there or set ${setting} to another path`
      : `; set ${setting} to another path`;
  return Object.assign(new Error(`cannot ${what} ${where}: ${reason} (${code})${fix}`), { code, cause: err });
}

/** Filesystem helpers shared by the Node, Deno and Bun adapters (all three implement node:fs). */
export const nodeKeyFiles: KeyFileStore = {
  async read(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined;
      // Also read for NATS_RELAY_CREDS_FILE, so no setting is named here: the path says which file it is.
      throw explainFsError(err, 'read', path);
    }
  },
  async write(path, content) {
    // The files written here (encryption key, replica id, first admin password) all live next to ENCRYPTION_KEY_FILE.
    // The folder holds the key that decrypts every secret: only the Controller's user may list it.
    await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((err) => {
      throw explainFsError(err, 'create the folder', dirname(path), 'ENCRYPTION_KEY_FILE');
    });
    await writeFile(path, content, { mode: 0o600, flag: 'wx' }).catch((err) => {
      throw explainFsError(err, 'write', path, 'ENCRYPTION_KEY_FILE');
    });
  },
};

/**
 * Creates the folder of an embedded database file (`file:./data/controller.db` → ./data) as 0700 and
 * the file itself as 0600 before SQLite opens it: SQLite would create it with the process umask
 * (usually world-readable 0644), and it gives the -wal and -shm files it creates later the mode of
 * the database file. A database left readable by an older version is tightened to 0600.
 */
export async function ensureDbFolder(url: string): Promise<void> {
  if (!url.startsWith('file:')) return;
  const path = url.slice('file:'.length).split('?')[0]!;
  if (path === ':memory:' || path === '') return;
  const folder = dirname(path);
  await mkdir(folder, { recursive: true, mode: 0o700 }).catch((err) => {
    throw explainFsError(err, 'create the database folder', folder, 'DB_URL');
  });
  // SQLite keeps its -wal and -shm files beside the database: a folder it cannot write in would only fail later,
  // with libSQL's "unable to open database file" and no path.
  await access(folder, constants.W_OK).catch((err) => {
    throw explainFsError(err, 'write in the database folder', folder, 'DB_URL');
  });
  // An empty file is a valid new database for SQLite.
  await open(path, 'a', 0o600).then(
    (f) => f.close(),
    (err) => {
      throw explainFsError(err, 'open the database file', path, 'DB_URL');
    },
  );
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    await chmod(file, 0o600).catch((err: { code?: string }) => {
      if (err.code !== 'ENOENT') throw explainFsError(err, 'restrict the mode of', file, 'DB_URL');
    });
  }
}

async function pem(part: { path?: string; base64?: string }): Promise<string> {
  if (part.path) return readFile(part.path, 'utf8');
  return Buffer.from(part.base64 ?? '', 'base64').toString('utf8');
}

/** TLS material from TLS_PATH_* or TLS_BASE64_*; the intermediate, when given, is appended to the chain. */
export async function readTlsFiles(src: TlsSource): Promise<{ cert: string; key: string }> {
  const cert = await pem(src.cert);
  const key = await pem(src.key);
  const chain = src.intermediate ? `${cert.trimEnd()}\n${(await pem(src.intermediate)).trim()}\n` : cert;
  return { cert: chain, key };
}

/**
 * An embedded database (the default) needs only the SQLite client. The package's main entry also loads the
 * HTTP and WebSocket clients for remote libSQL servers (ws, fetch polyfills: a quarter of a second of a
 * cold start on a busy machine), so it is required only when the URL names a server.
 */
export function createClient(config: Config): Client {
  if (config.url.startsWith('file:') || config.url === ':memory:') return createFileClient(config);
  const require = createRequire(import.meta.url);
  return (require('@libsql/client') as typeof import('@libsql/client')).createClient(config);
}

/** The parts of the adapter that Node and Bun share (both implement `process`). */
export const processAdapterBase: Pick<
  RuntimeAdapter,
  'env' | 'args' | 'onShutdownSignal' | 'exit' | 'createClient' | 'keyFiles' | 'readTls' | 'stderr' | 'stdout'
> = {
  env: () => process.env,
  args: () => process.argv.slice(2),
  onShutdownSignal(handler) {
    process.once('SIGTERM', () => handler('SIGTERM'));
    process.once('SIGINT', () => handler('SIGINT'));
  },
  exit: (code) => process.exit(code),
  createClient,
  keyFiles: nodeKeyFiles,
  readTls: readTlsFiles,
  stderr: (line) => process.stderr.write(`${line}\n`),
  stdout: (line) => process.stdout.write(`${line}\n`),
};
