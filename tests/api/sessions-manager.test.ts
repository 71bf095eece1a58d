// The session manager's limits and bookkeeping with in-memory sockets (the e2e tests cover the real
// WebSocket paths): max duration, log idle limit, log backpressure, and the stale-row reconcile job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '@msgpack/msgpack';
import { makeTestApp, type TestApp } from '../harness/app';
import { AgentSigner } from '../harness/agent-token';
import { ManualClock } from '../../src/lib/clock';
import { wsSession } from '../../db/schema/index';
import type { WsPeer } from '../../src/ws/types';
import { wsSessionReconcileJob } from '../../workers/ws-session-reconcile';
import { waitFor } from '../harness/wait';

class FakePeer implements WsPeer {
  frames: Array<{ type: number; data?: Uint8Array; [k: string]: unknown }> = [];
  closed?: [number, string];
  buffered = 0;
  get isOpen() {
    return !this.closed;
  }
  send(data: Uint8Array) {
    if (!this.closed) this.frames.push(decode(data) as never);
  }
  close(code: number, reason: string) {
    this.closed ??= [code, reason];
  }
  bufferedAmount() {
    return this.buffered;
  }
  texts() {
    return this.frames.map((f) => new TextDecoder().decode(f.data));
  }
}

async function runningMicroservice(t: TestApp) {
  const admin = (await t.login()).accessToken;
  const fog = await t.call('POST', '/api/v3/iofog', {
    token: admin,
    body: { name: 'mgr-fog', archId: 1, routerMode: 'none', natsMode: 'none' },
  });
  const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
  const agent = await AgentSigner.fromProvision(
    (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } })).body,
  );
  const app = await t.call('POST', '/api/v3/application', {
    token: admin,
    body: {
      name: 'mgr',
      isActivated: true,
      microservices: [{ name: 'box', agentName: 'mgr-fog', images: [{ containerImage: 'img', archId: 1 }] }],
    },
  });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const msUuid = (await t.call('GET', '/api/v3/application/mgr', { token: admin })).body.microservices[0].uuid as string;
  return { fogUuid: fog.body.uuid as string, msUuid, agent };
}

const half = (peer: FakePeer, actor = 'admin') => ({ peer, actor, ip: '127.0.0.1', path: '/test' });

test('session limits: exec max duration, log idle limit and log backpressure; rows go with the sessions', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock, env: { WS_EXEC_MAX_DURATION_MS: '60000', WS_LOG_IDLE_TIMEOUT_MS: '30000' } });
  try {
    const { fogUuid, msUuid } = await runningMicroservice(t);
    const m = t.ctx.sessions;
    const rows = async () => t.ctx.db.select().from(wsSession);

    // Exec: paired, then idle past the max duration → user 1008, agent 1000, row gone.
    const user = new FakePeer();
    const s = await m.openUser({ kind: 'exec', target: 'microservice', msUuid, fogUuid }, half(user));
    assert.ok(s);
    assert.equal(user.frames[0]!.type, 5, 'ACTIVATION first');
    const [row] = await rows();
    const agent = new FakePeer();
    await m.attachAgent(row!, half(agent, fogUuid));
    assert.equal(agent.frames[0]!.type, 5, 'ACTIVATION to the agent');
    assert.equal(agent.frames[0]!.execId, s!.id);
    m.userMessage(s!, encode({ type: 0, data: new TextEncoder().encode('ls\n') }));
    assert.equal(agent.frames[1]!.type, 0);
    assert.equal(agent.frames[1]!.execId, s!.id, 'filled in by the Controller');
    clock.advance(59_000);
    m.sweep();
    assert.equal(user.closed, undefined, 'not yet');
    clock.advance(2_000);
    m.sweep();
    assert.deepEqual(user.closed, [1008, 'Exec session max duration exceeded']);
    assert.deepEqual(agent.closed, [1000, 'Exec session expired']);
    assert.equal(agent.frames.at(-1)!.type, 4, 'CLOSE to the agent');
    await waitFor('the session row to go', async () => (await rows()).length === 0, { intervalMs: 10 });

    // Logs: backpressure drops LOG_LINEs (one LOG_ERROR notice per episode), never other frames.
    const reader = new FakePeer();
    const ls = (await m.openUser(
      { kind: 'log', target: 'microservice', msUuid, fogUuid, tail: { lines: 10, follow: true, since: null, until: null } },
      half(reader),
    ))!;
    const [logRow] = await rows();
    const tailer = new FakePeer();
    await m.attachAgent(logRow!, half(tailer, fogUuid));
    assert.equal(tailer.frames[0]!.type, 7, 'LOG_START to the agent');
    const line = (n: number) =>
      encode({ type: 6, data: new TextEncoder().encode(`l${n}`), sessionId: ls.id, microserviceUuid: msUuid, timestamp: 1 });
    const before = reader.frames.length;
    m.agentMessage(ls, line(1));
    reader.buffered = 300 * 1024;
    m.agentMessage(ls, line(2));
    m.agentMessage(ls, line(3));
    m.agentMessage(ls, encode({ type: 8, data: new TextEncoder().encode('stop'), sessionId: ls.id }));
    reader.buffered = 0;
    m.agentMessage(ls, line(4));
    assert.deepEqual(reader.texts().slice(before), [
      'l1',
      'Log stream backpressure: dropping lines until client catches up\n',
      'stop',
      'l4',
    ]);
    assert.deepEqual(
      reader.frames.slice(before).map((f) => f.type),
      [6, 9, 8, 6],
    );
    // Idle past the log limit → closed.
    clock.advance(31_000);
    m.sweep();
    assert.equal(reader.closed?.[0], 1008);
    assert.equal(tailer.closed?.[0], 1000);
  } finally {
    await t.close();
  }
});

test('ws-session-reconcile: stale rows (crashed instance, both halves gone) are deleted and the fog is told; live ones stay', async () => {
  const clock = new ManualClock();
  const t = await makeTestApp({ clock });
  try {
    const { fogUuid, msUuid, agent } = await runningMicroservice(t);
    const changes = async () => (await t.call('GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body;
    const ack = async () => {
      const c = await changes();
      await t.call('PATCH', '/api/v3/agent/config/changes', { token: await agent.token(), body: { lastUpdated: c.lastUpdated } });
    };
    const now = clock.now();
    const base = {
      kind: 'exec' as const,
      target: 'microservice' as const,
      microserviceUuid: msUuid,
      fogUuid,
      tailConfig: null,
      userInstance: 'gone',
      agentInstance: null,
      actor: 'x',
    };
    await t.ctx.db.insert(wsSession).values([
      {
        ...base,
        sessionId: 'stale-pending',
        status: 'PENDING',
        userConnected: true,
        agentConnected: false,
        createdAt: now - 120_000,
        updatedAt: now - 120_000,
      },
      {
        ...base,
        sessionId: 'fresh-pending',
        status: 'PENDING',
        userConnected: true,
        agentConnected: false,
        createdAt: now - 10_000,
        updatedAt: now - 10_000,
      },
      { ...base, sessionId: 'both-gone', status: 'ACTIVE', userConnected: false, agentConnected: false, createdAt: now, updatedAt: now },
      {
        ...base,
        sessionId: 'long-active',
        status: 'ACTIVE',
        userConnected: true,
        agentConnected: true,
        createdAt: now - 3_600_000,
        updatedAt: now - 3_600_000,
      },
    ]);
    await ack();
    assert.deepEqual(await wsSessionReconcileJob.run(t.ctx), { deleted: 2 });
    const left = (await t.ctx.db.select({ id: wsSession.sessionId }).from(wsSession)).map((r) => r.id).sort();
    assert.deepEqual(left, ['fresh-pending', 'long-active']);
    assert.equal((await changes()).execSessions, true, 'the agent drops the vanished sessions');
    assert.deepEqual(
      (await t.call('GET', '/api/v3/agent/exec/sessions', { token: await agent.token() })).body.execSessions.map(
        (s: { sessionId: string }) => s.sessionId,
      ),
      ['long-active', 'fresh-pending'],
    );
  } finally {
    await t.close();
  }
});
