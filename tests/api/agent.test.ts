import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from 'jose';
import { makeTestApp, type TestApp } from '../harness/app';
import { sqliteOnly } from '../harness/postgres';
import { AgentSigner } from '../harness/agent-token';
import { ChangesSchema, ProvisionResponse } from '../../routes/agent/index';
import { CHANGE_FLAGS } from '../../src/services/changes/flags';
import { runTick } from '../../src/jobs/runner';
import { fogStatusJob } from '../../workers/fog-status';
import { ManualClock } from '../../src/lib/clock';
import { count, eq } from 'drizzle-orm';
import { fog as fogTable } from '../../db/schema/index';

async function provisioned(t: TestApp, body: Record<string, unknown> = {}) {
  const admin = (await t.login()).accessToken;
  const created = await t.call('POST', '/api/v3/iofog', {
    token: admin,
    body: { name: `fog-${crypto.randomUUID().slice(0, 8)}`, archId: 1, routerMode: 'none', natsMode: 'none', ...body },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const key = await t.call('GET', `/api/v3/iofog/${created.body.uuid}/provisioning-key`, { token: admin });
  assert.equal(key.status, 201);
  const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 2, engine: 'edgelet' } });
  assert.equal(prov.status, 200, JSON.stringify(prov.body));
  ProvisionResponse.parse(prov.body);
  const agent = await AgentSigner.fromProvision(prov.body);
  const call = async (method: string, path: string, body?: unknown) =>
    t.call(method, `/api/v3/agent${path}`, { token: await agent.token(), body });
  return { admin, uuid: created.body.uuid as string, key: key.body.key as string, agent, call };
}

test('provision: single-use key, Ed25519 key pair, public key only on the server, arch and engine stored', async () => {
  const t = await makeTestApp();
  try {
    const { admin, uuid, key, agent, call } = await provisioned(t);
    const jwk = JSON.parse((await t.ctx.store.raw.execute('SELECT public_jwk FROM fog_public_key')).rows[0]!.public_jwk as string);
    assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kty', 'x']);
    assert.equal(agent.uuid, uuid);
    const reuse = await t.call('POST', '/api/v3/agent/provision', { body: { key, type: 2, engine: 'edgelet' } });
    assert.equal(reuse.status, 404);
    assert.equal(reuse.body.message, 'Invalid Provisioning Key');
    const fog = await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin });
    assert.equal(fog.body.archId, 2);
    assert.equal(fog.body.arch.name, 'arm64');
    assert.equal(fog.body.containerEngine, 'edgelet');
    const changes = await call('GET', '/config/changes');
    assert.equal(changes.status, 200);
    ChangesSchema.parse(changes.body);
    assert.deepEqual(Object.keys(changes.body).sort(), [...CHANGE_FLAGS, 'lastUpdated'].sort());
    for (const f of ['volumeMounts', 'registries', 'microserviceList', 'microserviceConfig']) assert.equal(changes.body[f], true, f);
    assert.equal(changes.body.reboot, false);
    const bad = await t.call('POST', '/api/v3/agent/provision', { body: { key: 'x', type: 9 } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^type: /);
  } finally {
    await t.close();
  }
});

test('provision: many agents at once all succeed, and the same key used twice at once provisions once', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const keys: string[] = [];
    for (let i = 0; i < 24; i++) {
      const created = await t.call('POST', '/api/v3/iofog', {
        token: admin,
        body: { name: `burst-${i}`, archId: 1, routerMode: 'none', natsMode: 'none' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      keys.push((await t.call('GET', `/api/v3/iofog/${created.body.uuid}/provisioning-key`, { token: admin })).body.key);
    }
    // Every key twice, all at once: each fog is provisioned exactly once, no request fails otherwise.
    const answers = await Promise.all(
      [...keys, ...keys].map((key) => t.call('POST', '/api/v3/agent/provision', { body: { key, type: 1, engine: 'edgelet' } })),
    );
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    assert.deepEqual(
      Object.fromEntries(byStatus),
      { 200: 24, 404: 24 },
      JSON.stringify(answers.filter((a) => a.status !== 200 && a.status !== 404)),
    );
    const uuids = new Set(answers.filter((a) => a.status === 200).map((a) => a.body.uuid));
    assert.equal(uuids.size, 24, 'one provision per fog');
    const stored = await t.ctx.store.raw.execute('SELECT count(*) AS n FROM fog_public_key');
    assert.equal(Number(stored.rows[0]!.n), 24);
  } finally {
    await t.close();
  }
});

test('provision: an expired key is 401, an unknown key 404', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const admin = (await t.login()).accessToken;
    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'f1', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    assert.ok(key.body.expirationTime - clock.now() === 20 * 60_000);
    clock.advance(20 * 60_000 + 1);
    const expired = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } });
    assert.equal(expired.status, 401);
    assert.equal(expired.body.message, 'Expired Provisioning Key');
    assert.equal((await t.call('POST', '/api/v3/agent/provision', { body: { key: 'nope', type: 1 } })).status, 404);
  } finally {
    await t.close();
  }
});

test('every agent 401 code is structured and non-retryable', async () => {
  const t = await makeTestApp();
  try {
    const { agent, uuid } = await provisioned(t);
    const get = (headers: Record<string, string>) => t.call('GET', '/api/v3/agent/config', { headers });
    const expect401 = async (headers: Record<string, string>, code: string) => {
      const r = await get(headers);
      assert.equal(r.status, 401, `${code}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, code);
      assert.equal(r.body.error, 'Unauthorized');
      assert.equal(r.body.retryable, false);
    };
    await expect401({}, 'AGENT_AUTH_HEADER_INVALID');
    await expect401({ authorization: 'Basic abc' }, 'AGENT_AUTH_HEADER_INVALID');
    await expect401({ authorization: 'Bearer not-a-jwt' }, 'AGENT_JWT_MALFORMED');
    await expect401({ authorization: `Bearer ${await agent.token({ sub: null })}` }, 'AGENT_JWT_MISSING_SUBJECT');
    await expect401({ authorization: `Bearer ${await agent.token({ jti: null })}` }, 'AGENT_JWT_MALFORMED');
    await expect401({ authorization: `Bearer ${await agent.token({ sub: crypto.randomUUID() })}` }, 'AGENT_FOG_NOT_FOUND');
    const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    await expect401(
      { authorization: `Bearer ${await agent.token({ key: other.privateKey as CryptoKey })}` },
      'AGENT_JWT_SIGNATURE_INVALID',
    );
    const now = Math.floor(Date.now() / 1000);
    await expect401({ authorization: `Bearer ${await agent.token({ iat: now - 1200, exp: now - 600 })}` }, 'AGENT_JWT_EXPIRED');
    const once = await agent.token();
    assert.equal((await get({ authorization: `Bearer ${once}` })).status, 200);
    await expect401({ authorization: `Bearer ${once}` }, 'AGENT_JWT_ALREADY_USED');
    // Future tokens are a clock problem: retryable 503, never 401.
    const skew = await get({ authorization: `Bearer ${await agent.token({ iat: now + 600, nbf: now + 600, exp: now + 1200 })}` });
    assert.equal(skew.status, 503);
    assert.equal(skew.body.code, 'CONTROLLER_AGENT_CLOCK_SKEW');
    assert.equal(skew.body.retryable, true);
    // Deprovision removes the key: later tokens are AGENT_PUBLIC_KEY_NOT_FOUND.
    assert.equal(
      (await t.call('POST', '/api/v3/agent/deprovision', { token: await agent.token(), body: { microserviceUuids: [] } })).status,
      204,
    );
    await expect401({ authorization: `Bearer ${await agent.token()}` }, 'AGENT_PUBLIC_KEY_NOT_FOUND');
    const admin = (await t.login()).accessToken;
    assert.equal((await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.daemonStatus, 'DEPROVISIONED');
  } finally {
    await t.close();
  }
});

test('a database fault during agent authentication is a retryable 503 with Retry-After, never 401', async () => {
  const t = await makeTestApp();
  try {
    const { agent } = await provisioned(t);
    t.ctx.agentKeys.invalidate(agent.uuid);
    t.ctx.store.close();
    const r = await t.call('GET', '/api/v3/agent/config', { token: await agent.token() });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.retryable, true);
    assert.equal(r.body.error, 'ServiceUnavailable');
    assert.match(r.body.code, /^CONTROLLER_(DB_UNAVAILABLE|DB_BUSY|AUTH_VERIFICATION_FAILED)$/);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  } finally {
    await t.close();
  }
});

test('used token ids survive a restart (persisted in batches)', async () => {
  const t = await makeTestApp();
  try {
    const { agent } = await provisioned(t);
    const token = await agent.token();
    assert.equal((await t.call('GET', '/api/v3/agent/config', { token })).status, 200);
    await t.ctx.agentJtis.flush(t.ctx);
    const rows = await t.ctx.store.raw.execute('SELECT count(*) AS n FROM agent_jti_batch');
    assert.ok(Number(rows.rows[0]!.n) >= 1);
    // A fresh store, as after a restart, loads them back.
    const { JtiStore } = await import('../../src/auth/agent-jti');
    const fresh = new JtiStore(t.ctx.clock, t.ctx.logger);
    await fresh.load(t.ctx);
    const { decodeJwt } = await import('jose');
    const claims = decodeJwt(token);
    assert.equal(fresh.use(claims.jti!, agent.uuid, Date.now() + 600_000), false);
  } finally {
    await t.close();
  }
});

test('config: GET returns the v3.8 field set; PATCH stores the agent config without raising `config`; float limits accepted', async () => {
  const t = await makeTestApp();
  try {
    const { admin, uuid, call } = await provisioned(t);
    const cfg = await call('GET', '/config');
    assert.equal(cfg.status, 200);
    assert.equal(cfg.body.statusFrequency, 10);
    assert.equal(cfg.body.changeFrequency, 20);
    assert.ok(!('dockerUrl' in cfg.body) && !('deviceScanFrequency' in cfg.body));
    const patch = await call('PATCH', '/config', {
      diskLimit: 0.5,
      memoryLimit: 256.5,
      logLevel: 'debug',
      statusFrequency: 5,
      upgradeScanFrequency: 24,
      someFutureKey: 'x',
    });
    assert.equal(patch.status, 204, JSON.stringify(patch.body));
    const after = await call('GET', '/config');
    assert.equal(after.body.diskLimit, 0.5);
    assert.equal(after.body.logLevel, 'DEBUG');
    assert.equal(after.body.statusFrequency, 5);
    assert.equal((await call('PATCH', '/config', { diskLimit: '5' })).status, 400);
    const ch = await call('GET', '/config/changes');
    assert.equal(ch.body.config, false, 'agent-pushed config does not bounce back');
    // An operator change does raise it.
    assert.equal((await t.call('PATCH', `/api/v3/iofog/${uuid}`, { token: admin, body: { changeFrequency: 15 } })).status, 204);
    assert.equal((await call('GET', '/config/changes')).body.config, true);
    assert.equal((await call('PATCH', '/config/gps', { latitude: 41.01, longitude: 28.97 })).status, 204);
    assert.equal((await call('GET', '/config')).body.latitude, 41.01);
  } finally {
    await t.close();
  }
});

test('changes: OR of rows, acknowledge clears up to lastUpdated, later rows survive, missing lastUpdated is 400', async () => {
  const t = await makeTestApp();
  try {
    const { admin, uuid, call } = await provisioned(t);
    const first = await call('GET', '/config/changes');
    assert.equal((await t.call('POST', `/api/v3/iofog/${uuid}/reboot`, { token: admin })).status, 204);
    const ack = await call('PATCH', '/config/changes', { lastUpdated: first.body.lastUpdated });
    assert.equal(ack.status, 200);
    assert.deepEqual(ack.body, {});
    const second = await call('GET', '/config/changes');
    assert.equal(second.body.reboot, true, 'raised after the poll: survives the acknowledgement');
    assert.equal(second.body.microserviceList, false);
    assert.ok(second.body.lastUpdated > first.body.lastUpdated);
    assert.equal((await call('PATCH', '/config/changes', { lastUpdated: second.body.lastUpdated })).status, 200);
    const idle = await call('GET', '/config/changes');
    assert.ok(CHANGE_FLAGS.every((f) => idle.body[f] === false));
    assert.match(idle.body.lastUpdated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal((await call('PATCH', '/config/changes', { lastUpdated: idle.body.lastUpdated })).status, 200, 'idle ack');
    assert.equal((await call('PATCH', '/config/changes', {})).status, 400);
    assert.equal((await call('PATCH', '/config/changes', { lastUpdated: 'yesterday' })).status, 400);
    // Operator commands set their flags.
    assert.equal((await t.call('POST', `/api/v3/iofog/${uuid}/prune`, { token: admin })).status, 204);
    assert.equal((await call('GET', '/config/changes')).body.prune, true);
  } finally {
    await t.close();
  }
});

test('status: stored fields, receipt time, JSON-string microserviceStatus validated (400 never 500/401), unknown ids ignored', async () => {
  const t = await makeTestApp();
  try {
    const { admin, uuid, call } = await provisioned(t);
    const body = {
      daemonStatus: 'RUNNING',
      daemonOperatingDuration: 93000,
      daemonLastStart: Date.now() - 93000,
      warningMessage: '',
      memoryUsage: 61.2,
      diskUsage: 0.4,
      cpuUsage: 2.5,
      memoryViolation: false,
      diskViolation: false,
      cpuViolation: false,
      systemAvailableDisk: 41234567168,
      systemAvailableMemory: 6123456512,
      systemTotalCpu: 7.5,
      microserviceStatus: JSON.stringify([
        { id: crypto.randomUUID(), status: 'RUNNING', percentage: 100, cpuUsage: '0.8', memoryUsage: '15728640' },
      ]),
      repositoryCount: 2,
      repositoryStatus: '[{"id":1,"linkStatus":"OK"}]',
      systemTime: Date.now(),
      lastStatusTime: 1,
      ipAddress: '10.0.0.21',
      ipAddressExternal: '203.0.113.7',
      microserviceMessageCounts: '[]',
      lastCommandTime: Date.now(),
      tunnelStatus: '{}',
      version: '1.0.2',
      isReadyToUpgrade: true,
      isReadyToRollback: false,
      activeVolumeMounts: 0,
      volumeMountLastUpdate: 0,
      gpsStatus: 'HEALTHY',
      availableRuntimes: ['runc', 'nvidia'],
      modelStatus: 'ignored',
    };
    const r = await call('PUT', '/status', body);
    assert.equal(r.status, 204, JSON.stringify(r.body));
    const fog = (await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body;
    assert.equal(fog.daemonStatus, 'RUNNING');
    assert.equal(fog.ipAddress, '10.0.0.21');
    assert.equal(fog.version, '1.0.2');
    assert.deepEqual(fog.availableRuntimes, ['runc', 'nvidia']);
    assert.ok(fog.lastStatusTime > 1_000_000, 'receipt time, not the agent-supplied value');
    const bad = await call('PUT', '/status', { ...body, microserviceStatus: '[{not json' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^microserviceStatus: /);
    assert.equal((await call('PUT', '/status', { ...body, cpuUsage: 'high' })).status, 400);
    const warn = await call('PUT', '/status', { ...body, warningMessage: 'HW signature changed' });
    assert.equal(warn.status, 204);
    assert.equal((await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.securityStatus, 'WARNING');
  } finally {
    await t.close();
  }
});

test('fog-status job: a silent agent turns UNKNOWN after 3 status periods; a report restores it', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const { admin, uuid, call } = await provisioned(t);
    assert.equal((await call('PUT', '/status', { daemonStatus: 'RUNNING' })).status, 204);
    clock.advance(25_000);
    // statusFrequency 10 s → UNKNOWN after 30 s of silence.
    await runTick(t.ctx, fogStatusJob, clock.now());
    assert.equal((await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.daemonStatus, 'RUNNING');
    clock.advance(10_000);
    const tick = await runTick(t.ctx, fogStatusJob, clock.now());
    assert.deepEqual(tick.ran && tick.result, { markedUnknown: 1, removed: 0 });
    assert.equal((await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.daemonStatus, 'UNKNOWN');
    assert.equal((await call('PUT', '/status', { daemonStatus: 'RUNNING' })).status, 204);
    assert.equal((await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.daemonStatus, 'RUNNING');

    // A whole site going silent: more fogs than one chunk (500) of the job. Every one turns UNKNOWN in
    // the same tick; the fog that keeps reporting does not.
    const [row] = await t.ctx.db.select().from(fogTable).where(eq(fogTable.uuid, uuid));
    const silent = Array.from({ length: 1200 }, (_, i) => ({
      ...row!,
      uuid: crypto.randomUUID(),
      name: `silent-${i}`,
      daemonStatus: 'RUNNING',
      lastStatusTime: clock.now() - 60_000,
    }));
    for (let i = 0; i < silent.length; i += 100) await t.ctx.db.insert(fogTable).values(silent.slice(i, i + 100));
    clock.advance(1_000);
    const site = await runTick(t.ctx, fogStatusJob, clock.now());
    assert.deepEqual(site.ran && site.result, { markedUnknown: 1200, removed: 0 });
    const statuses = await t.ctx.db.select({ s: fogTable.daemonStatus, n: count() }).from(fogTable).groupBy(fogTable.daemonStatus);
    assert.deepEqual(Object.fromEntries(statuses.map((r) => [r.s, r.n])), { RUNNING: 1, UNKNOWN: 1200 });
  } finally {
    await t.close();
  }
});

test('fog delete: deleteNode flag, agent confirms with delete-node, then AGENT_FOG_NOT_FOUND', async () => {
  const t = await makeTestApp();
  try {
    const { admin, uuid, call } = await provisioned(t);
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${uuid}`, { token: admin })).status, 202);
    const fog = await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin });
    assert.equal(fog.body.platformStatus.phase, 'Deleting');
    assert.equal((await call('GET', '/config/changes')).body.deleteNode, true);
    assert.equal((await call('DELETE', '/delete-node')).status, 204);
    assert.equal((await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin })).status, 404);
    const after = await call('GET', '/config');
    assert.equal(after.status, 401);
    assert.equal(after.body.code, 'AGENT_FOG_NOT_FOUND');
  } finally {
    await t.close();
  }
});

test('fog delete without an agent: a never-provisioned or deprovisioned fog goes at once and its name is free; a live agent still confirms', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const mk = async (name: string) => {
      const r = await t.call('POST', '/api/v3/iofog', { token: admin, body: { name, archId: 1, routerMode: 'none', natsMode: 'none' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.uuid as string;
    };
    // Never provisioned: nobody could confirm, so nothing waits.
    const never = await mk('never-provisioned');
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${never}`, { token: admin })).status, 202);
    assert.equal((await t.call('GET', `/api/v3/iofog/${never}`, { token: admin })).status, 404);
    await mk('never-provisioned');

    // Deprovisioned: its key is gone, so it is removed at once too.
    const gone = await provisioned(t, { name: 'deprovisioned-fog' });
    assert.equal((await gone.call('POST', '/deprovision', { microserviceUuids: [] })).status, 204);
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${gone.uuid}`, { token: admin })).status, 202);
    assert.equal((await t.call('GET', `/api/v3/iofog/${gone.uuid}`, { token: admin })).status, 404);
    await mk('deprovisioned-fog');

    // A live agent: the fog waits for its confirmation and keeps its name meanwhile.
    const live = await provisioned(t, { name: 'live-fog' });
    assert.equal((await t.call('DELETE', `/api/v3/iofog/${live.uuid}`, { token: admin })).status, 202);
    assert.equal((await t.call('GET', `/api/v3/iofog/${live.uuid}`, { token: admin })).body.platformStatus.phase, 'Deleting');
    assert.equal(
      (await t.call('POST', '/api/v3/iofog', { token: admin, body: { name: 'live-fog', archId: 1, routerMode: 'none', natsMode: 'none' } }))
        .status,
      409,
    );
  } finally {
    await t.close();
  }
});

test('desired-state routes: registries (built-ins), volume mounts, microservices, sessions, tunnel 404, version, hal', async () => {
  const t = await makeTestApp();
  try {
    const { admin, uuid, call, key } = await provisioned(t);
    const reg = await call('GET', '/registries');
    assert.deepEqual(
      reg.body.registries.map((r: { id: number; url: string }) => [r.id, r.url]),
      [
        [1, 'docker.io'],
        [2, 'from_cache'],
      ],
    );
    assert.deepEqual((await call('GET', '/microservices')).body, { microservices: [] });
    assert.equal((await call('GET', `/microservices/${crypto.randomUUID()}`)).status, 404);
    assert.deepEqual((await call('GET', '/volumeMounts')).body, { volumeMounts: [] });
    assert.deepEqual((await call('GET', '/exec/sessions')).body, { execSessions: [] });
    assert.deepEqual((await call('GET', '/logs/sessions')).body, { logSessions: [] });
    assert.equal((await call('GET', '/tunnel')).status, 404);
    assert.equal((await call('GET', '/version')).status, 404);
    assert.equal((await call('GET', '/cert')).status, 404, 'no TLS configured');
    // Version command: a new fog is ready to upgrade before its first status report (upstream's default);
    // after that, only when the agent says it is ready.
    assert.equal((await t.call('GET', `/api/v3/iofog/${uuid}`, { token: admin })).body.isReadyToUpgrade, true);
    assert.equal((await t.call('POST', `/api/v3/iofog/${uuid}/version/upgrade`, { token: admin })).status, 204, 'before any status report');
    assert.equal((await call('PUT', '/status', { isReadyToUpgrade: false })).status, 204);
    const refused = await t.call('POST', `/api/v3/iofog/${uuid}/version/upgrade`, { token: admin });
    assert.equal(refused.status, 400);
    assert.equal((await call('PUT', '/status', { isReadyToUpgrade: true })).status, 204);
    assert.equal((await t.call('POST', `/api/v3/iofog/${uuid}/version/upgrade`, { token: admin })).status, 204);
    assert.equal((await t.call('POST', `/api/v3/iofog/${uuid}/version/sideways`, { token: admin })).status, 400);
    assert.equal((await call('GET', '/config/changes')).body.version, true);
    const v = await call('GET', '/version');
    assert.equal(v.status, 200);
    assert.equal(v.body.versionCommand, 'upgrade');
    assert.notEqual(v.body.provisionKey, key);
    // The OTA re-provision keeps the uuid and rotates the key.
    const re = await t.call('POST', '/api/v3/agent/provision', { body: { key: v.body.provisionKey, type: 2, engine: 'edgelet' } });
    assert.equal(re.status, 200);
    assert.equal(re.body.uuid, uuid);
    const old = await call('GET', '/config');
    assert.equal(old.status, 401);
    assert.equal(old.body.code, 'AGENT_JWT_SIGNATURE_INVALID');
    const fresh = await AgentSigner.fromProvision(re.body);
    assert.equal((await t.call('GET', '/api/v3/agent/config', { token: await fresh.token() })).status, 200);
    assert.equal((await t.call('PUT', '/api/v3/agent/hal/hw', { token: await fresh.token(), body: { info: '{"cpu":"x"}' } })).status, 204);
    assert.deepEqual((await t.call('GET', `/api/v3/iofog/${uuid}/hal/hw`, { token: admin })).body, { info: '{"cpu":"x"}' });
    // Nothing reported: 200 with an empty body, as v3.8 answers.
    const usb = await t.call('GET', `/api/v3/iofog/${uuid}/hal/usb`, { token: admin });
    assert.equal(usb.status, 200);
    assert.equal(usb.body, undefined, 'empty body');
    assert.equal((await t.call('GET', `/api/v3/iofog/${crypto.randomUUID()}/hal/usb`, { token: admin })).status, 404, 'unknown fog');
    for (const removed of ['/strace', '/image-snapshot', '/edgeResources']) {
      assert.equal((await t.call('GET', `/api/v3/agent${removed}`, { token: await fresh.token() })).status, 404, removed);
    }
  } finally {
    await t.close();
  }
});

test('concurrent status reports are group-committed: every one is stored, in fewer transactions', {
  skip: sqliteOnly('counts transactions through the in-process write lock'),
}, async () => {
  const t = await makeTestApp();
  try {
    const agents = await Promise.all(Array.from({ length: 3 }, () => provisioned(t)));
    let txs = 0;
    const original = t.ctx.store.writeLock.acquire.bind(t.ctx.store.writeLock);
    t.ctx.store.writeLock.acquire = () => {
      txs++;
      return original();
    };
    const results = await Promise.all(
      agents.flatMap((a, i) =>
        Array.from({ length: 10 }, (_, j) => a.call('PUT', '/status', { daemonStatus: 'RUNNING', version: `1.0.${i}`, cpuUsage: j })),
      ),
    );
    assert.ok(
      results.every((r) => r.status === 204),
      JSON.stringify(results.filter((r) => r.status !== 204).map((r) => r.body)),
    );
    assert.ok(txs < 30, `30 reports in ${txs} write transactions`);
    const admin = (await t.login()).accessToken;
    for (const [i, a] of agents.entries()) {
      const fog = (await t.call('GET', `/api/v3/iofog/${a.uuid}`, { token: admin })).body;
      assert.equal(fog.version, `1.0.${i}`);
      assert.equal(fog.daemonStatus, 'RUNNING');
    }
  } finally {
    await t.close();
  }
});
