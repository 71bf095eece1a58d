import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WalCheckpointer } from '../../db/client';
import { libsqlBindingPath } from './libsql-binding';

// The checkpointing thread: its own connection to the file, a PASSIVE checkpoint every interval.
// PASSIVE never waits for readers or the writer; what it cannot copy now it copies next time.
//
// Why it asks the parent to pause writers: SQLite starts the WAL over (writes from its beginning
// again) only when a write transaction begins while every frame has been copied. The server commits
// every few milliseconds, so a checkpoint running beside it almost never ends complete, and the WAL
// used to grow to the connections' safety bound, where a COMMIT on the event loop checkpointed
// instead (69 of 105 restarts in a 10,000-agent run; one such COMMIT took 4 s). Past
// WAL_RESTART_FRAMES, the thread asks the parent to hold its writers back (the write lock, waited for
// asynchronously — the event loop keeps serving) and checkpoints again: with no commit in between
// that copy is complete, and the parent's next write starts the WAL over. The parent lets writers go
// when the thread answers, or after PAUSE_MAX_MS whatever happens.
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
checkpoint.raw(true);
// Busy or locked: the next tick tries again. Anything else is told to the parent (once per message
// in a row, so a persistent fault is not repeated every second).
let lastError = '';
const report = (err) => {
  const message = String(err && err.message || err);
  if (/SQLITE_BUSY|SQLITE_LOCKED|database is locked/i.test(String(err && err.code) + ' ' + message) || message === lastError) return;
  lastError = message;
  parentPort.postMessage({ error: message });
};
// [busy, frames in the WAL, frames copied], or undefined when the checkpoint failed.
const run = () => {
  try {
    const row = checkpoint.all()[0];
    lastError = '';
    return row.map(Number);
  } catch (err) {
    report(err);
    return undefined;
  }
};
// The WAL file's first salt: SQLite draws a new one each time the WAL starts over. Read from the
// -wal file, never the -shm: closing a descriptor drops every POSIX lock this process holds on that
// file, and SQLite keeps its WAL locks on the -shm (none on the -wal).
const fs = require('node:fs');
const walSalt = () => {
  let fd;
  try {
    fd = fs.openSync(workerData.path + '-wal', 'r');
    const b = Buffer.alloc(4);
    return fs.readSync(fd, b, 0, 4, 16) === 4 ? b.readUInt32BE(0) : -1;
  } catch {
    return -1;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
};
// "asked": waiting for the parent. A copy reported complete is no sign: commits land while it runs.
// Only a WAL that was complete and did not grow since the last tick is left alone (the next write
// starts it over by itself; an idle server is not paused for nothing). After a finishing checkpoint
// the next tick checks that the WAL did start over once written to; when it did not (another
// process reading an old snapshot, a failed copy), the thread waits 1, 2, 4… up to 64 ticks before
// asking again, so writers are not paused in vain.
let asked = false;
let lastFrames = -1;
let finished;
let backoff = 1;
let wait = 0;
const timer = setInterval(() => {
  if (asked) return;
  const r = run();
  if (!r) return;
  const idle = r[1] === lastFrames && r[0] === 0 && r[2] === r[1];
  lastFrames = r[1];
  if (finished && r[1] !== finished.frames) {
    const restarted = walSalt() !== finished.salt || r[1] < finished.frames;
    backoff = restarted ? 1 : Math.min(backoff * 2, 64);
    wait = restarted ? 0 : backoff;
    finished = undefined;
  }
  if (wait > 0) {
    wait--;
    return;
  }
  if (workerData.pausable && r[1] >= workerData.restartFrames && !idle) {
    asked = true;
    parentPort.postMessage({ pause: r[1] });
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'paused') {
    const r = run();
    asked = false;
    finished = { frames: r && r[0] === 0 && r[2] === r[1] ? r[1] : -1, salt: walSalt() };
    parentPort.postMessage({ finished: r || null });
    return;
  }
  if (message === 'not-paused') {
    asked = false;
    return;
  }
  if (message !== 'stop') return;
  clearInterval(timer);
  // The server's connections are closed by now: copy the rest and empty the WAL file (a closing
  // connection would do that only if it were the last one and had no statements left alive).
  try {
    // A reader still finishing (another process, a connection closing) answers busy: try for ~3 s.
    const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
    truncate.raw(true);
    let r;
    for (let i = 0; i < 60; i++) {
      r = truncate.all()[0].map(Number);
      if (r[0] === 0) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    if (r[0] !== 0) parentPort.postMessage({ error: 'the WAL could not be emptied at shutdown (a reader kept it busy); the next start copies it' });
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
  // Node and Bun end the thread when its port closes; Deno's port has no close(), its worker global does.
  if (typeof parentPort.close === 'function') parentPort.close();
  else close();
});
`;

/** WAL frames (pages) past which the thread finishes a checkpoint with writers paused (~8 MB). */
export const WAL_RESTART_FRAMES = 2000;
/** The longest the writers are held back for one finishing checkpoint. */
const PAUSE_MAX_MS = 250;

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
 * event loop here: copying the pages and the fsync stalled every request in flight, and a large fleet
 * commits often enough to hit it again and again. With this running, the server's connections checkpoint
 * on commit only past WAL_SAFETY_PAGES (a bound if this thread is gone). A thread that dies is
 * restarted (after 1 s, backing off to a minute); failures are told to `warn`. At stop it
 * checkpoints what is left and truncates the WAL.
 */
export const nodeWalCheckpointer: WalCheckpointer = (url, busyTimeoutMs, warn, control) => {
  const pauseWrites = control?.pauseWrites;
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
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { libsql, path, busyTimeoutMs, intervalMs: 1000, pausable: !!pauseWrites, restartFrames: WAL_RESTART_FRAMES },
    });
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
      // The writers held back for the thread's finishing checkpoint, released when it answers.
      let releaseWrites: (() => void) | undefined;
      let pauseTimer: ReturnType<typeof setTimeout> | undefined;
      const letWritersGo = () => {
        if (pauseTimer) clearTimeout(pauseTimer);
        pauseTimer = undefined;
        const release = releaseWrites;
        releaseWrites = undefined;
        release?.();
      };
      w.on('exit', letWritersGo);
      w.on('message', (m: { error?: string; pause?: number; finished?: unknown }) => {
        if (m?.error) warn?.('WAL checkpoint failed', m.error);
        if (m?.finished !== undefined) letWritersGo();
        if (m?.pause === undefined || !pauseWrites) return;
        pauseWrites().then(
          (release) => {
            if (stopped || worker !== w) return release();
            releaseWrites = release;
            pauseTimer = setTimeout(letWritersGo, PAUSE_MAX_MS);
            w.postMessage('paused');
          },
          // The write lock was not free within its wait (the writers are stalled): try next time.
          () => {
            if (worker === w) w.postMessage('not-paused');
          },
        );
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
    const ended = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!ended) warn?.(`the WAL checkpoint thread did not end within ${STOP_WAIT_MS} ms; leaving it to the process exit`, undefined);
  };
};
