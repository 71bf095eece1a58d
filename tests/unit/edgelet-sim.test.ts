// Unit tests of the Edgelet simulator (tests/harness/edgelet.ts): token shape, change-cycle plan and
// acknowledgement rules, status body, response classification, the status auth gate — and, against
// an in-process stub (no Controller), the headers it sends and the cycle it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { exportJWK, generateKeyPair, jwtVerify, importJWK, decodeProtectedHeader } from 'jose';
import {
  CHANGE_FLAGS,
  Edgelet,
  ed25519Sign,
  StatusAuthGate,
  applyRemoteConfig,
  base32NoPad,
  buildStatusBody,
  decodeToken,
  errorKey,
  isRetryable,
  isSuccess,
  makeJti,
  planCycle,
  shouldAcknowledge,
  type LocalContainer,
} from '../harness/edgelet';

const URL_ = 'http://127.0.0.1:1/api/v3';

async function credentials() {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    uuid: crypto.randomUUID(),
    privateKey: Buffer.from(JSON.stringify({ kty: jwk.kty, crv: jwk.crv, d: jwk.d, x: jwk.x })).toString('base64'),
    namespace: 'iofog',
    publicJwk: await exportJWK(publicKey),
  };
}

const all = (v: boolean) => Object.fromEntries(CHANGE_FLAGS.map((f) => [f, v]));

test('base32 without padding: RFC 4648 vectors', () => {
  const enc = (s: string) => base32NoPad(new TextEncoder().encode(s));
  assert.deepEqual(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map(enc), [
    '',
    'MY',
    'MZXQ',
    'MZXW6',
    'MZXW6YQ',
    'MZXW6YTB',
    'MZXW6YTBOI',
  ]);
});

test('jti: base32 of SHA-256 over claims + nonce, 52 chars, unique per token', () => {
  const claims = { sub: 'x', iat: 1 };
  const nonce = new Uint8Array(16);
  assert.equal(makeJti(claims, nonce), makeJti(claims, nonce), 'deterministic for a fixed nonce');
  const a = makeJti(claims);
  assert.match(a, /^[A-Z2-7]{52}$/);
  assert.notEqual(a, makeJti(claims));
});

test('token: Edgelet header and claims, verifies with the public key as EdDSA', async () => {
  const c = await credentials();
  const e = new Edgelet(URL_);
  await e.loadCredentials(c);
  const before = Math.floor(Date.now() / 1000);
  const t = e.signToken();
  const { header, claims } = decodeToken(t);
  assert.deepEqual(header, { alg: 'EdDSA', typ: 'JWT' });
  assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub', 'tokenUse']);
  assert.equal(claims.sub, c.uuid);
  assert.equal(claims.iss, 'https://edgelet.default.svc.bridge.local');
  assert.deepEqual(claims.aud, [URL_]);
  assert.equal(claims.tokenUse, 'controller');
  assert.ok((claims.iat as number) >= before && claims.iat === claims.nbf);
  assert.equal(claims.exp, (claims.iat as number) + 600);
  const { payload } = await jwtVerify(t, await importJWK(c.publicJwk, 'EdDSA'), { algorithms: ['EdDSA'] });
  assert.equal(payload.sub, c.uuid);
  assert.notEqual(decodeToken(e.signToken()).claims.jti, claims.jti, 'a new jti per token');
  assert.equal(e.uuid, c.uuid);
  assert.equal(e.namespace, 'iofog');
});

test('token overrides craft the negative cases', async () => {
  const c = await credentials();
  const e = new Edgelet(URL_);
  await e.loadCredentials(c);
  const pub = await importJWK(c.publicJwk, 'EdDSA');
  assert.equal('sub' in decodeToken(e.signToken({ sub: null })).claims, false);
  assert.equal('jti' in decodeToken(e.signToken({ jti: null })).claims, false);
  assert.equal(decodeToken(e.signToken({ jti: 'fixed' })).claims.jti, 'fixed');
  const now = Math.floor(Date.now() / 1000);
  await assert.rejects(jwtVerify(e.signToken({ exp: now - 60 }), pub), { code: 'ERR_JWT_EXPIRED' });
  await assert.rejects(jwtVerify(e.signToken({ now: now - 3600 }), pub), { code: 'ERR_JWT_EXPIRED' });
  await assert.rejects(jwtVerify(e.signToken({ key: Edgelet.randomKey() }), pub), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  const none = e.signToken({ alg: 'none' });
  assert.ok(none.endsWith('.'));
  assert.equal(decodeProtectedHeader(none).alg, 'none');
  assert.equal(decodeProtectedHeader(e.signToken({ alg: 'HS256' })).alg, 'HS256');
  assert.equal(decodeToken(e.signToken({ claims: { extra: 1, tokenUse: null } })).claims.extra, 1);
  assert.equal('tokenUse' in decodeToken(e.signToken({ claims: { tokenUse: null } })).claims, false);
  assert.throws(() => new Edgelet(URL_).signToken(), /not provisioned/);
});

test('cycle plan: Edgelet order, deleteNode exclusive, one microservices GET, one logs GET', () => {
  assert.deepEqual(planCycle(all(true), false), ['deleteNode']);
  assert.deepEqual(planCycle({ ...all(true), deleteNode: false }, false), [
    'reboot',
    'configPull',
    'version',
    'registries',
    'prune',
    'volumeMounts',
    'microservices',
    'execSessions',
    'tunnel',
    'logs',
  ]);
  assert.deepEqual(planCycle(all(false), false), []);
  assert.deepEqual(planCycle({ routerChanged: true }, false), [], 'routerChanged is ignored');
  assert.deepEqual(planCycle({ microserviceConfig: true }, false), ['microservices']);
  assert.deepEqual(planCycle({ fogLogs: true, microserviceLogs: true }, false), ['logs']);
  assert.deepEqual(planCycle({ tunnel: true, registries: true }, false), ['registries', 'tunnel']);
});

test('cycle plan: initialization drops deleteNode/reboot/version/prune/tunnel, pushes config, always reloads microservices', () => {
  assert.deepEqual(planCycle(all(true), true), ['configPush', 'registries', 'volumeMounts', 'microservices', 'execSessions', 'logs']);
  assert.deepEqual(planCycle(all(false), true), ['microservices']);
  assert.deepEqual(planCycle({ deleteNode: true, reboot: true }, true), ['microservices']);
  assert.deepEqual(planCycle({ microserviceList: true }, true, true), [], 'skipped after a reconcile < 120 s ago');
});

test('acknowledge only when every handler succeeded and lastUpdated is a non-empty string', () => {
  assert.equal(shouldAcknowledge(true, '2026-01-01T12:00:03.512Z'), true);
  assert.equal(shouldAcknowledge(false, '2026-01-01T12:00:03.512Z'), false);
  assert.equal(shouldAcknowledge(true, ''), false);
  assert.equal(shouldAcknowledge(true, undefined), false);
  assert.equal(shouldAcknowledge(true, 1767225600000), false);
});

test('success is 200 with a JSON object or 204; other 2xx are errors', () => {
  assert.equal(isSuccess(200, {}), true);
  assert.equal(isSuccess(204, undefined), true);
  assert.equal(isSuccess(200, []), false);
  assert.equal(isSuccess(200, 'text'), false);
  assert.equal(isSuccess(200, undefined), false);
  assert.equal(isSuccess(200, null), false);
  assert.equal(isSuccess(201, {}), false);
  assert.equal(isSuccess(202, {}), false);
});

test('retry classification and error keys', () => {
  assert.equal(isRetryable(503, { code: 'CONTROLLER_DB_BUSY', retryable: true }), true);
  assert.equal(isRetryable(0, undefined), true);
  assert.equal(isRetryable(500, { name: 'Error' }), true);
  assert.equal(isRetryable(401, { name: 'AuthenticationError', message: 'Expired Provisioning Key' }), true, 'legacy 401');
  assert.equal(isRetryable(401, { error: 'Unauthorized', code: 'AGENT_JWT_EXPIRED', retryable: false }), false);
  assert.equal(isRetryable(400, {}), false);
  assert.equal(isRetryable(404, {}), false);
  assert.equal(isRetryable(429, { retryable: true }), true);
  assert.equal(errorKey({ status: 401, body: { code: 'AGENT_FOG_NOT_FOUND' } }), '401 AGENT_FOG_NOT_FOUND');
  assert.equal(errorKey({ status: 404, body: { name: 'NotFoundError' } }), '404 NotFoundError');
  assert.equal(errorKey({ status: 502, body: 'Bad gateway' }), '502');
  assert.equal(errorKey({ status: 0, body: undefined, error: 'ECONNREFUSED' }), 'network ECONNREFUSED');
});

test('status auth gate: ≥ 5 consecutive auth failures and ≥ 60 s since the first; 503 never counts', () => {
  const fail = { error: 'Unauthorized', code: 'AGENT_PUBLIC_KEY_NOT_FOUND', retryable: false };
  const g = new StatusAuthGate();
  const trips = [0, 10, 20, 30, 40, 50, 60].map((s) => g.record(401, fail, s * 1000));
  assert.deepEqual(trips, [false, false, false, false, false, false, true], 'trips at the 7th failure, t = 60 s');
  const h = new StatusAuthGate();
  for (const s of [0, 10, 20, 30]) h.record(401, fail, s * 1000);
  h.record(204, undefined, 40_000);
  assert.equal(h.streak, 0, 'a success resets the streak');
  for (let s = 0; s < 20; s++) assert.equal(h.record(503, { code: 'CONTROLLER_DB_BUSY', retryable: true }, s * 10_000), false);
  assert.equal(h.streak, 0);
  assert.equal(h.record(401, { name: 'AuthenticationError' }, 0), false, 'a legacy 401 counts');
  assert.equal(h.streak, 1);
});

test('status body: every key Edgelet sends, JSON-string fields, string usage inside microserviceStatus', () => {
  const containers = new Map<string, LocalContainer>([
    ['ms-1', { containerId: 'c0ffee12', startTime: 1000, status: 'RUNNING', execSessionIds: ['S1'], configSignals: 0 }],
  ]);
  const body = buildStatusBody({
    startedAt: 500,
    now: 91_000,
    containers,
    microservices: new Map([['ms-1', { uuid: 'ms-1', healthCheck: { test: ['CMD', 'true'] } }]]),
    registries: [{ id: 1 }, { id: 2 }],
    volumeMounts: [],
    volumeMountLastUpdate: 0,
    lastCommandTime: 90_000,
    runtimes: ['runc'],
    version: '1.0.3',
  });
  const keys = [
    'daemonStatus',
    'daemonOperatingDuration',
    'daemonLastStart',
    'warningMessage',
    'memoryUsage',
    'diskUsage',
    'cpuUsage',
    'memoryViolation',
    'diskViolation',
    'cpuViolation',
    'systemAvailableDisk',
    'systemAvailableMemory',
    'systemTotalCpu',
    'microserviceStatus',
    'repositoryCount',
    'repositoryStatus',
    'systemTime',
    'lastStatusTime',
    'ipAddress',
    'ipAddressExternal',
    'microserviceMessageCounts',
    'lastCommandTime',
    'tunnelStatus',
    'version',
    'isReadyToUpgrade',
    'isReadyToRollback',
    'activeVolumeMounts',
    'volumeMountLastUpdate',
    'gpsStatus',
    'availableRuntimes',
  ];
  assert.deepEqual(Object.keys(body).sort(), [...keys].sort(), 'no conditional or removed keys');
  assert.equal(typeof body.microserviceStatus, 'string');
  assert.equal(typeof body.repositoryStatus, 'string');
  assert.equal(typeof body.tunnelStatus, 'string');
  assert.equal(body.microserviceMessageCounts, '[]');
  assert.equal(typeof body.cpuUsage, 'number');
  assert.deepEqual(body.availableRuntimes, ['runc']);
  assert.equal(body.daemonOperatingDuration, 90_500);
  assert.deepEqual(JSON.parse(body.repositoryStatus as string), [
    { id: 1, linkStatus: 'OK' },
    { id: 2, linkStatus: 'OK' },
  ]);
  const [entry] = JSON.parse(body.microserviceStatus as string);
  assert.equal(entry.id, 'ms-1');
  assert.equal(entry.status, 'RUNNING');
  assert.equal(entry.percentage, 100);
  assert.equal(entry.operatingDuration, 90_000);
  assert.equal(typeof entry.cpuUsage, 'string');
  assert.equal(typeof entry.memoryUsage, 'string');
  assert.equal(entry.healthStatus, 'healthy');
  assert.deepEqual(entry.execSessionIds, ['S1']);
  assert.deepEqual(
    buildStatusBody(
      {
        startedAt: 0,
        now: 1,
        containers: new Map(),
        microservices: new Map(),
        registries: [],
        volumeMounts: [],
        volumeMountLastUpdate: 0,
        lastCommandTime: 0,
        runtimes: ['runc'],
        version: 'x',
      },
      { controlPlaneQuiesced: true },
    ).controlPlaneQuiesced,
    true,
  );
});

test('desired state: add, config-only signal, rebuild / image change recreate, delete and absence remove', () => {
  const e = new Edgelet(URL_);
  const a = { uuid: 'a', imageId: 'img:1', config: '{}', rebuild: false, delete: false };
  const b = { uuid: 'b', imageId: 'img:2', config: '{}', rebuild: false, delete: false };
  e.reconcileMicroservices([a, b, { name: 'no-uuid' }]);
  assert.deepEqual([...e.running.keys()].sort(), ['a', 'b']);
  const cid = e.containers.get('a')!.containerId;
  e.reconcileMicroservices([{ ...a, config: '{"x":1}' }, b]);
  assert.equal(e.configSignals, 1);
  assert.equal(e.containers.get('a')!.containerId, cid, 'config-only: no restart');
  assert.equal(e.running.get('a')!.config, '{"x":1}');
  e.reconcileMicroservices([{ ...a, config: '{"x":1}', rebuild: true }, b]);
  assert.notEqual(e.containers.get('a')!.containerId, cid, 'rebuild recreates');
  e.reconcileMicroservices([
    { ...a, imageId: 'img:1b' },
    { ...b, delete: true },
  ]);
  assert.deepEqual([...e.running.keys()], ['a']);
  assert.equal(e.containers.has('b'), false);
  e.reconcileMicroservices([]);
  assert.equal(e.running.size, 0);
  const status = JSON.parse(e.statusBody().microserviceStatus as string);
  assert.deepEqual(status, []);
});

test('remote config: nesting unwrapped, only known keys whose value differs', () => {
  const local: Record<string, unknown> = { statusFrequency: 10, changeFrequency: 20, logLevel: 'INFO' };
  assert.deepEqual(applyRemoteConfig(local, { statusFrequency: 30, changeFrequency: 20, bogus: 1 }), ['statusFrequency']);
  assert.equal(local.statusFrequency, 30);
  assert.equal('bogus' in local, false);
  assert.deepEqual(applyRemoteConfig(local, { 'agent-config': { logLevel: 'DEBUG' } }), ['logLevel']);
  assert.deepEqual(applyRemoteConfig(local, null), []);
});

// ── against an in-process stub (not a Controller): headers and the cycle as sent on the wire ──

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

async function stub(handler: (s: Seen) => { status: number; body?: unknown; raw?: string }) {
  const seen: Seen[] = [];
  const srv = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const s: Seen = { method: req.method!, path: req.url!, headers: req.headers, body: text ? JSON.parse(text) : undefined };
      seen.push(s);
      const r = handler(s);
      const out = r.raw ?? (r.body === undefined ? '' : JSON.stringify(r.body));
      res.writeHead(r.status, out ? { 'content-type': 'application/json; charset=utf-8' } : {});
      res.end(out);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/api/v3`;
  return { url, seen, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

test('wire: provision without auth; every other call with Content-Type, Request-Id (ns) and a fresh Bearer token', async () => {
  const c = await credentials();
  const s = await stub((r) => {
    if (r.path === '/api/v3/agent/provision') return { status: 200, body: { uuid: c.uuid, privateKey: c.privateKey, namespace: 'iofog' } };
    if (r.path === '/api/v3/agent/config/changes' && r.method === 'GET')
      return { status: 200, body: { ...all(false), lastUpdated: '2026-01-01T00:00:00.000Z' } };
    if (r.path === '/api/v3/agent/config/changes') return { status: 200, body: {} };
    if (r.path === '/api/v3/agent/registries') return { status: 200, body: { registries: [{ id: 1, url: 'docker.io' }] } };
    if (r.path === '/api/v3/agent/volumeMounts') return { status: 200, body: { volumeMounts: [] } };
    if (r.path === '/api/v3/agent/microservices')
      return { status: 200, body: { microservices: [{ uuid: 'm1', imageId: 'i', config: '{}' }] } };
    return { status: 204 };
  });
  const e = new Edgelet(s.url);
  try {
    const prov = await e.provision('KEY', 2, 'edgelet');
    assert.equal(prov.status, 200);
    assert.deepEqual(s.seen[0]!.body, { key: 'KEY', type: 2, engine: 'edgelet' });
    assert.equal(s.seen[0]!.headers.authorization, undefined);
    const boot = await e.boot();
    assert.deepEqual(
      boot.map((r) => r.status),
      [200, 200, 200, 204, 204],
    );
    assert.deepEqual(
      s.seen.slice(1).map((x) => `${x.method} ${x.path}`),
      [
        'GET /api/v3/agent/registries',
        'GET /api/v3/agent/volumeMounts',
        'GET /api/v3/agent/microservices',
        'PATCH /api/v3/agent/config',
        'PUT /api/v3/agent/status',
      ],
    );
    assert.deepEqual(s.seen[4]!.body.upgradeScanFrequency, 24, 'the local config is pushed');
    assert.deepEqual(
      JSON.parse(s.seen[5]!.body.microserviceStatus).map((m: { id: string }) => m.id),
      ['m1'],
    );
    const jtis = new Set<string>();
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    for (const x of s.seen.slice(1)) {
      assert.equal(x.headers['content-type'], 'application/json');
      assert.match(String(x.headers['request-id']), /^\d{19}$/);
      assert.ok(nowNs - BigInt(String(x.headers['request-id'])) < 60_000_000_000n, 'Unix time in ns');
      const m = /^Bearer (.+)$/.exec(String(x.headers.authorization));
      assert.ok(m);
      jtis.add(String(decodeToken(m[1]!).claims.jti));
    }
    assert.equal(jtis.size, s.seen.length - 1, 'a new token for every request');
    // replay: the same token twice goes out verbatim
    const t = e.signToken();
    await e.request('GET', '/agent/config', { token: t });
    await e.request('GET', '/agent/config', { token: t });
    assert.equal(s.seen.at(-1)!.headers.authorization, `Bearer ${t}`);
    assert.equal(s.seen.at(-2)!.headers.authorization, `Bearer ${t}`);
    await e.request('GET', '/agent/config', { token: null });
    assert.equal(s.seen.at(-1)!.headers.authorization, undefined);
    await e.request('GET', '/agent/config', { authorization: 'Bearer abc' });
    assert.equal(s.seen.at(-1)!.headers.authorization, 'Bearer abc');
  } finally {
    e.close();
    await s.close();
  }
});

test('wire: a failing handler means no acknowledgement; the next cycle redoes all of it and acknowledges', async () => {
  const c = await credentials();
  let msFails = true;
  const flags = { ...all(false), registries: true, microserviceList: true, reboot: true, version: true, tunnel: true };
  const s = await stub((r) => {
    if (r.path === '/api/v3/agent/provision') return { status: 200, body: { uuid: c.uuid, privateKey: c.privateKey, namespace: 'iofog' } };
    if (r.path === '/api/v3/agent/config/changes' && r.method === 'GET') return { status: 200, body: { ...flags, lastUpdated: 'T1' } };
    if (r.path === '/api/v3/agent/config/changes') return { status: 200, body: {} };
    if (r.path === '/api/v3/agent/registries') return { status: 200, body: { registries: [] } };
    if (r.path === '/api/v3/agent/microservices')
      return msFails ? { status: 500, body: { name: 'Error', message: 'x' } } : { status: 200, body: { microservices: [] } };
    if (r.path === '/api/v3/agent/version' || r.path === '/api/v3/agent/tunnel')
      return { status: 404, body: { name: 'NotFoundError', message: 'none' } };
    return { status: 204 };
  });
  const e = new Edgelet(s.url);
  try {
    await e.provision('K');
    const first = await e.changeCycle();
    assert.equal(first.initialization, true);
    assert.deepEqual(first.actions, ['registries', 'microservices'], 'init: reboot/version/tunnel dropped');
    assert.equal(first.ok, false);
    assert.equal(first.acknowledged, false);
    assert.deepEqual(first.errors, ['GET /agent/microservices → 500 Error']);
    assert.equal(s.seen.filter((x) => x.method === 'PATCH').length, 0);
    const second = await e.changeCycle();
    assert.equal(second.initialization, true, 'still initializing after a failed cycle');
    msFails = false;
    const third = await e.changeCycle();
    assert.equal(third.initialization, true);
    assert.equal(third.acknowledged, true);
    assert.equal(e.rebooted, 0);
    assert.deepEqual(s.seen.at(-1)!.body, { lastUpdated: 'T1' });
    const fourth = await e.changeCycle();
    assert.equal(fourth.initialization, false);
    assert.deepEqual(fourth.calls, [
      'GET /agent/version',
      'GET /agent/registries',
      'GET /agent/microservices',
      'GET /agent/tunnel',
      'PATCH /agent/config/changes',
    ]);
    assert.deepEqual(fourth.statuses, [404, 200, 200, 404, 200], '404 on version / tunnel means "none" and is fine');
    assert.equal(fourth.acknowledged, true);
    assert.equal(e.rebooted, 1);
    flags.registries = flags.microserviceList = flags.reboot = flags.version = flags.tunnel = false;
    const empty = await e.changeCycle();
    assert.deepEqual(empty.calls, ['PATCH /agent/config/changes'], 'idle: GET + PATCH');
    assert.equal(e.cycleCount, 5);
    assert.deepEqual(e.cycles, [first, second, third, fourth, empty], 'every cycle is kept by default');
    // A bounded history (the fleet bench): the newest records, and the count of all of them.
    const bounded = new Edgelet(s.url, { cycleHistory: 2 });
    try {
      await bounded.provision('K');
      const runs = [await bounded.changeCycle(), await bounded.changeCycle(), await bounded.changeCycle()];
      assert.equal(bounded.cycleCount, 3);
      assert.deepEqual(bounded.cycles, runs.slice(1));
      assert.strictEqual(bounded.cycles[1], runs[2]);
    } finally {
      bounded.close();
    }
  } finally {
    e.close();
    await s.close();
  }
});

test('wire: deleteNode is exclusive and wipes the agent; network errors are status 0, never thrown', async () => {
  const c = await credentials();
  const s = await stub((r) => {
    if (r.path === '/api/v3/agent/provision') return { status: 200, body: { uuid: c.uuid, privateKey: c.privateKey, namespace: 'iofog' } };
    if (r.path === '/api/v3/agent/config/changes') return { status: 200, body: { ...all(true), lastUpdated: 'T' } };
    if (r.path === '/api/v3/agent/microservices')
      return { status: 200, body: { microservices: [{ uuid: 'm', imageId: 'i', config: '{}' }] } };
    if (r.path === '/api/v3/agent/config') return { status: 204 };
    return { status: 200, body: {} };
  });
  const e = new Edgelet(s.url);
  try {
    await e.provision('K');
    const init = await e.changeCycle();
    assert.equal(init.acknowledged, true);
    assert.equal(e.running.size, 1);
    const del = await e.changeCycle();
    assert.deepEqual(del.calls, ['DELETE /agent/delete-node']);
    assert.equal(e.deleted, true);
    assert.equal(e.wiped, true);
    assert.equal(e.running.size, 0);
  } finally {
    e.close();
    await s.close();
  }
  const dead = new Edgelet(s.url, { timeoutMs: 2000 });
  await dead.loadCredentials(c);
  const r = await dead.putStatus();
  assert.equal(r.status, 0);
  assert.equal(r.error, 'ECONNREFUSED');
  dead.close();
});

test('simulator: Ed25519 signatures through libsodium are byte-for-byte those of node:crypto', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  for (const input of ['', 'a', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0', 'x'.repeat(1000)]) {
    const fast = ed25519Sign(input, privateKey);
    assert.deepEqual(fast, nodeSign(null, Buffer.from(input), privateKey), input);
    assert.ok(nodeVerify(null, Buffer.from(input), publicKey, fast));
  }
});
