import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';
import { Admission, classify, startLagProbe, type LagProbe } from '../../src/http/admission';

const CFG = { enabled: true, maxQueueMs: 200, maxAgentInflight: 3, maxControlInflight: 2, retryAfterSec: 5 };
const fixedLag = (ms: number): LagProbe => ({ lagMs: () => ms, stop: () => {} });

test('admission: which requests are agent polls, control or exempt', () => {
  assert.equal(classify('/api/v3/agent/config', 'GET'), 'agent');
  assert.equal(classify('/api/v3/agent/status', 'PUT'), 'agent');
  assert.equal(classify('/api/v3/agent/provision', 'POST'), 'control');
  assert.equal(classify('/api/v3/iofog-list', 'GET'), 'control');
  assert.equal(classify('/api/v3/status', 'GET'), 'exempt');
  assert.equal(classify('/api/v3/live', 'GET'), 'exempt');
});

test('admission: agent polls are shed with a probability rising from half the queue bound to the bound; control is not shed for lateness', () => {
  const draws = [0.1, 0.49, 0.51, 0.9];
  const at = (lag: number) => {
    const a = new Admission(CFG, () => draws[i++ % draws.length]!);
    let i = 0;
    a.start(fixedLag(lag));
    return draws.map(() => {
      const refused = a.enter('agent');
      if (!refused) a.leave('agent');
      return refused ? 'shed' : 'ok';
    });
  };
  assert.deepEqual(at(0), ['ok', 'ok', 'ok', 'ok']);
  assert.deepEqual(at(100), ['ok', 'ok', 'ok', 'ok'], 'below half the bound nothing is shed');
  assert.deepEqual(at(150), ['shed', 'shed', 'ok', 'ok'], 'half-way: about half');
  assert.deepEqual(at(200), ['shed', 'shed', 'shed', 'shed'], 'at the bound: all');
  const a = new Admission(CFG, () => 0);
  a.start(fixedLag(10_000));
  assert.equal(a.enter('control'), undefined);
  assert.equal(a.enter('exempt'), undefined);
});

test('admission: in-flight bounds per class; a shed request is not counted; leave frees a slot', () => {
  const a = new Admission(CFG);
  for (let i = 0; i < 3; i++) assert.equal(a.enter('agent'), undefined);
  const refused = a.enter('agent');
  assert.equal(refused?.code, 'CONTROLLER_OVERLOADED');
  assert.equal(refused?.status, 503);
  assert.equal(refused?.retryAfterSec, 5);
  assert.equal(a.inFlight('agent'), 3);
  // Control has its own bound: full agents do not starve it.
  assert.equal(a.enter('control'), undefined);
  assert.equal(a.enter('control'), undefined);
  assert.ok(a.enter('control'));
  a.leave('agent');
  assert.equal(a.enter('agent'), undefined);
  assert.deepEqual(a.shed, { agentLag: 0, agentInflight: 1, controlInflight: 1 });
  const off = new Admission({ ...CFG, enabled: false });
  for (let i = 0; i < 10; i++) assert.equal(off.enter('agent'), undefined);
});

async function provisioned(t: TestApp) {
  const admin = (await t.login()).accessToken;
  const created = await t.call('POST', '/api/v3/iofog', {
    token: admin,
    body: { name: 'fog-a', archId: 1, routerMode: 'none', natsMode: 'none' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const key = await t.call('GET', `/api/v3/iofog/${created.body.uuid}/provisioning-key`, { token: admin });
  const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 2, engine: 'edgelet' } });
  assert.equal(prov.status, 200, JSON.stringify(prov.body));
  return { admin, agent: await AgentSigner.fromProvision(prov.body), fogUuid: created.body.uuid as string };
}

test('admission through the app: an overloaded server answers agents 503 + Retry-After (never 401) at once, and keeps serving operators, provisioning and health', async () => {
  const t = await makeTestApp({ env: { ADMISSION_MAX_QUEUE_MS: '200' } });
  try {
    const { admin, agent, fogUuid } = await provisioned(t);
    assert.equal(
      (await t.call('GET', '/api/v3/agent/config', { token: await agent.token() })).status,
      200,
      'served while the loop keeps up',
    );
    t.ctx.admission.start(fixedLag(5_000));
    for (const token of [await agent.token(), 'Bearer not-a-token']) {
      const started = performance.now();
      const r = await t.call('GET', '/api/v3/agent/config', { token });
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '5');
      assert.deepEqual(
        { code: r.body.code, error: r.body.error, retryable: r.body.retryable, name: r.body.name },
        { code: 'CONTROLLER_OVERLOADED', error: 'ServiceUnavailable', retryable: true, name: 'ServiceUnavailable' },
      );
      assert.ok(performance.now() - started < 1_000);
    }
    assert.equal((await t.call('GET', '/api/v3/iofog-list', { token: admin })).status, 200, 'operators keep their share');
    assert.equal((await t.call('GET', '/api/v3/status')).status, 200, 'health is never shed');
    const key = await t.call('GET', `/api/v3/iofog/${fogUuid}/provisioning-key`, { token: admin });
    const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 2, engine: 'edgelet' } });
    assert.equal(prov.status, 200, 'provisioning keeps its share');
    assert.ok(t.logs.some((l) => l.includes('"msg":"overloaded: shedding requests'), 'the operator sees it in the log'));
    t.ctx.admission.start(fixedLag(0));
    assert.equal(
      (await t.call('GET', '/api/v3/agent/config', { token: await (await AgentSigner.fromProvision(prov.body)).token() })).status,
      200,
      'served again once the loop keeps up',
    );
  } finally {
    t.ctx.admission.stop();
    await t.close();
  }
});

test('admission: the real lag probe sees a blocked event loop and the next agent poll is shed', async () => {
  const t = await makeTestApp({ env: { ADMISSION_MAX_QUEUE_MS: '100' } });
  try {
    const { agent } = await provisioned(t);
    const token = await agent.token();
    t.ctx.admission.start(startLagProbe(10));
    // Let the probe tick once, then hold the loop for 300 ms as a stalled server would.
    await new Promise((r) => setImmediate(r));
    const until = performance.now() + 300;
    while (performance.now() < until) {
      /* the event loop is blocked */
    }
    assert.ok(t.ctx.admission.lagMs() >= 250, `lag ${t.ctx.admission.lagMs()}`);
    const r = await t.call('GET', '/api/v3/agent/config', { token });
    assert.equal(r.status, 503);
    assert.equal(r.body.code, 'CONTROLLER_OVERLOADED');
  } finally {
    t.ctx.admission.stop();
    await t.close();
  }
});
