// Shared set-up for the session tests: a fleet with one RUNNING microservice, and the exec round trip
// every runtime must pass.
import assert from 'node:assert/strict';
import { Edgelet } from './edgelet';
import { ADMIN, type Controller } from './process';
import { waitFor } from './wait';
import { AgentSessions, FrameSocket, T, bin, text, toWs } from './ws';

const APP = (fog: string) => `apiVersion: iofog.org/v3
kind: Application
metadata: { name: shell-app }
spec:
  microservices:
    - name: box
      agent: { name: ${fog} }
      images: { amd64: acme/box:1.0, arm64: acme/box:1.0 }
      config: {}
`;

export async function fleetWithRunningMicroservice(ctl: Controller, fogName = 'ws-edge') {
  const api = async (method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; type?: string } = {}) => {
    const res = await fetch(ctl.url + path, {
      method,
      headers: { 'content-type': opts.type ?? 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const t = await res.text();
    return { status: res.status, body: t ? JSON.parse(t) : undefined };
  };
  const admin = (await api('POST', '/api/v3/user/login', { body: ADMIN })).body.accessToken as string;
  const fog = await api('POST', '/api/v3/iofog', {
    token: admin,
    body: { name: fogName, archId: 0, routerMode: 'none', natsMode: 'none' },
  });
  assert.equal(fog.status, 201, JSON.stringify(fog.body));
  const key = await api('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
  // Edgelet's own retries: on a busy test machine the server may shed a request with a retryable 503.
  const edge = new Edgelet(`${ctl.url}/api/v3`, { archId: 1, retry: { attempts: 4, baseMs: 250 } });
  assert.equal((await edge.provision(key.body.key)).status, 200);
  await edge.boot();
  const first = await edge.changeCycle();
  assert.deepEqual(first.errors, [], 'the first change cycle succeeds');
  assert.equal((await api('POST', '/api/v3/application/yaml', { token: admin, raw: APP(fogName), type: 'application/yaml' })).status, 201);
  const deployed = await edge.changeCycle();
  assert.deepEqual(deployed.errors, [], 'the change cycle that receives the microservice succeeds');
  await edge.reportStatus();
  const msUuid = [...edge.running.values()].find((m) => m.name === 'box')!.uuid as string;
  assert.equal((await api('GET', `/api/v3/microservices/${msUuid}`, { token: admin })).body.status.status, 'RUNNING');
  return { api, admin, edge, fogUuid: fog.body.uuid as string, msUuid };
}

export const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

export async function execRoundTrip(ctl: Controller, f: Awaited<ReturnType<typeof fleetWithRunningMicroservice>>) {
  const ws = toWs(ctl.url);
  const agents = new AgentSessions(f.edge, ws);
  try {
    const user = await FrameSocket.connect(`${ws}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
    assert.ok(user.opened, JSON.stringify(user.closed));
    const activation = await user.next();
    assert.equal(activation.type, T.ACTIVATION);
    const { sessionId, microserviceUuid } = JSON.parse(text(activation));
    assert.equal(microserviceUuid, f.msUuid);
    assert.equal(activation.sessionId, sessionId);
    assert.equal(activation.execId, sessionId);
    assert.equal(text(await user.next()), 'Waiting for agent connection. Interactive exec will begin once the agent connects.\n');
    // The agent learns about the session from its changes poll and the listing.
    const cycle = await f.edge.changeCycle();
    assert.ok(cycle.flags.includes('execSessions'), JSON.stringify(cycle.flags));
    const listed = (await f.edge.getExecSessions()).body.execSessions;
    assert.deepEqual(listed, [{ microserviceUuid: f.msUuid, sessionId, status: 'PENDING', agentConnected: false }]);
    // Typed before the agent is there: delivered after ACTIVATION.
    user.send({ type: T.STDIN, data: bin('early\n') });
    await agents.sync();
    const ready = await user.next();
    assert.equal(ready.type, T.STDERR);
    assert.equal(text(ready), 'Agent connected. Interactive exec is ready.\n');
    assert.equal(text(await user.nextOfType(T.STDOUT)), 'early\n');
    const act = agents.activations.get(sessionId)!;
    assert.equal(act.execId, sessionId);
    assert.deepEqual(Object.keys(JSON.parse(text(act))).sort(), ['execId', 'microserviceUuid', 'sessionId', 'timestamp']);
    // The row turns ACTIVE with the next attach batch (≤ 50 ms after a local pairing).
    await waitFor('the session row to turn ACTIVE', async () => (await f.edge.getExecSessions()).body.execSessions[0]?.status === 'ACTIVE');
    // STDIN round-trips; text frames become STDIN lines; keepalive is answered, not forwarded.
    user.send({ type: T.STDIN, data: bin('echo hi\n') });
    const out = await user.nextOfType(T.STDOUT);
    assert.equal(text(out), 'echo hi\n');
    assert.equal(out.execId, sessionId);
    assert.ok(out.data instanceof Uint8Array, 'data is bin');
    user.sendText('ls');
    assert.equal(text(await user.nextOfType(T.STDOUT)), 'ls\n');
    user.send({ type: T.CONTROL, data: bin('keepalive') });
    assert.equal(text(await user.nextOfType(T.CONTROL)), 'keepalive');
    // User CLOSE: forwarded to the agent, user closed 1000, row gone.
    user.send({ type: T.CLOSE, data: bin('bye') });
    assert.deepEqual(await user.waitClose(), { code: 1000, reason: 'Session closed' });
    const agentSock = agents.exec.get(sessionId)!;
    await agentSock.waitClose();
    assert.ok(agentSock.frames.some((fr) => fr.type === T.CLOSE));
    await waitFor('the session row to go', async () => (await f.edge.getExecSessions()).body.execSessions.length === 0);
  } finally {
    agents.close();
  }
}
