// Two Controller processes on one libSQL file, relaying exec sessions through a real nats-server's
// WebSocket listener: user on instance A, agent on instance B.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, startController, type Controller } from '../harness/process';
import { operatorModeConfig } from '../harness/nats-client';
import { natsSkip, startNats } from '../harness/nats';
import { AgentSessions, FrameSocket, T, bin, text, toWs } from '../harness/ws';
import { bearer, fleetWithRunningMicroservice } from '../harness/ws-fleet';
import { waitFor } from '../harness/wait';

async function relayUp(ctl: Controller, timeoutMs = 10_000): Promise<void> {
  await waitFor('the session relay to connect', () => ctl.output().includes('session relay connected'), { timeoutMs }).catch(() => {
    throw new Error(`relay never connected:\n${ctl.output().slice(-3000)}`);
  });
}

const relayDowns = (ctl: Controller) => ctl.output().split('session relay disconnected').length - 1;

test('two instances: sessions pair across instances over NATS with the Controller-issued controller creds; relay down → 1013 fast; SIGTERM on the agent side closes the user', {
  timeout: 120_000,
  skip: natsSkip,
}, async () => {
  // The server is configured in operator mode from the Controller's own trust chain, so it only exists
  // after the Controllers created the `controller` account: start it, stop it, reconfigure, restart.
  const nats = await startNats();
  await nats.stop();
  const dir = mkdtempSync(join(tmpdir(), 'controller-relay-'));
  const env = { NATS_RELAY_URL: nats.wsUrl, WS_EXEC_PENDING_TIMEOUT_MS: '20000', WS_CLOSE_RESPONSE_TIMEOUT: '1000' };
  const a = await startController({ dir, env });
  let b = await startController({ dir, env });
  try {
    const admin = (
      await (
        await fetch(`${a.url}/api/v3/user/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(ADMIN),
        })
      ).json()
    ).accessToken as string;
    const api = async (method: string, path: string) => {
      const res = await fetch(a.url + path, { method, headers: bearer(admin) });
      return { status: res.status, body: await res.json() };
    };
    await waitFor('the relay identity (account and user `controller`)', async () => {
      const accounts = (await api('GET', '/api/v3/nats/accounts')).body.accounts as Array<{ name: string }>;
      return (
        accounts.some((x) => x.name === 'controller') && (await api('GET', '/api/v3/nats/accounts/controller/users')).body.users?.length > 0
      );
    }).catch(() => {});
    const relayCreds = await api('GET', '/api/v3/nats/accounts/controller/users/controller/creds');
    assert.equal(relayCreds.status, 200, 'the relay identity was issued on first use');
    const claims = JSON.parse(Buffer.from(atob(relayCreds.body.credsBase64).split('\n')[1]!.split('.')[1]!, 'base64url').toString());
    assert.deepEqual([claims.nats.pub.allow, claims.nats.sub.allow], [['controller.relay.v1.>'], ['controller.relay.v1.>']]);
    nats.setExtraConfig(await operatorModeConfig(api));
    await nats.restart();
    await Promise.all([relayUp(a), relayUp(b)]);
    const f = await fleetWithRunningMicroservice(a, 'relay-edge');
    const agentOnB = new AgentSessions(f.edge, toWs(b.url));
    const agentOnA = new AgentSessions(f.edge, toWs(a.url));

    // User on A, agent on B: paired, frames both ways.
    const user = await FrameSocket.connect(`${toWs(a.url)}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    const { sessionId } = JSON.parse(text(await user.nextOfType(T.ACTIVATION)));
    await user.next(); // waiting text
    const t0 = Date.now();
    await agentOnB.sync();
    assert.equal(text(await user.next()), 'Agent connected. Interactive exec is ready.\n');
    const pairingMs = Date.now() - t0;
    for (let i = 0; i < 20; i++) {
      user.send({ type: T.STDIN, data: bin(`cmd ${i}\n`) });
      const out = await user.nextOfType(T.STDOUT);
      assert.equal(text(out), `cmd ${i}\n`);
      assert.equal(out.sessionId, sessionId);
    }
    const row = (await f.edge.getExecSessions()).body.execSessions[0];
    assert.deepEqual([row.sessionId, row.status, row.agentConnected], [sessionId, 'ACTIVE', true]);
    // User closes on A: the agent on B receives CLOSE and is closed; the row is gone.
    user.send({ type: T.CLOSE, data: bin('bye') });
    assert.deepEqual(await user.waitClose(), { code: 1000, reason: 'Session closed' }, 'the agent side acknowledged the CLOSE');
    const agentSock = agentOnB.exec.get(sessionId)!;
    await agentSock.waitClose();
    assert.ok(
      agentSock.frames.some((fr) => fr.type === T.CLOSE),
      'CLOSE relayed to the agent',
    );
    await waitFor('the session row to go', async () => (await f.edge.getExecSessions()).body.execSessions.length === 0);
    console.log(JSON.stringify({ crossInstancePairingMs: pairingMs }));

    // Logs across instances as well.
    const logs = await FrameSocket.connect(`${toWs(a.url)}/api/v3/microservices/${f.msUuid}/logs?tail=5&follow=false`, bearer(f.admin));
    await logs.nextOfType(T.LOG_START);
    await agentOnB.sync();
    await logs.next((fr) => text(fr) === 'Agent connected. Log streaming started.\n');
    const lines: string[] = [];
    for (let i = 0; i < 5; i++) lines.push(text(await logs.next((fr) => fr.type === T.LOG_LINE && text(fr).startsWith('line '))));
    assert.deepEqual(lines, ['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    logs.close();
    await logs.waitClose();
    await agentOnB.sync();

    // SIGTERM instance B while a cross-instance session is live: the user on A gets a close, rows are cleaned.
    const live = await FrameSocket.connect(`${toWs(a.url)}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    const liveId = JSON.parse(text(await live.nextOfType(T.ACTIVATION))).sessionId;
    await agentOnB.sync();
    await live.next((fr) => text(fr) === 'Agent connected. Interactive exec is ready.\n');
    const stopped = await b.stop();
    assert.equal(stopped.code, 0, b.output().slice(-2000));
    const closed = await live.waitClose(5000);
    assert.equal(closed.code, 1000);
    assert.equal(closed.reason, 'Agent closed connection');
    const execRows = async () =>
      (await f.edge.getExecSessions()).body.execSessions.filter((s: { sessionId: string }) => s.sessionId === liveId);
    await waitFor('the session row to go', async () => (await execRows()).length === 0);
    agentOnB.close();

    // Relay down: a new cross-instance session fails fast with 1013; a same-instance one still pairs.
    // The agent's instance dies without a word: a user CLOSE waits WS_CLOSE_RESPONSE_TIMEOUT for the
    // acknowledgement, then closes the user anyway.
    b = await startController({ dir, env });
    await relayUp(b);
    const orphanAgent = new AgentSessions(f.edge, toWs(b.url));
    const orphan = await FrameSocket.connect(`${toWs(a.url)}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    await orphan.nextOfType(T.ACTIVATION);
    await orphanAgent.sync();
    await orphan.next((fr) => text(fr) === 'Agent connected. Interactive exec is ready.\n');
    await b.stop('SIGKILL');
    const sentAt = Date.now();
    orphan.send({ type: T.CLOSE, data: bin('bye') });
    assert.deepEqual(await orphan.waitClose(5000), { code: 1000, reason: 'Session closed (timeout)' });
    assert.ok(Date.now() - sentAt >= 900, 'waited for the acknowledgement');
    orphanAgent.close();

    b = await startController({ dir, env });
    await relayUp(b);
    const downsBefore = [a, b].map(relayDowns);
    await nats.stop();
    await waitFor('both instances to see the relay go down', () => relayDowns(a) > downsBefore[0]! && relayDowns(b) > downsBefore[1]!);
    const agentOnB2 = new AgentSessions(f.edge, toWs(b.url));
    const cross = await FrameSocket.connect(`${toWs(a.url)}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    const crossId = JSON.parse(text(await cross.nextOfType(T.ACTIVATION))).sessionId;
    const started = Date.now();
    const agentSide = await agentOnB2.openExec(f.msUuid, crossId);
    const refusal = await agentSide.waitClose(3000);
    assert.deepEqual(refusal, { code: 1013, reason: 'Relay unavailable for cross-replica session' });
    // Fast means without waiting out the 20 s pending timeout; the bound leaves room for a loaded machine.
    assert.ok(Date.now() - started < 5000, `failed fast (${Date.now() - started} ms)`);
    cross.close();
    const local = await FrameSocket.connect(`${toWs(a.url)}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    const localId = JSON.parse(text(await local.nextOfType(T.ACTIVATION))).sessionId;
    await agentOnA.openExec(f.msUuid, localId);
    await local.next((fr) => text(fr) === 'Agent connected. Interactive exec is ready.\n');
    local.send({ type: T.STDIN, data: bin('still here\n') });
    assert.equal(text(await local.nextOfType(T.STDOUT)), 'still here\n');
    local.close();
    agentOnA.close();
    agentOnB2.close();
    f.edge.close();
  } finally {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
