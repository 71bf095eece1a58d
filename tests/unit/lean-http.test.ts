// Unit tests of the fleet bench's lean HTTP client (tests/harness/lean-http.ts) against real
// node:http / node:net servers on port 0: bodies, chunked decoding, keep-alive reuse and queueing,
// connection: close, errors and timeouts — and that an Edgelet sends the same requests through it
// as through node:http.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { LeanHttpPool, type LeanHttpError } from '../harness/lean-http';
import { waitFor } from '../harness/wait';
import { ManualClock } from '../../src/lib/clock';
import { Edgelet, decodeToken } from '../harness/edgelet';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A node:http server on 127.0.0.1:0 that counts the connections it accepted. */
async function serve(handler: Handler) {
  const srv = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => handler(req, body, res));
  });
  const stats = { connections: 0 };
  srv.on('connection', () => stats.connections++);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    stats,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** A raw TCP server: `onRequest(socket, n)` is called for the n-th request head on each connection. */
async function serveRaw(onRequest: (socket: Socket, n: number) => void) {
  const sockets = new Set<Socket>();
  const srv = createNetServer((s) => {
    sockets.add(s);
    let buf = '';
    let n = 0;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        buf = buf.slice(end + 4); // requests in these tests carry no body
        onRequest(s, ++n);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

const echo: Handler = (req, body, res) => {
  const out = JSON.stringify({
    method: req.method,
    url: req.url,
    body: body ? JSON.parse(body) : null,
    contentType: req.headers['content-type'] ?? null,
  });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(out);
};

const json = (b: Buffer) => JSON.parse(b.toString('utf8'));

test('GET and PUT with JSON bodies over one keep-alive socket', async () => {
  const s = await serve(echo);
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 4 });
  try {
    const get = await pool.request({ method: 'GET', path: '/a?x=1', headers: { accept: 'application/json' } });
    assert.equal(get.status, 200);
    assert.equal(get.reused, false);
    assert.deepEqual(json(get.body), { method: 'GET', url: '/a?x=1', body: null, contentType: null });
    const payload = JSON.stringify({ name: 'ünïcödé', n: [1, 2, 3] });
    const put = await pool.request({ method: 'PUT', path: '/b', headers: { 'content-type': 'application/json' }, body: payload });
    assert.equal(put.status, 200);
    assert.equal(put.reused, true);
    assert.deepEqual(json(put.body), {
      method: 'PUT',
      url: '/b',
      body: { name: 'ünïcödé', n: [1, 2, 3] },
      contentType: 'application/json',
    });
    const buf = await pool.request({ method: 'POST', path: '/c', headers: {}, body: Buffer.from('{"k":true}') });
    assert.deepEqual(json(buf.body).body, { k: true });
    assert.equal(s.stats.connections, 1);
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('chunked response (two writes, no content-length) is decoded', async () => {
  const s = await serve((_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('hello, ');
    setTimeout(() => res.end('world'), 10);
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  try {
    const r = await pool.request({ method: 'GET', path: '/' });
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.body.toString(), 'hello, world');
    const again = await pool.request({ method: 'GET', path: '/' });
    assert.equal(again.body.toString(), 'hello, world');
    assert.equal(again.reused, true);
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('chunked with extensions and trailers, delivered one byte at a time; then a 100 Continue and a content-length body', async () => {
  const chunked =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n' +
    '5;name=value;x="q"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0;last\r\nX-Sum: 42\r\nX-Other: y\r\n\r\n';
  const plain = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc';
  const s = await serveRaw(async (sock, n) => {
    const text = n === 1 ? chunked : plain;
    for (const ch of text) {
      sock.write(ch);
      await new Promise((r) => setImmediate(r));
    }
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  try {
    const r = await pool.request({ method: 'GET', path: '/' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'helloabcdefghijklmnopqrstuvwxyz');
    const r2 = await pool.request({ method: 'GET', path: '/' });
    assert.equal(r2.status, 200);
    assert.equal(r2.reused, true);
    assert.equal(r2.body.toString(), 'abc');
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('204 and HEAD have no body; the socket stays usable', async () => {
  const s = await serve((req, _body, res) => {
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': '1234' });
      res.end();
    } else if (req.url === '/none') {
      res.writeHead(204);
      res.end();
    } else echo(req, '', res);
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  try {
    const r = await pool.request({ method: 'DELETE', path: '/none' });
    assert.equal(r.status, 204);
    assert.equal(r.body.length, 0);
    const h = await pool.request({ method: 'HEAD', path: '/' });
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-length'], '1234');
    assert.equal(h.body.length, 0);
    const g = await pool.request({ method: 'GET', path: '/after' });
    assert.equal(json(g.body).url, '/after');
    assert.equal(s.stats.connections, 1);
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('connection: close in a response → the next request uses a new socket', async () => {
  const s = await serve((req, _body, res) => {
    if (req.url === '/bye') res.setHeader('connection', 'close');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url: req.url }));
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  try {
    const a = await pool.request({ method: 'GET', path: '/bye' });
    assert.equal(a.headers.connection, 'close');
    assert.deepEqual(json(a.body), { url: '/bye' });
    const b = await pool.request({ method: 'GET', path: '/next' });
    assert.deepEqual(json(b.body), { url: '/next' });
    assert.equal(b.reused, false);
    assert.equal(pool.opened, 2);
    assert.equal(s.stats.connections, 2);
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('idle sockets: the most recently used is reused first; one idle past idleTimeoutMs is closed, not reused', async () => {
  const s = await serve(echo);
  const clock = new ManualClock(0);
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 4, idleTimeoutMs: 400, now: () => clock.now() });
  try {
    // Two sockets: both busy at once.
    await Promise.all([pool.request({ method: 'GET', path: '/1' }), pool.request({ method: 'GET', path: '/2' })]);
    assert.equal(pool.opened, 2);
    // One at a time afterwards: always the same (most recent) socket, so the other one ages.
    for (let i = 0; i < 14; i++) {
      await pool.request({ method: 'GET', path: `/seq/${i}` });
      clock.advance(40);
    }
    assert.equal(pool.opened, 2, 'no new socket while one is fresh');
    // Two at once again: the fresh socket is reused, the aged one (idle ~600 ms; oldest-first
    // reuse would have kept both fresh) is closed and replaced.
    const pair = await Promise.all([pool.request({ method: 'GET', path: '/3' }), pool.request({ method: 'GET', path: '/4' })]);
    assert.deepEqual(pair.map((r) => r.reused).sort(), [false, true]);
    assert.equal(pool.opened, 3);
    clock.advance(600);
    const after = await pool.request({ method: 'GET', path: '/late' });
    assert.equal(after.status, 200);
    assert.equal(after.reused, false, 'both parked sockets were too old: a new one');
    assert.equal(pool.opened, 4);
    assert.equal(s.stats.connections, 4);
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('more concurrent requests than maxSockets: queued FIFO, all succeed, at most maxSockets connections', async () => {
  let inflight = 0;
  let maxInflight = 0;
  const s = await serve((req, _body, res) => {
    maxInflight = Math.max(maxInflight, ++inflight);
    setTimeout(() => {
      inflight--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    }, 5);
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 3 });
  try {
    const order: number[] = [];
    const rs = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        pool.request({ method: 'GET', path: `/r/${i}` }).then((r) => {
          order.push(i);
          return r;
        }),
      ),
    );
    rs.forEach((r, i) => {
      assert.deepEqual(json(r.body), { url: `/r/${i}` });
    });
    assert.equal(s.stats.connections, 3);
    assert.equal(pool.opened, 3);
    assert.ok(maxInflight <= 3, `max in flight ${maxInflight}`);
    // FIFO: a request never completes before one queued 3+ places ahead of it.
    order.forEach((id, k) => {
      assert.ok(id >= k - 3, `completion order ${order.join(',')}`);
    });
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('server destroys the socket mid-response → rejected with an errno code; the pool recovers', async () => {
  const s = await serve((req, _body, res) => {
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 10);
    } else echo(req, '', res);
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  try {
    await assert.rejects(pool.request({ method: 'GET', path: '/cut' }), (e: LeanHttpError) => {
      assert.equal(e.code, 'ECONNRESET');
      assert.equal(e.retryable, false, 'response bytes had arrived');
      return true;
    });
    const ok = await pool.request({ method: 'GET', path: '/ok' });
    assert.equal(ok.status, 200);
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('a reused socket closed before any response byte → retryable; a refused connection → ECONNREFUSED', async () => {
  const s = await serveRaw((sock, n) => {
    if (n === 1) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    else sock.destroy();
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  try {
    assert.equal((await pool.request({ method: 'GET', path: '/' })).body.toString(), 'ok');
    await assert.rejects(pool.request({ method: 'GET', path: '/' }), (e: LeanHttpError) => {
      assert.match(e.code, /^(ECONNRESET|EPIPE)$/);
      assert.equal(e.retryable, true);
      return true;
    });
    // A fresh socket: served again.
    assert.equal((await pool.request({ method: 'GET', path: '/' })).body.toString(), 'ok');
  } finally {
    pool.destroy();
    await s.close();
  }
  const refused = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  await assert.rejects(refused.request({ method: 'GET', path: '/' }), (e: LeanHttpError) => e.code === 'ECONNREFUSED' && !e.retryable);
  refused.destroy();
});

test('timeout → ETIMEDOUT and the socket is dropped; destroy() rejects queued requests', async () => {
  let hangs = 0;
  const s = await serve((req, _body, res) => {
    if (req.url !== '/hang') echo(req, '', res);
    else hangs++;
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  try {
    const t0 = performance.now();
    await assert.rejects(
      pool.request({ method: 'GET', path: '/hang', timeoutMs: 100 }),
      (e: LeanHttpError) => e.code === 'ETIMEDOUT' && !e.retryable,
    );
    assert.ok(performance.now() - t0 >= 90);
    const ok = await pool.request({ method: 'GET', path: '/ok', timeoutMs: 100 });
    assert.equal(ok.reused, false, 'the timed-out socket was destroyed');
    const hung = assert.rejects(pool.request({ method: 'GET', path: '/hang' }), (e: LeanHttpError) => e.code === 'ERR_POOL_DESTROYED');
    const queued = assert.rejects(pool.request({ method: 'GET', path: '/ok' }), (e: LeanHttpError) => e.code === 'ERR_POOL_DESTROYED');
    // Destroy once the second /hang is in flight at the server (the /ok behind it is then queued in the pool).
    await waitFor('the second /hang to reach the server', () => hangs === 2);
    pool.destroy();
    await Promise.all([hung, queued]);
    await assert.rejects(pool.request({ method: 'GET', path: '/' }), (e: LeanHttpError) => e.code === 'ERR_POOL_DESTROYED');
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('response header names are lower-cased; repeats joined, set-cookie kept as an array', async () => {
  const s = await serve((_req, _body, res) => {
    res.writeHead(200, [
      ['X-Custom-Header', 'Value'],
      ['X-Multi', 'a'],
      ['x-multi', 'b'],
      ['Set-Cookie', 'a=1; Path=/'],
      ['Set-Cookie', 'b=2'],
      ['Content-Type', 'text/plain'],
    ]);
    res.end('x');
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  try {
    const r = await pool.request({ method: 'GET', path: '/' });
    assert.equal(r.headers['x-custom-header'], 'Value');
    assert.equal(r.headers['x-multi'], 'a, b');
    assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2']);
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.ok(Object.keys(r.headers).every((k) => k === k.toLowerCase()));
  } finally {
    pool.destroy();
    await s.close();
  }
});

test('Edgelet with `pool` sends the same request lines, headers and bodies as without', async () => {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const creds = {
    uuid: crypto.randomUUID(),
    privateKey: Buffer.from(JSON.stringify({ kty: jwk.kty, crv: jwk.crv, d: jwk.d, x: jwk.x })).toString('base64'),
    namespace: 'iofog',
  };
  type Seen = { line: string; headers: Record<string, string>; body: string };
  const seen: Seen[] = [];
  const s = await serve((req, body, res) => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers[req.rawHeaders[i]!.toLowerCase()] = req.rawHeaders[i + 1]!;
    seen.push({ line: `${req.method} ${req.url} HTTP/${req.httpVersion}`, headers, body });
    if (req.url === '/api/v3/agent/provision') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(creds));
    }
    if (req.method === 'DELETE') {
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-extra': 'E' });
    res.end(JSON.stringify({ ok: true, url: req.url }));
  });
  const url = `http://127.0.0.1:${s.port}/api/v3/`;
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 2 });
  const plain = new Edgelet(url);
  const observed: Array<{ method: string; path: string; status: number }> = [];
  const lean = new Edgelet(url, { pool, observe: (r) => observed.push({ method: r.method, path: r.path, status: r.status }) });
  const run = async (e: Edgelet) => {
    const from = seen.length;
    const out = [
      await e.provision('KEY', 1, 'edgelet'),
      await e.putStatus(),
      await e.pollChanges(),
      await e.ackChanges('2026-01-01T00:00:00.000Z'),
      await e.deleteNode(),
    ];
    out.push(
      await e.request('POST', '/agent/raw', { rawBody: '{"bad json' }),
      await e.request('PATCH', '/agent/custom', { headers: { 'x-test': '1' }, body: { a: 'ü' } }),
    );
    return { out, seen: seen.slice(from) };
  };
  try {
    const a = await run(plain);
    const b = await run(lean);
    assert.equal(a.seen.length, 7);
    assert.equal(b.seen.length, 7);
    // Per request: request-id, the token; the status body carries timestamps (so its length may differ).
    const differ = new Set(['request-id', 'authorization', 'content-length']);
    for (let i = 0; i < a.seen.length; i++) {
      const x = a.seen[i]!;
      const y = b.seen[i]!;
      assert.equal(y.line, x.line);
      assert.deepEqual(Object.keys(y.headers).sort(), Object.keys(x.headers).sort(), x.line);
      for (const k of Object.keys(x.headers)) if (!differ.has(k)) assert.equal(y.headers[k], x.headers[k], `${x.line}: ${k}`);
      assert.equal(y.headers['content-length'], x.headers['content-length'] && String(Buffer.byteLength(y.body)));
      assert.match(y.headers['request-id']!, /^\d{19}$/);
      if (x.headers.authorization) {
        const t = decodeToken(y.headers.authorization!.replace(/^Bearer /, ''));
        assert.deepEqual(Object.keys(t.claims), Object.keys(decodeToken(x.headers.authorization.replace(/^Bearer /, '')).claims));
        assert.match(String(t.claims.jti), /^[A-Z2-7]{52}$/);
      }
      if (x.line.startsWith('PUT')) assert.deepEqual(Object.keys(JSON.parse(y.body)), Object.keys(JSON.parse(x.body)));
      else assert.equal(y.body, x.body, x.line);
    }
    // Responses are reported the same way.
    for (let i = 0; i < a.out.length; i++) {
      const x = a.out[i]!;
      const y = b.out[i]!;
      assert.equal(y.status, x.status);
      if (i > 0) assert.deepEqual(y.body, x.body);
      assert.equal(y.headers['content-type'], x.headers['content-type']);
      assert.equal(y.headers['x-extra'], x.headers['x-extra']);
      assert.ok(y.ms > 0);
    }
    assert.equal(observed.length, 7);
    assert.deepEqual(observed[1], { method: 'PUT', path: '/agent/status', status: 200 });
  } finally {
    plain.close();
    pool.destroy();
    await s.close();
  }
});

test('Edgelet with `pool`: a timeout is status 0 / ETIMEDOUT; a reused socket closed unanswered is retried once', async () => {
  let hits = 0;
  const s = await serveRaw((sock, n) => {
    hits++;
    if (n === 1) sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    else if (n === 2) sock.destroy();
    // n ≥ 3 on one connection never happens; a fresh connection's first request is answered.
  });
  const pool = new LeanHttpPool({ host: '127.0.0.1', port: s.port, maxSockets: 1 });
  const e = new Edgelet(`http://127.0.0.1:${s.port}/api/v3`, { pool, timeoutMs: 100 });
  try {
    assert.equal((await e.request('GET', '/status', { auth: false })).status, 200);
    const r = await e.request('GET', '/status', { auth: false });
    assert.equal(r.status, 200, `retried on a new socket: ${r.error}`);
    assert.equal(hits, 3);
  } finally {
    pool.destroy();
    await s.close();
  }
  const hang = await serveRaw(() => {});
  const pool2 = new LeanHttpPool({ host: '127.0.0.1', port: hang.port, maxSockets: 1 });
  const e2 = new Edgelet(`http://127.0.0.1:${hang.port}/api/v3`, { pool: pool2, timeoutMs: 100 });
  try {
    const r = await e2.request('GET', '/status', { auth: false });
    assert.equal(r.status, 0);
    assert.equal(r.error, 'ETIMEDOUT');
  } finally {
    pool2.destroy();
    await hang.close();
  }
});
