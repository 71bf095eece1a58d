import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WalCheckpointer } from '../../db/client';
import { libsqlBindingPath } from './libsql-binding';

// The checkpointing thread: its own connection to the file, a PASSIVE checkpoint every interval.
// PASSIVE never waits for readers or the writer; what it cannot copy now it copies next time.
//
// The thread is never terminated from outside: `worker.terminate()` while the thread holds a libSQL
// connection aborts the whole process (the binding's finaliser panics on the pending termination
// exception — seen in 2 of 5 test runs). On 'stop' it closes its connection itself, closes its port
// and so ends on its own; the parent waits for that.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.libsql);
let db = new Database(workerData.path);
db.exec('PRAGMA busy_timeout = ' + workerData.busyTimeoutMs);
let checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
// Busy or locked: the next tick tries again. Anything else is told to the parent (once per message
// in a row, so a persistent fault is not repeated every second).
let lastError = '';
const report = (err) => {
  const message = String(err && err.message || err);
  if (/SQLITE_BUSY|SQLITE_LOCKED|database is locked/i.test(String(err && err.code) + ' ' + message) || message === lastError) return;
  lastError = message;
  parentPort.postMessage({ error: message });
};
const timer = setInterval(() => {
  try {
    checkpoint.all();
    lastError = '';
  } catch (err) {
    report(err);
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  // The server's connections are closed by now: copy the rest and empty the WAL file (a closing
  // connection would do that only if it were the last one and had no statements left alive).
  try {
    db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').all();
  } catch (err) {
    report(err);
  }
  checkpoint = undefined;
  try {
    db.close();
  } catch (err) {
    report(err);
  }
  db = undefined;
  parentPort.close();
});
`;

/** The file path of a `file:` URL as libSQL opens it. */
function filePath(url: string): string {
  const bare = url.split('?')[0]!;
  return bare.startsWith('file://') ? fileURLToPath(bare) : bare.slice('file:'.length);
}

/** How long stop() waits for the thread to end before leaving it to the process exit. */
const STOP_WAIT_MS = 5000;

/**
 * WAL checkpoints of the embedded database on a thread of their own. SQLite otherwise checkpoints
 * inside the COMMIT that takes the WAL past 1,000 pages, on the connection that commits — on the
 * event loop here: copying the pages and the fsync stalled every request for 0.4–0.5 s at 10,000
 * agents (CPU profile of the fleet bench). With this running, the server's connections checkpoint
 * on commit only past WAL_SAFETY_PAGES (a bound if this thread is gone). A thread that dies is
 * restarted (after 1 s, backing off to a minute); failures are told to `warn`. At stop it
 * checkpoints what is left and truncates the WAL.
 */
export const nodeWalCheckpointer: WalCheckpointer = (url, busyTimeoutMs, warn) => {
  const libsql = libsqlBindingPath();
  if (!libsql) return undefined;
  const path = filePath(url);
  if (!path || path === ':memory:') return undefined;
  let stopped = false;
  let worker: Worker | undefined;
  let exited: Promise<void> = Promise.resolve();
  let restart: ReturnType<typeof setTimeout> | undefined;
  // Restart delay: 1 s, doubled after each thread that lived less than a minute (up to a minute),
  // so a persistent fault (e.g. an unreadable file) is retried — and logged — at most once a minute.
  let delayMs = 1000;
  const start = () => {
    const startedAt = Date.now();
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { libsql, path, busyTimeoutMs, intervalMs: 1000 } });
    worker = w;
    w.unref();
    exited = new Promise((resolve) => {
      let done = false;
      const gone = () => {
        if (done) return;
        done = true;
        if (worker === w) worker = undefined;
        resolve();
        if (stopped || restart) return;
        delayMs = Date.now() - startedAt > 60_000 ? 1000 : Math.min(delayMs * 2, 60_000);
        restart = setTimeout(() => {
          restart = undefined;
          if (!stopped) start();
        }, delayMs);
        restart.unref?.();
      };
      // 'error' is followed by 'exit'; either one means the thread no longer checkpoints.
      w.on('error', (err) => {
        warn?.('the WAL checkpoint thread failed; it will be restarted', err);
        gone();
      });
      w.on('exit', gone);
      w.on('message', (m: { error?: string }) => {
        if (m?.error) warn?.('WAL checkpoint failed', m.error);
      });
    });
  };
  start();
  return async () => {
    stopped = true;
    if (restart) clearTimeout(restart);
    restart = undefined;
    const w = worker;
    if (!w) return;
    w.postMessage('stop');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_WAIT_MS)))]);
    clearTimeout(timer);
    if (!ended) warn?.(`the WAL checkpoint thread did not end within ${STOP_WAIT_MS} ms; leaving it to the process exit`, undefined);
  };
};
