import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, BUNDLE, ROOT, freePort, runtimeCommand, startController, type Runtime } from '../harness/process';
import { AgentSigner } from '../harness/agent-token';
import { waitFor } from '../harness/wait';

const NEW_PASSWORD = 'Viewer-Passw0rd-9';

async function json(res: Response) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected JSON, got ${res.status} ${res.headers.get('content-type')}: ${text.slice(0, 200)}`);
  }
}

/**
 * The headers every response carries (operator-api.md: X-Timestamp; the request id; what cors() gives),
 * each exactly once — fetch joins a repeated header with ", " — next to the handler's own headers.
 */
function assertStamped(res: Response, requestId?: string) {
  const id = res.headers.get('x-request-id');
  if (requestId) assert.equal(id, requestId);
  else assert.match(id ?? '', /^[0-9a-f-]{36}$/);
  const ts = Number(res.headers.get('x-timestamp'));
  assert.ok(Number.isInteger(ts) && Math.abs(ts - Date.now()) < 60_000, `X-Timestamp ${res.headers.get('x-timestamp')}`);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(res.headers.get('access-control-expose-headers'), 'x-request-id,X-Timestamp,Retry-After');
}

/** The same smoke on every runtime: the bundle is identical, only the binary differs. */
async function smoke(runtime: Runtime) {
  const dir = mkdtempSync(join(tmpdir(), `controller-${runtime}-`));
  const ctl = await startController({ runtime, dir });
  try {
    const post = (path: string, body: unknown, token?: string) =>
      fetch(ctl.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const get = (path: string, token?: string) => fetch(ctl.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });

    const live = await get('/api/v3/live');
    assert.equal(live.status, 200);
    assertStamped(live);
    assert.match(live.headers.get('content-type') ?? '', /^application\/json/);
    const preflight = await fetch(`${ctl.url}/api/v3/iofog-list`, {
      method: 'OPTIONS',
      headers: { origin: 'http://ui.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(preflight.status, 204);
    assertStamped(preflight);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /GET/);
    assert.equal(preflight.headers.get('access-control-max-age'), '600');
    assert.equal((await json(live)).status, 'online');
    const status = await json(await get('/api/v3/status'));
    assert.equal(status.status, 'online');

    const login = await post('/api/v3/user/login', ADMIN);
    assert.equal(login.status, 200);
    const { accessToken } = await json(login);
    const profile = await get('/api/v3/user/profile', accessToken);
    assert.equal(profile.status, 200);
    assert.equal((await json(profile)).preferred_username, ADMIN.email);

    // Liquid body templating (liquidjs, bundled) on every runtime: rendered, and a broken one is a 400.
    const templated = await post(
      '/api/v3/application',
      { name: 'liquid-app', description: '{{ self.name | upcase }}-{{ "7" | toNumber | plus: 1 }}' },
      accessToken,
    );
    assert.equal(templated.status, 201, await templated.clone().text());
    assert.equal((await json(await get('/api/v3/application/liquid-app', accessToken))).description, 'LIQUID-APP-8');
    const broken = await post('/api/v3/application', { name: 'liquid-bad', description: '{% if %}' }, accessToken);
    assert.equal(broken.status, 400);
    assert.match((await json(broken)).message, /^description: Liquid template error: /);

    const anon = await get('/api/v3/users');
    assert.equal(anon.status, 401);
    assert.equal((await json(anon)).code, 'AUTH_REQUIRED');

    // A viewer: created by the admin, changes the initial password, then is refused a write.
    const created = await post(
      '/api/v3/users',
      { email: 'viewer@example.com', password: 'Initial-Passw0rd-1', groups: ['viewer'] },
      accessToken,
    );
    assert.equal(created.status, 201);
    const first = await json(await post('/api/v3/user/login', { email: 'viewer@example.com', password: 'Initial-Passw0rd-1' }));
    assert.equal(
      (await post('/api/v3/user/change-password', { currentPassword: 'Initial-Passw0rd-1', newPassword: NEW_PASSWORD }, first.accessToken))
        .status,
      200,
    );
    const viewer = (await json(await post('/api/v3/user/login', { email: 'viewer@example.com', password: NEW_PASSWORD }))).accessToken;
    const denied = await post('/api/v3/groups', { name: 'ops' }, viewer);
    assert.equal(denied.status, 403);
    assert.equal((await json(denied)).code, 'FORBIDDEN');

    const garbage = await post('/api/v3/user/login', '{"email": ');
    assert.equal(garbage.status, 400);
    assertStamped(garbage);
    const gbody = await json(garbage);
    assert.equal(gbody.code, 'MALFORMED_BODY');
    assert.ok(gbody.requestId);

    const missing = await fetch(`${ctl.url}/api/v3/nothing-here`, { headers: { 'x-request-id': 'probe-42' } });
    assert.equal(missing.status, 404);
    assertStamped(missing, 'probe-42');
    const mbody = await json(missing);
    assert.equal(mbody.code, 'ROUTE_NOT_FOUND');
    assert.equal(mbody.requestId, 'probe-42');

    const docs = await get('/api/v3/docs');
    assert.equal(docs.status, 200);
    assertStamped(docs);
    assert.match(docs.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await docs.text(), /swagger-ui-bundle\.js/);
    assert.equal((await get('/api/v3/docs/swagger-ui-bundle.js')).status, 200);

    const { code, ms } = await ctl.stop('SIGTERM');
    assert.equal(code, 0, ctl.output());
    assert.ok(ms < 10_000, `stopped in ${ms} ms`);
    assert.match(ctl.output(), /"msg":"stopped"/);
    assert.ok(!ctl.output().includes(accessToken), 'tokens never reach the log');

    // Node and Deno check agent signatures and checkpoint the WAL on threads of their own; at stop the
    // checkpoint thread empties the WAL and ends by itself (Deno's worker port has no close()).
    const listening = JSON.parse(
      ctl
        .output()
        .split('\n')
        .find((l) => l.includes('"msg":"controller listening"')) ?? '{}',
    );
    assert.equal(listening.agentSignatures, runtime === 'bun' ? 'webcrypto' : 'libsodium-thread', ctl.output());
    assert.doesNotMatch(ctl.output(), /checkpoint thread|Uncaught/, ctl.output());
    if (runtime !== 'bun') {
      const wal = join(dir, 'data/controller.db-wal');
      assert.equal(existsSync(wal) ? statSync(wal).size : 0, 0, 'the WAL is emptied at stop');
    }
  } finally {
    await ctl.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const runtime of ['node', 'deno', 'bun'] as const) {
  test(`dist/controller.mjs on ${runtime}: live, status, login, profile, 401, 403, 400, 404, docs, SIGTERM`, { timeout: 90_000 }, () =>
    smoke(runtime),
  );
}

test('an invalid variable stops the process at start with one line naming it', { timeout: 30_000 }, async () => {
  const { cmd, args } = runtimeCommand('node');
  const dir = mkdtempSync(join(tmpdir(), 'ctl-cfg-'));
  try {
    const r = await new Promise<{ code: number | null; err: string }>((res) => {
      const p = spawn(cmd, args, { cwd: dir, env: { PATH: process.env.PATH ?? '', API_PORT: 'eighty' } });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => res({ code, err }));
    });
    assert.equal(r.code, 1);
    assert.equal(r.err.trim(), 'invalid configuration: API_PORT must be a whole number between 0 and 65535 (got "eighty")');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm start (scripts/start.mjs) serves /api/v3/status on the embedded database, creating it and the encryption key', {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-start-'));
  const port = await freePort();
  const t0 = Date.now();
  const p = spawn(process.execPath, [join(ROOT, 'scripts/start.mjs')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', API_PORT: String(port), API_HOST: '127.0.0.1' },
  });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  try {
    let readyMs = -1;
    // A liveness bound only (start.mjs rebuilds a stale bundle first); start-up time is measured by
    // `npm run bench:cold-start`, not asserted here.
    await waitFor(
      'the Controller to answer /api/v3/status',
      async () => {
        if ((await fetch(`http://127.0.0.1:${port}/api/v3/status`).catch(() => undefined))?.status !== 200) return false;
        readyMs = Date.now() - t0;
        return true;
      },
      { timeoutMs: 40_000 - (Date.now() - t0), intervalMs: 20 },
    ).catch(() => {});
    assert.ok(readyMs > 0, `never ready\n${out}`);
    t.diagnostic(`ready after ${readyMs} ms`);
    assert.ok(existsSync(join(dir, 'data/controller.db')), 'embedded database created under ./data');
    assert.ok(existsSync(join(dir, 'data/encryption.key')), 'generated encryption key persisted');
    assert.match(out, /ENCRYPTION_KEY is not set: generated one/);
    const exit = new Promise<number | null>((r) => p.once('exit', r));
    p.kill('SIGINT');
    assert.equal(await exit, 0);
  } finally {
    p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS: with TLS_PATH_CERT/KEY the API listens on https, and GET /agent/cert hands agents that certificate', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  const { cmd, args } = runtimeCommand('node');
  const p = spawn(cmd, args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      TLS_PATH_CERT: join(dir, 'cert.pem'),
      TLS_PATH_KEY: join(dir, 'key.pem'),
      OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
      OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    },
  });
  try {
    const ca = readFileSync(join(dir, 'cert.pem'));
    const get = () =>
      new Promise<{ status: number; body: string }>((res, rej) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/api/v3/status', ca }, (r) => {
          let body = '';
          r.on('data', (d) => (body += d));
          r.on('end', () => res({ status: r.statusCode ?? 0, body }));
        });
        req.on('error', rej);
        req.end();
      });
    // The process is starting: wait for its first https answer (start-up is slow on a loaded machine).
    const result = await waitFor('an https answer from the starting Controller', () => get().catch(() => undefined), {
      timeoutMs: 45_000,
      intervalMs: 50,
    }).catch(() => undefined);
    assert.equal(result?.status, 200);
    assert.equal(JSON.parse(result!.body).status, 'online');

    // An agent asks for the certificate to pin: the configured one (self-signed here, so its own root).
    const api = (method: string, path: string, token?: string, body?: unknown) =>
      new Promise<{ status: number; body: any }>((res, rej) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const headers: Record<string, string> = {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(data ? { 'content-type': 'application/json' } : {}),
        };
        const req = httpsRequest({ host: '127.0.0.1', port, path, method, ca, headers }, (r) => {
          let text = '';
          r.on('data', (d) => (text += d));
          r.on('end', () => res({ status: r.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
        });
        req.on('error', rej);
        req.end(data);
      });
    const admin = (await api('POST', '/api/v3/user/login', undefined, { email: ADMIN.email, password: ADMIN.password })).body
      .accessToken as string;
    const fog = await api('POST', '/api/v3/iofog', admin, { name: 'tls-fog', archId: 1, routerMode: 'none', natsMode: 'none' });
    assert.equal(fog.status, 201, JSON.stringify(fog.body));
    const key = await api('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, admin);
    const agent = await AgentSigner.fromProvision(
      (await api('POST', '/api/v3/agent/provision', undefined, { key: key.body.key, type: 1 })).body,
    );
    const cert = await api('GET', '/api/v3/agent/cert', await agent.token());
    assert.equal(cert.status, 200, JSON.stringify(cert.body));
    assert.equal(Buffer.from(cert.body, 'base64').toString('utf8'), ca.toString('utf8'));
  } finally {
    p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle exists and is one file per target', () => {
  assert.ok(existsSync(BUNDLE));
  assert.ok(existsSync(join(ROOT, 'dist/worker.mjs')));
});
