import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type Runtime } from '../harness/process';
import { ConnectionEnded, RawConnection } from '../harness/raw-http';

/**
 * The HTTP edges a client can reach before any route runs, on a real keep-alive socket: an over-limit
 * body, a request line or headers too large for the server, a request it cannot parse.
 */

const LIMIT = 4096;
const live = 'GET /api/v3/live HTTP/1.1\r\nHost: x\r\n\r\n';

/**
 * After an answer that may or may not end the connection: either it closes, or — once the client has
 * finished the request it started (`rest`), as HTTP/1.1 requires — it answers the next one. Never a hang.
 */
async function closedOrAnswers(conn: RawConnection, what: string, rest = ''): Promise<'closed' | 'answered'> {
  if (!conn.usable) return 'closed';
  try {
    conn.write(rest + live);
  } catch {
    return 'closed';
  }
  try {
    const next = await conn.response(5000);
    assert.equal(next.status, 200, `${what}: the next request on the connection`);
    return 'answered';
  } catch (err) {
    if (err instanceof ConnectionEnded && err.kind !== 'timeout' && err.partialBytes === 0) return 'closed';
    throw new Error(`${what}: the connection neither closed nor answered the next request (${(err as Error).message})`);
  }
}

function assertEnvelope(body: string, code: string, what: string) {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`${what}: expected the JSON error envelope, got ${JSON.stringify(body.slice(0, 200))}`);
  }
  assert.equal(parsed.code, code, what);
  assert.equal(typeof parsed.name, 'string');
  assert.equal(typeof parsed.message, 'string');
  assert.match(String(parsed.requestId), /^[0-9a-f-]{36}$/);
}

async function overLimit(port: number, runtime: Runtime, chunked: boolean): Promise<string> {
  const what = `${runtime}: ${chunked ? 'chunked' : 'Content-Length'} body over MAX_JSON_BODY_BYTES`;
  const conn = await RawConnection.open(port);
  try {
    const body = `{"email":"${'x'.repeat(LIMIT * 4)}"}`;
    const head = `POST /api/v3/user/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`;
    // Half of the body only: a client that is still sending when the server has decided.
    if (chunked) conn.write(`${head}Transfer-Encoding: chunked\r\n\r\n${(LIMIT * 2).toString(16)}\r\n${body.slice(0, LIMIT * 2)}\r\n`);
    else conn.write(`${head}Content-Length: ${body.length}\r\n\r\n${body.slice(0, LIMIT * 2)}`);
    const res = await conn.response(10_000);
    assert.equal(res.status, 413, what);
    assertEnvelope(res.body, 'PAYLOAD_TOO_LARGE', what);
    if (runtime === 'node') {
      // Node: closed right after the answer, while the client may still be sending.
      assert.equal(res.headers.connection?.toLowerCase(), 'close', `${what}: Connection: close`);
      assert.ok(await conn.closed(), `${what}: Connection: close, then the server closes`);
    }
    // Deno answers Connection: close too but reads the rest of the body before it closes; Bun reads
    // the rest and keeps the connection. Either way the client finishes its request and is not left hanging.
    const rest = chunked ? `${(body.length - LIMIT * 2).toString(16)}\r\n${body.slice(LIMIT * 2)}\r\n0\r\n\r\n` : body.slice(LIMIT * 2);
    return `${res.headers.connection ?? '-'}, ${await closedOrAnswers(conn, what, rest)}`;
  } finally {
    conn.close();
  }
}

for (const runtime of ['node', 'deno', 'bun'] as const) {
  test(`${runtime}: a 413 on a keep-alive socket closes it or keeps answering; never a hang`, { timeout: 90_000 }, async (t) => {
    const ctl = await startController({ runtime, timeoutMs: 60_000, env: { MAX_JSON_BODY_BYTES: String(LIMIT), LOG_LEVEL: 'warn' } });
    try {
      for (const chunked of [false, true])
        t.diagnostic(`${chunked ? 'chunked' : 'content-length'}: ${await overLimit(ctl.port, runtime, chunked)}`);
    } finally {
      await ctl.stop('SIGKILL');
    }
  });
}

test('node: the HTTP server’s own refusals (431, 400) are the JSON error envelope', { timeout: 60_000 }, async () => {
  const ctl = await startController({ env: { LOG_LEVEL: 'warn' } });
  try {
    const long = await RawConnection.open(ctl.port);
    long.write(`GET /api/v3/iofog/${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const tooLarge = await long.response();
    assert.equal(tooLarge.status, 431);
    assert.match(tooLarge.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(tooLarge.headers.connection, 'close');
    assertEnvelope(tooLarge.body, 'REQUEST_HEADERS_TOO_LARGE', '431');
    assert.equal(tooLarge.headers['x-request-id'], JSON.parse(tooLarge.body).requestId);
    assert.ok(await long.closed(), 'the connection is closed after the refusal');

    const bad = await RawConnection.open(ctl.port);
    bad.write('GET /api/v3/live HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n');
    const malformed = await bad.response();
    assert.equal(malformed.status, 400);
    assertEnvelope(malformed.body, 'MALFORMED_REQUEST', '400');
    assert.ok(await bad.closed());

    // The process is unharmed.
    const after = await RawConnection.open(ctl.port);
    after.write(live);
    assert.equal((await after.response()).status, 200);
    after.close();
  } finally {
    await ctl.stop('SIGKILL');
  }
});

for (const runtime of ['deno', 'bun'] as const) {
  // Deno's and Bun's HTTP parsers refuse these before any code of ours runs and offer no hook to
  // write the answer (README: "HTTP edges"); what they do is pinned here so a change shows up.
  test(`${runtime}: a 70,000-character URL and a malformed request are refused and the connection closed`, {
    timeout: 90_000,
  }, async (t) => {
    const ctl = await startController({ runtime, timeoutMs: 60_000, env: { LOG_LEVEL: 'warn' } });
    try {
      for (const [what, request] of [
        ['long URL', `GET /api/v3/iofog/${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
        ['malformed', 'GET /api/v3/live HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n'],
      ] as const) {
        const conn = await RawConnection.open(ctl.port);
        conn.write(request);
        const res = await conn.response();
        assert.ok(res.status === 400 || res.status === 431 || res.status === 414, `${what}: ${res.status}`);
        t.diagnostic(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.ok(await conn.closed(), `${what}: connection closed`);
      }
    } finally {
      await ctl.stop('SIGKILL');
    }
  });
}
