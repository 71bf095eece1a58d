import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WalCheckpointer } from '../../db/client';

// The checkpointing thread: its own connection to the file, a PASSIVE checkpoint every interval.
// PASSIVE never waits for readers or the writer; what it cannot copy now it copies next time.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.libsql);
const db = new Database(workerData.path);
db.exec('PRAGMA busy_timeout = ' + workerData.busyTimeoutMs);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
setInterval(() => {
  try {
    checkpoint.all();
  } catch {
    // busy or locked: the next tick tries again
  }
}, workerData.intervalMs);
`;

/** The file path of a `file:` URL as libSQL opens it. */
function filePath(url: string): string {
  const bare = url.split('?')[0]!;
  return bare.startsWith('file://') ? fileURLToPath(bare) : bare.slice('file:'.length);
}

/**
 * WAL checkpoints of the embedded database on a thread of their own. SQLite otherwise checkpoints
 * inside the COMMIT that takes the WAL past 1,000 pages, on the connection that commits — on the
 * event loop here: copying the pages and the fsync stalled every request for 0.4–0.5 s at 10,000
 * agents (CPU profile of the fleet bench). With this running, the server's connections turn
 * automatic checkpoints off. A thread that dies is restarted (after 1 s); SQLite also checkpoints
 * when the last connection closes.
 */
export const nodeWalCheckpointer: WalCheckpointer = (url, busyTimeoutMs) => {
  let libsql: string;
  try {
    const require = createRequire(import.meta.url);
    libsql = createRequire(require.resolve('@libsql/client')).resolve('libsql');
  } catch {
    return undefined;
  }
  const path = filePath(url);
  if (!path || path === ':memory:') return undefined;
  let stopped = false;
  let worker: Worker | undefined;
  let restart: ReturnType<typeof setTimeout> | undefined;
  const start = () => {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { libsql, path, busyTimeoutMs, intervalMs: 1000 } });
    worker.unref();
    const again = () => {
      worker = undefined;
      if (stopped || restart) return;
      restart = setTimeout(() => {
        restart = undefined;
        if (!stopped) start();
      }, 1000);
      restart.unref?.();
    };
    worker.on('error', again);
    worker.on('exit', again);
  };
  start();
  return () => {
    stopped = true;
    if (restart) clearTimeout(restart);
    void worker?.terminate();
  };
};
