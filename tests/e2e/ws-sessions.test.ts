// Exec and log sessions over WebSocket against the built bundle as a real process:
// operator sockets on one side, the Edgelet simulator's agent sockets on the other.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type Controller, type Runtime } from '../harness/process';
import { callJson, httpCaller } from '../harness/typed';
import { EventList, type EventListT } from '../../src/services/events/schemas';
import { AgentSessions, FrameSocket, T, text, toWs } from '../harness/ws';
import { bearer, execRoundTrip, fleetWithRunningMicroservice } from '../harness/ws-fleet';
import { waitFor } from '../harness/wait';

type Fleet = Awaited<ReturnType<typeof fleetWithRunningMicroservice>>;

describe('exec and log sessions on one instance', { timeout: 180_000 }, () => {
  // One Controller and one fleet for the whole group (starting them is the slow part); each test below checks
  // one concern and leaves no session open behind it. The drain test stops the Controller, so it runs last.
  let ctl: Controller;
  let ws: string;
  let f: Fleet;
  before(async () => {
    ctl = await startController({ env: { WS_EXEC_PENDING_TIMEOUT_MS: '1500', WS_LOG_PENDING_TIMEOUT_MS: '1500' } });
    ws = toWs(ctl.url);
    f = await fleetWithRunningMicroservice(ctl);
  });
  after(async () => {
    f?.edge.close();
    await ctl?.stop('SIGKILL');
  });

  test('exec pairs the user with the agent; frames round-trip; a user CLOSE ends both sides and the row', async () => {
    await execRoundTrip(ctl, f);
  });

  test('a sixth concurrent exec on one microservice is refused with 1008', async () => {
    const five = await Promise.all(
      Array.from({ length: 5 }, () => FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin))),
    );
    for (const s of five) assert.equal((await s.next()).type, T.ACTIVATION);
    const sixth = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    assert.deepEqual(await sixth.waitClose(), {
      code: 1008,
      reason: 'Maximum of 5 concurrent exec sessions allowed for this microservice.',
    });
    assert.equal((await f.edge.getExecSessions()).body.execSessions.length, 5);
    for (const s of five) s.close();
    for (const s of five) await s.waitClose();
  });

  test('a pending exec without an agent times out with 1008 and its row goes; ?token= authenticates', async () => {
    const lonely = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}?token=${f.admin}`);
    assert.equal((await lonely.next()).type, T.ACTIVATION, '?token= authenticates');
    const closed = await lonely.waitClose(5000);
    assert.deepEqual(closed, { code: 1008, reason: 'Timeout waiting for agent connection' });
    assert.ok(lonely.frames.some((fr) => text(fr) === 'Timeout waiting for agent connection.\n'));
    await waitFor('the timed-out session row to go', async () => (await f.edge.getExecSessions()).body.execSessions.length === 0);
  });

  test('logs: tail delivers that many lines, then follows; node logs without follow end with LOG_STOP', async () => {
    const agents = new AgentSessions(f.edge, ws, { followEveryMs: 20 });
    try {
      const logs = await FrameSocket.connect(`${ws}/api/v3/microservices/${f.msUuid}/logs?tail=100`, bearer(f.admin));
      const start = await logs.next();
      assert.equal(start.type, T.LOG_START);
      const info = JSON.parse(text(start));
      assert.deepEqual(info.tailConfig, { lines: 100, follow: true, since: null, until: null });
      assert.equal(text(await logs.next()), 'Waiting for agent connection. Log streaming will begin once the agent connects.\n');
      assert.ok((await f.edge.changeCycle()).flags.includes('microserviceLogs'));
      const listed = (await f.edge.getLogSessions()).body.logSessions;
      assert.equal(listed.length, 1);
      assert.equal(listed[0].microserviceUuid, f.msUuid);
      assert.deepEqual(listed[0].tailConfig, { lines: 100, follow: true, since: null, until: null });
      await agents.sync();
      assert.equal(text(await logs.next()), 'Agent connected. Log streaming started.\n');
      assert.equal(text(await logs.next()), 'line 1');
      assert.deepEqual(
        JSON.parse(text(agents.logStarts.get(info.sessionId))).tailConfig.lines,
        100,
        'the agent got LOG_START with the tail config',
      );
      for (let i = 2; i <= 100; i++) {
        const line = await logs.next();
        assert.equal(line.type, T.LOG_LINE);
        assert.equal(text(line), `line ${i}`);
      }
      assert.equal(text(await logs.next()), 'follow 1');
      assert.equal(text(await logs.next()), 'follow 2');
      logs.close();
      await logs.waitClose();
      const agentLog = agents.logs.get(info.sessionId)!;
      assert.deepEqual(await agentLog.waitClose(), { code: 1000, reason: 'User closed connection' });
      assert.deepEqual((await f.edge.getLogSessions()).body.logSessions, []);

      // Node logs of the fog itself.
      const node = await FrameSocket.connect(`${ws}/api/v3/iofog/${f.fogUuid}/logs?tail=3&follow=false`, bearer(f.admin));
      const nodeStart = JSON.parse(text(await node.next()));
      assert.deepEqual(nodeStart.tailConfig, { lines: 3, follow: false, since: null, until: null });
      assert.ok((await f.edge.changeCycle()).flags.includes('fogLogs'));
      assert.equal((await f.edge.getLogSessions()).body.logSessions[0].iofogUuid, f.fogUuid);
      await agents.sync();
      assert.equal(text(await node.next()), 'Waiting for agent connection. Log streaming will begin once the agent connects.\n');
      assert.equal(text(await node.next()), 'Agent connected. Log streaming started.\n');
      assert.deepEqual([text(await node.next()), text(await node.next()), text(await node.next())], ['line 1', 'line 2', 'line 3']);
      const stop = await node.next();
      assert.equal(stop.type, T.LOG_STOP);
      assert.equal(stop.iofogUuid, f.fogUuid);
      node.close();
    } finally {
      agents.close();
    }
  });

  test('node debug: POST /iofog/:uuid/exec provisions the debug microservice; its shell pairs on the system path only', async () => {
    assert.equal((await f.api('POST', `/api/v3/iofog/${f.fogUuid}/exec`, { token: f.admin })).status, 204);
    await f.edge.changeCycle();
    await f.edge.reportStatus();
    const debugUuid = [...f.edge.running.values()].find((m) => m.name === 'debug')!.uuid as string;
    const debugAgents = new AgentSessions(f.edge, ws);
    try {
      const shell = await FrameSocket.connect(`${ws}/api/v3/microservices/system/exec/${debugUuid}`, bearer(f.admin));
      assert.equal(JSON.parse(text(await shell.nextOfType(T.ACTIVATION))).microserviceUuid, debugUuid);
      await debugAgents.sync();
      await shell.next((fr) => text(fr) === 'Agent connected. Interactive exec is ready.\n');
      shell.sendText('uname -a');
      assert.equal(text(await shell.nextOfType(T.STDOUT)), 'uname -a\n');
      shell.close();
      await shell.waitClose();
      const appPath = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/${debugUuid}`, bearer(f.admin));
      assert.deepEqual(
        await appPath.waitClose(),
        { code: 1008, reason: `Microservice ${debugUuid} not found` },
        'a system microservice is not reachable on the application path',
      );
    } finally {
      debugAgents.close();
    }
    assert.equal((await f.api('DELETE', `/api/v3/iofog/${f.fogUuid}/exec`, { token: f.admin })).status, 204);
  });

  test('bad log parameters, missing auth and unknown microservices close 1008 with the reason; plain HTTP is 426 or 401', async () => {
    const badTail = await FrameSocket.connect(`${ws}/api/v3/microservices/${f.msUuid}/logs?tail=0`, bearer(f.admin));
    assert.deepEqual(await badTail.waitClose(), { code: 1008, reason: 'Invalid tail parameter. Must be between 1 and 5000.' });
    const bigTail = await FrameSocket.connect(`${ws}/api/v3/microservices/${f.msUuid}/logs?tail=6000`, bearer(f.admin));
    assert.deepEqual(await bigTail.waitClose(), { code: 1008, reason: 'Tail exceeds maximum of 5000 lines.' });
    const badSince = await FrameSocket.connect(`${ws}/api/v3/microservices/${f.msUuid}/logs?since=yesterday`, bearer(f.admin));
    assert.deepEqual(await badSince.waitClose(), { code: 1008, reason: 'Invalid since format. Expected ISO 8601.' });
    const anonymous = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}`);
    assert.equal((await anonymous.waitClose()).code, 1008);
    const systemMs = await FrameSocket.connect(`${ws}/api/v3/microservices/system/exec/${f.msUuid}`, bearer(f.admin));
    assert.deepEqual(await systemMs.waitClose(), { code: 1008, reason: `Microservice ${f.msUuid} not found` });
    const ghost = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/00000000-0000-4000-8000-000000000000`, bearer(f.admin));
    assert.equal((await ghost.waitClose()).code, 1008);
    const plain = await fetch(`${ctl.url}/api/v3/microservices/exec/${f.msUuid}`, { headers: bearer(f.admin) });
    assert.equal(plain.status, 426);
    assert.equal((await plain.json()).code, 'UPGRADE_REQUIRED');
    assert.equal((await fetch(`${ctl.url}/api/v3/microservices/exec/${f.msUuid}`)).status, 401);
  });

  test('agent side: an unknown session, no token, the removed legacy route and another fog close 1008', async () => {
    const agentHeaders = { authorization: `Bearer ${await f.edge.token()}` };
    const unknown = await FrameSocket.connect(`${ws}/api/v3/agent/exec/microservice/${f.msUuid}/no-such-session`, agentHeaders);
    assert.deepEqual(await unknown.waitClose(), { code: 1008, reason: 'Session not found' });
    const noToken = await FrameSocket.connect(`${ws}/api/v3/agent/exec/microservice/${f.msUuid}/x`);
    assert.equal((await noToken.waitClose()).code, 1008);
    const legacy = await FrameSocket.connect(`${ws}/api/v3/agent/exec/${f.msUuid}`, { authorization: `Bearer ${await f.edge.token()}` });
    assert.deepEqual(await legacy.waitClose(), { code: 1008, reason: 'Route not registered' });
    const wrongFog = await FrameSocket.connect(`${ws}/api/v3/agent/logs/iofog/00000000-0000-4000-8000-000000000000/x`, {
      authorization: `Bearer ${await f.edge.token()}`,
    });
    assert.deepEqual(await wrongFog.waitClose(), { code: 1008, reason: 'Fog UUID mismatch' });
  });

  test('audit: accepted user and agent sockets leave WS_CONNECT events', async () => {
    await execRoundTrip(ctl, f);
    // Socket events are written in batches a moment after the fact: wait for both.
    const seen = (events: EventListT['events'], side: string) =>
      events.some((e) => e.eventType === 'WS_CONNECT' && e.endpointType === side);
    await waitFor('WS_CONNECT events of both sides', async () => {
      const events = await callJson(httpCaller(ctl.url), 'GET', '/api/v3/events?eventType=WS_CONNECT', {
        token: f.admin,
        schema: EventList,
        expect: 200,
      });
      return seen(events.body.events, 'agent') && seen(events.body.events, 'user');
    });
  });

  test('drain: SIGTERM closes a live session with 1001 and the process exits cleanly', async () => {
    const live = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    await live.next();
    const stopped = await ctl.stop();
    assert.deepEqual(await live.waitClose(), { code: 1001, reason: 'Server draining' });
    assert.equal(stopped.code, 0, ctl.output().slice(-2000));
  });
});

test('upgrade gate: per-IP socket cap and per-minute upgrade limit refuse with 429 before the handshake; server pings every WS_PING_INTERVAL', {
  timeout: 60_000,
}, async () => {
  const ctl = await startController({
    env: { WS_PING_INTERVAL: '200', WS_SECURITY_MAX_CONNECTIONS_PER_IP: '2', WS_SECURITY_MAX_REQUESTS_PER_MINUTE: '4' },
  });
  const ws = toWs(ctl.url);
  try {
    const f = await fleetWithRunningMicroservice(ctl, 'gate-edge');
    const open = () => FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    // After a client-side close the server frees the per-IP slot when it sees the close. A refusal for the cap is
    // checked before the per-minute window and does not count in it, so retrying on it is free; any other answer
    // (opened, or refused for the rate) is the one the test asserts on.
    const openOnceSlotFree = () =>
      waitFor('the per-IP slot to be free', async () => {
        const s = await open();
        if (s.refusedStatus === 429 && JSON.parse(s.refusedBody!).message === 'Too many connections') return false;
        return s;
      });
    const one = await open();
    const two = await open();
    assert.ok(one.opened && two.opened);
    await one.nextOfType(T.ACTIVATION);
    await two.nextOfType(T.ACTIVATION);
    let pings = 0;
    one.ws.on('ping', () => pings++);
    const third = await open();
    assert.equal(third.refusedStatus, 429);
    assert.deepEqual(
      [JSON.parse(third.refusedBody!).code, JSON.parse(third.refusedBody!).message],
      ['RATE_LIMITED', 'Too many connections'],
    );
    two.close();
    await two.waitClose();
    const four = await openOnceSlotFree();
    assert.ok(four.opened, 'a slot is free again');
    four.close();
    await four.waitClose();
    // Upgrades counted so far: one, two, four (the refused third did not reach the window); this is the 4th.
    const fifth = await openOnceSlotFree();
    assert.ok(fifth.opened);
    fifth.close();
    await fifth.waitClose();
    const sixth = await openOnceSlotFree();
    assert.equal(sixth.refusedStatus, 429);
    assert.equal(JSON.parse(sixth.refusedBody!).message, 'Rate limit exceeded');
    await waitFor('two server pings', () => pings >= 2, { timeoutMs: 5000 });
    one.close();
    f.edge.close();
  } finally {
    await ctl.stop('SIGKILL');
  }
});

for (const runtime of ['deno', 'bun'] as Runtime[]) {
  test(`exec session round trip on ${runtime}`, { timeout: 90_000 }, async () => {
    const ctl = await startController({ runtime, timeoutMs: 60_000 });
    try {
      const f = await fleetWithRunningMicroservice(ctl);
      await execRoundTrip(ctl, f);
      f.edge.close();
    } finally {
      await ctl.stop('SIGKILL');
    }
  });
}
