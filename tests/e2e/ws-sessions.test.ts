// Exec and log sessions over WebSocket against the built bundle as a real process (platform §1):
// operator sockets on one side, the Edgelet simulator's agent sockets on the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startController, type Runtime } from '../harness/process';
import { AgentSessions, FrameSocket, T, text, toWs } from '../harness/ws';
import { bearer, execRoundTrip, fleetWithRunningMicroservice } from '../harness/ws-fleet';

test('exec and log sessions on one instance: pairing, frames, quotas, timeouts, auth, drain', { timeout: 120_000 }, async () => {
  const ctl = await startController({ env: { WS_EXEC_PENDING_TIMEOUT_MS: '1500', WS_LOG_PENDING_TIMEOUT_MS: '1500' } });
  const ws = toWs(ctl.url);
  try {
    const f = await fleetWithRunningMicroservice(ctl);
    await execRoundTrip(ctl, f);

    // Six concurrent execs on one microservice: the sixth is refused with 1008.
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

    // A pending session without an agent times out (1.5 s here), and its row goes.
    const lonely = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}?token=${f.admin}`);
    assert.equal((await lonely.next()).type, T.ACTIVATION, '?token= authenticates');
    const closed = await lonely.waitClose(5000);
    assert.deepEqual(closed, { code: 1008, reason: 'Timeout waiting for agent connection' });
    assert.ok(lonely.frames.some((fr) => text(fr) === 'Timeout waiting for agent connection.\n'));
    for (let i = 0; i < 50 && (await f.edge.getExecSessions()).body.execSessions.length > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual((await f.edge.getExecSessions()).body.execSessions, []);

    // Logs: tail=100 delivers 100 lines, then follows.
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

    // Node debug: POST /iofog/:uuid/exec provisions the debug system microservice; its shell pairs on the system path.
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

    // Bad log parameters, auth and RBAC failures close 1008 with the reason.
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

    // Agent side: unknown session, another fog's token, the removed legacy route.
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

    // Audit: every accepted socket leaves WS_CONNECT and WS_DISCONNECT events.
    const events = await f.api('GET', '/api/v3/events?eventType=WS_CONNECT', { token: f.admin });
    assert.equal(events.status, 200, JSON.stringify(events.body));
    const list = (events.body.events ?? events.body) as Array<{ eventType: string; endpointType: string }>;
    assert.ok(list.some((e) => e.eventType === 'WS_CONNECT' && e.endpointType === 'agent'));
    assert.ok(list.some((e) => e.eventType === 'WS_CONNECT' && e.endpointType === 'user'));

    // Drain: SIGTERM closes a live session with 1001 and the process exits cleanly.
    const live = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    await live.next();
    const stopped = await ctl.stop();
    assert.deepEqual(await live.waitClose(), { code: 1001, reason: 'Server draining' });
    assert.equal(stopped.code, 0, ctl.output().slice(-2000));
    f.edge.close();
  } finally {
    await ctl.stop('SIGKILL');
  }
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
    await new Promise((r) => setTimeout(r, 100));
    const four = await open();
    assert.ok(four.opened, 'a slot is free again');
    four.close();
    await four.waitClose();
    await new Promise((r) => setTimeout(r, 100));
    // Upgrades counted so far: one, two, four (the refused third did not reach the window); this is the 4th.
    const fifth = await open();
    assert.ok(fifth.opened);
    fifth.close();
    await fifth.waitClose();
    await new Promise((r) => setTimeout(r, 100));
    const sixth = await open();
    assert.equal(sixth.refusedStatus, 429);
    assert.equal(JSON.parse(sixth.refusedBody!).message, 'Rate limit exceeded');
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(pings >= 2, `server pings arrive (${pings})`);
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
