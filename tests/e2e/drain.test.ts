import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type Runtime } from '../harness/process';
import { ConnectionEnded, RawConnection } from '../harness/raw-http';
import { waitFor } from '../harness/wait';

/**
 * SIGTERM under load: 50 keep-alive clients loop requests on loopback; the process must exit 0 within
 * 2 s of the signal without resetting a request it had taken.
 *
 * What a client sees is classified so that the server's fault is told apart from the inherent
 * keep-alive race: before reusing a connection the client lets pending socket events run and checks
 * that no FIN arrived; if the server's FIN was already there, the client opens a fresh connection
 * instead ("clean close before sending", fine — that is what real clients do). A request written and
 * then answered by a reset, or never answered, is a failure. A fresh connection refused once the
 * listener is closed ends that client.
 */

const CLIENTS = 50;
const REQUEST = 'GET /api/v3/live HTTP/1.1\r\nHost: drain\r\n\r\n';

interface Tally {
  answered: number;
  answeredAfterSignal: number;
  connectionClose: number;
  cleanCloseBeforeSend: number;
  /**
   * The server's FIN came after a request written on a reused connection, before any byte of an
   * answer: the keep-alive race (the server closed the idle connection as the request was on its way).
   * The client retries on a fresh connection, as real clients do; the server avoids it all the same.
   */
  retriedAfterEof: number;
  /** The same on a fresh connection: the server took the connection and dropped the request. */
  eofOnFresh: number;
  resets: number;
  timeouts: number;
  refused: number;
  errors: string[];
}

async function client(port: number, tally: Tally, state: { signalled: boolean; stop: boolean }): Promise<void> {
  let conn: RawConnection | undefined;
  let reused = false;
  for (let n = 0; n < 20_000 && !state.stop; n++) {
    if (conn && reused) {
      // Let a FIN that already reached this process be seen before deciding to reuse.
      await new Promise((r) => setImmediate(r));
      if (!conn.usable) {
        tally.cleanCloseBeforeSend++;
        conn.close();
        conn = undefined;
      }
    }
    if (!conn) {
      try {
        conn = await RawConnection.open(port);
        reused = false;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Once the listener is closed: refused, or reset while the handshake was queued — either way
        // nothing was sent.
        if ((code === 'ECONNREFUSED' || code === 'ECONNRESET') && state.signalled) {
          tally.refused++;
          return;
        }
        tally.errors.push(`connect: ${code ?? String(err)}`);
        return;
      }
    }
    const current = conn;
    const onReused = reused;
    current.write(REQUEST);
    try {
      const res = await current.response(5000);
      tally.answered++;
      if (state.signalled) tally.answeredAfterSignal++;
      if (res.status !== 200) tally.errors.push(`status ${res.status}`);
      if (res.headers.connection?.toLowerCase() === 'close') {
        tally.connectionClose++;
        current.close();
        conn = undefined;
      } else {
        reused = true;
      }
    } catch (err) {
      current.close();
      conn = undefined;
      if (!(err instanceof ConnectionEnded)) throw err;
      if (err.kind === 'reset') tally.resets++;
      else if (err.kind === 'timeout') tally.timeouts++;
      else if (err.partialBytes > 0) tally.errors.push('connection closed in the middle of a response');
      else if (onReused) tally.retriedAfterEof++;
      else tally.eofOnFresh++;
    }
  }
  conn?.close();
}

async function drainUnderLoad(runtime: Runtime, t: { diagnostic(s: string): void }) {
  const ctl = await startController({ runtime, timeoutMs: 60_000, env: { LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' } });
  const tally: Tally = {
    answered: 0,
    answeredAfterSignal: 0,
    connectionClose: 0,
    cleanCloseBeforeSend: 0,
    retriedAfterEof: 0,
    eofOnFresh: 0,
    resets: 0,
    timeouts: 0,
    refused: 0,
    errors: [],
  };
  const state = { signalled: false, stop: false };
  try {
    const clients = Array.from({ length: CLIENTS }, () => client(ctl.port, tally, state));
    // Load first: every client has had answers on its keep-alive connection.
    await waitFor(`${CLIENTS * 20} warm-up answers`, () => tally.answered >= CLIENTS * 20, { timeoutMs: 20_000, intervalMs: 10 });
    state.signalled = true;
    const exited = ctl.stop('SIGTERM');
    // The clients keep going; a bound in case the server never closes.
    const bound = setTimeout(() => (state.stop = true), 15_000);
    const { code, ms } = await exited;
    state.stop = true;
    await Promise.all(clients);
    clearTimeout(bound);
    t.diagnostic(`${runtime}: exit ${code} after ${ms} ms; ${JSON.stringify({ ...tally, errors: tally.errors.slice(0, 5) })}`);
    assert.equal(code, 0, ctl.output().slice(-2000));
    assert.ok(ms < 2000, `${runtime}: exited ${ms} ms after SIGTERM (must be < 2000)`);
    assert.equal(tally.resets, 0, `${runtime}: requests answered by a reset`);
    assert.equal(tally.timeouts, 0, `${runtime}: requests never answered`);
    assert.equal(tally.eofOnFresh, 0, `${runtime}: requests on a fresh connection closed without an answer`);
    // The server tells each keep-alive client to go (Connection: close) before it closes an idle
    // connection, so none should be closed under a request it had not read yet.
    assert.equal(tally.retriedAfterEof, 0, `${runtime}: a reused connection closed under a request`);
    assert.ok(tally.connectionClose >= 1, `${runtime}: answers after SIGTERM say Connection: close`);
    assert.deepEqual(tally.errors, []);
  } finally {
    state.stop = true;
    await ctl.stop('SIGKILL');
  }
}

for (const runtime of ['node', 'deno', 'bun'] as const) {
  test(
    `${runtime}: SIGTERM with 50 keep-alive clients looping requests: exit 0 within 2 s, no request reset or left unanswered`,
    { timeout: 120_000 },
    (t) => drainUnderLoad(runtime, t),
  );
}
