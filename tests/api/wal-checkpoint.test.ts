import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { openStore, WAL_SAFETY_PAGES, type LibsqlStore, type OpenOptions } from '../../db/client';
import { nodeWalCheckpointer, WAL_RESTART_FRAMES } from '../../src/runtime/wal-checkpoint-node';
import { waitFor } from '../harness/wait';

/** These tests are about the embedded file's WAL: they open file: URLs on every test dialect. */
async function openLibsql(opts: OpenOptions): Promise<LibsqlStore> {
  const store = await openStore(createClient, opts);
  if (store.kind === 'postgres') throw new Error('a file: URL opened PostgreSQL');
  return store;
}

const size = (p: string) => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};

// On Node the WAL is checkpointed by a thread of its own; the server's connections do not checkpoint on commit.
test('WAL checkpoints: off the event loop on Node — commits leave the WAL alone, the checkpoint thread copies it into the database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-wal-'));
  const file = join(dir, 'c.db');
  let stops = 0;
  const store = await openLibsql({
    url: `file:${file}`,
    busyTimeoutMs: 100,
    writeWaitMs: 5000,
    walCheckpointer: (url, busy) => {
      const stop = nodeWalCheckpointer(url, busy);
      assert.ok(stop, 'the checkpoint thread starts');
      return async () => {
        stops++;
        await stop();
      };
    },
  });
  try {
    assert.equal(
      Number((await store.client.execute('PRAGMA wal_autocheckpoint')).rows[0]![0]),
      WAL_SAFETY_PAGES,
      'commits checkpoint only past the safety bound',
    );
    await store.client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    // ~4 MB in the WAL: more than the 1,000 pages at which a connection would checkpoint on commit.
    for (let i = 0; i < 20; i++) {
      const tx = await store.client.transaction('write');
      for (let j = 0; j < 50; j++) await tx.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['x'.repeat(4000)] });
      await tx.commit();
    }
    // The thread checkpoints on its own schedule: wait for its copy, then assert with the sizes in the message.
    await waitFor('a checkpoint to copy the WAL into the database file', () => size(file) >= 3_000_000, { timeoutMs: 15_000 }).catch(
      () => {},
    );
    assert.ok(
      size(file) >= 3_000_000,
      `the database file holds the rows after a checkpoint (size ${size(file)}, WAL ${size(`${file}-wal`)})`,
    );
    assert.equal(Number((await store.client.execute('SELECT count(*) FROM t')).rows[0]![0]), 1000);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(stops, 1, 'closing the store stops the thread');
});

// A server commits every few milliseconds, so a checkpoint beside it rarely ends complete and the WAL
// never starts over by itself: it used to grow to the safety bound, where a COMMIT on the event loop
// checkpointed. Past WAL_RESTART_FRAMES the thread has the writers paused (the write lock) for one
// finishing checkpoint, and the next write starts the WAL from its beginning.
test('WAL checkpoints: under writes that never stop, the WAL starts over near WAL_RESTART_FRAMES, far below the safety bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-wal-'));
  const file = join(dir, 'c.db');
  let pauses = 0;
  const warnings: string[] = [];
  const store = await openLibsql({
    url: `file:${file}`,
    busyTimeoutMs: 100,
    writeWaitMs: 5000,
    // The store's own pause (its write lock), counted.
    walCheckpointer: (url, busy, _warn, control) =>
      nodeWalCheckpointer(url, busy, (m, e) => warnings.push(`${m}: ${String(e)}`), {
        pauseWrites: () => {
          pauses++;
          return control!.pauseWrites!();
        },
      }),
  });
  const frames = () => Math.floor(size(`${file}-wal`) / (4096 + 24)); // the WAL file keeps its high-water mark
  try {
    await store.client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const row = 'w'.repeat(3500); // about one page per row
    let written = 0;
    // Each time the WAL starts over SQLite draws a new salt for its header.
    const salts = new Set<string>();
    const salt = () => {
      try {
        return readFileSync(`${file}-wal`).subarray(16, 20).toString('hex');
      } catch {
        return '';
      }
    };
    // Small write transactions one after another, through the write lock as the server's writers, with
    // reads between, at about the pace of the 10,000-agent bench (~1,000–2,000 pages a second): past
    // the safety bound, which the WAL used to reach before starting over.
    while (written < 1.2 * WAL_SAFETY_PAGES) {
      const release = await store.writeLock.acquire();
      try {
        const tx = await store.client.transaction('write');
        for (let j = 0; j < 2; j++) await tx.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: [row] });
        await tx.commit();
        written += 2;
      } finally {
        release();
      }
      await store.client.execute({ sql: 'SELECT length(v) FROM t WHERE id = ?', args: [written] });
      const current = written % 100 === 0 ? salt() : '';
      if (current && current !== '00000000') salts.add(current);
      // Requests arrive as I/O events: the event loop turns between them (and the thread's messages get in).
      await new Promise((r) => setTimeout(r, 1)); // sleep-ok: paces the writes like arriving requests; this pacing is the load under test
    }
    const highWater = frames();
    const seen = `high-water ${highWater} frames, ${salts.size - 1} restarts, ${written} pages written, ${pauses} pauses; warnings: ${warnings.join(' | ') || 'none'}`;
    // The old thread: one restart, at the bound (high-water 10,003).
    assert.ok(
      salts.size - 1 >= 2 && highWater < 0.7 * WAL_SAFETY_PAGES,
      `the WAL started over again and again, well before the safety bound (${seen})`,
    );
    assert.ok(highWater >= WAL_RESTART_FRAMES / 2, `…and not before the thread's threshold (${seen})`);
    assert.equal(Number((await store.client.execute('SELECT count(*) FROM t')).rows[0]![0]), written);
    assert.ok(pauses >= 2, `writers were paused for the finishing checkpoints (${pauses})`);
    // A burst leaves a long WAL behind, then nothing is written: once a copy is complete and the WAL
    // stops growing, the writers are left alone (without that rule: one pause a second).
    const tx = await store.client.transaction('write');
    for (let j = 0; j < WAL_RESTART_FRAMES * 1.5; j++) await tx.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: [row] });
    await tx.commit();
    const before = pauses;
    // sleep-ok: idleness over wall-clock seconds is the behaviour under test (the thread runs on its own timer in a worker).
    await new Promise((r) => setTimeout(r, 4500));
    assert.ok(
      pauses - before <= 2,
      `at most one finishing checkpoint after the burst, none while idle (${pauses - before} pauses in 4.5 s)`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// The thread ends itself on stop (it closes its connection; it is never terminated from outside: a
// terminated thread holding a libSQL connection aborted the whole process). Before it closes its
// connection it copies the rest of the WAL into the database and truncates it (TRUNCATE checkpoint).
test('WAL checkpoints: closing the store ends the thread cleanly, again and again, and leaves an empty WAL behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-wal-'));
  const file = join(dir, 'c.db');
  try {
    for (let round = 0; round < 8; round++) {
      const warnings: string[] = [];
      const store = await openLibsql({
        url: `file:${file}`,
        busyTimeoutMs: 100,
        writeWaitMs: 5000,
        walCheckpointer: (url, busy, _warn, control) =>
          nodeWalCheckpointer(url, busy, (m, e) => warnings.push(`${m}: ${String(e)}`), control),
      });
      await store.client.execute('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)');
      const tx = await store.client.transaction('write');
      for (let j = 0; j < 200; j++) await tx.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['y'.repeat(2000)] });
      await tx.commit();
      // stop before, around and after the thread's first checkpoint (every 1 s)
      await new Promise((r) => setTimeout(r, (round % 4) * 400)); // sleep-ok: the stop's position in time is what varies
      await store.close();
      assert.equal(
        size(`${file}-wal`),
        0,
        `round ${round}: the thread empties the WAL when it stops (warnings: ${warnings.join(' | ') || 'none'})`,
      );
    }
    const check = await openLibsql({ url: `file:${file}`, busyTimeoutMs: 100, writeWaitMs: 5000 });
    assert.equal(Number((await check.client.execute('SELECT count(*) FROM t')).rows[0]![0]), 1600);
    await check.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAL checkpoints: without a checkpointer the connections keep SQLite’s automatic checkpoints', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-wal-'));
  const store = await openLibsql({ url: `file:${join(dir, 'c.db')}`, busyTimeoutMs: 100, writeWaitMs: 5000 });
  try {
    assert.equal(Number((await store.client.execute('PRAGMA wal_autocheckpoint')).rows[0]![0]), 1000);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAL checkpoints: with the thread gone, commits still checkpoint once the WAL passes the safety bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-wal-'));
  const file = join(dir, 'c.db');
  // A checkpointer whose thread never checkpoints (as if it had died).
  const store = await openLibsql({
    url: `file:${file}`,
    busyTimeoutMs: 100,
    writeWaitMs: 5000,
    walCheckpointer: () => async () => {},
  });
  try {
    await store.client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const row = 'z'.repeat(3500); // about one page per row
    for (let i = 0; i < 60; i++) {
      const tx = await store.client.transaction('write');
      for (let j = 0; j < 200; j++) await tx.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: [row] });
      await tx.commit();
    }
    // 12,000 pages written: past WAL_SAFETY_PAGES, a commit copied them into the database file.
    assert.ok(size(file) > 20_000_000, `the database file holds the rows (size ${size(file)}, WAL ${size(`${file}-wal`)})`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAL checkpoints: a thread that cannot open the database is reported, not silent, and stops cleanly', async () => {
  const warnings: string[] = [];
  const stop = nodeWalCheckpointer(`file:${join(tmpdir(), 'no-such-dir-ctl-wal', 'x', 'c.db')}`, 100, (message, err) =>
    warnings.push(`${message}: ${String(err)}`),
  );
  assert.ok(stop);
  await waitFor('the thread to report its failure', () => warnings.length > 0).catch(() => {});
  await stop();
  assert.ok(warnings.length >= 1, 'the failure reached the warning callback');
  assert.match(warnings[0]!, /WAL checkpoint thread failed/);
});
