// The exec relay on a 3-node NATS cluster: two Controller processes on one libSQL file, each given the
// WebSocket listeners of all three nodes. A session whose user is on instance A and whose agent is on
// instance B pairs through the cluster; then the node each instance is connected to is killed in turn,
// and new sessions still pair and carry frames, as does a session that was open during the loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, startController, type Controller } from '../harness/process';
import { operatorModeConfig } from '../harness/nats-client';
import { natsSkip, startNatsCluster } from '../harness/nats';
import { AgentSessions, FrameSocket, T, bin, text, toWs } from '../harness/ws';
import { bearer, fleetWithRunningMicroservice } from '../harness/ws-fleet';
import { waitFor } from '../harness/wait';

const READY = 'Agent connected. Interactive exec is ready.\n';

/** The NATS server (host:port of its WebSocket listener) an instance's relay is connected to now, from its log. */
function relayServer(ctl: Controller): string | undefined {
  const lines = ctl
    .output()
    .split('\n')
    .filter((l) => /session relay (re)?connected/.test(l));
  return /"server":"(?:wss?:\/\/)?([^"]+)"/.exec(lines.at(-1) ?? '')?.[1];
}
const count = (ctl: Controller, what: string) => ctl.output().split(what).length - 1;

test('relay on a 3-node NATS cluster: sessions pair across instances, and keep pairing and flowing when the node an instance uses is killed', {
  timeout: 180_000,
  skip: natsSkip,
}, async () => {
  // Operator mode from the Controllers' own trust chain, as in ws-relay.test.ts: the cluster can only be
  // configured once the Controllers have created the `controller` account.
  const cluster = await startNatsCluster();
  await cluster.stop();
  const dir = mkdtempSync(join(tmpdir(), 'controller-relay-cluster-'));
  const env = { NATS_RELAY_URL: cluster.wsUrls, WS_EXEC_PENDING_TIMEOUT_MS: '20000', WS_CLOSE_RESPONSE_TIMEOUT: '1000' };
  const a = await startController({ dir, env });
  const b = await startController({ dir, env });
  const open: FrameSocket[] = [];
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
    await waitFor('the controller NATS account and user', async () => {
      const accounts = (await api('GET', '/api/v3/nats/accounts')).body.accounts as Array<{ name: string }>;
      return (
        accounts.some((x) => x.name === 'controller') && (await api('GET', '/api/v3/nats/accounts/controller/users')).body.users?.length > 0
      );
    });
    cluster.setExtraConfig(await operatorModeConfig(api));
    await Promise.all(cluster.nodes.map((n) => n.restart()));
    await cluster.routed();
    await waitFor('both relays connected', () => relayServer(a) && relayServer(b), { timeoutMs: 15_000 });
    const nodeOf = (ctl: Controller) => {
      const server = relayServer(ctl);
      const i = cluster.nodes.findIndex((n) => n.wsUrl.endsWith(`//${server}`));
      assert.ok(i >= 0, `relay server ${server} is one of ${cluster.wsUrls}`);
      return i;
    };

    const f = await fleetWithRunningMicroservice(a, 'cluster-edge');
    const agentOnB = new AgentSessions(f.edge, toWs(b.url));
    const echo = async (user: FrameSocket, line: string) => {
      user.send({ type: T.STDIN, data: bin(line) });
      assert.equal(text(await user.nextOfType(T.STDOUT, 10_000)), line);
    };
    /** User on A, agent on B: pairs, and frames go both ways (stdin to the agent, its echo back). */
    const crossSession = async (label: string) => {
      const user = await FrameSocket.connect(`${toWs(a.url)}/api/v3/microservices/exec/${f.msUuid}`, bearer(f.admin));
      open.push(user);
      const { sessionId } = JSON.parse(text(await user.nextOfType(T.ACTIVATION)));
      await agentOnB.sync();
      await user.next((fr) => text(fr) === READY, 10_000);
      for (let i = 0; i < 5; i++) await echo(user, `${label} ${i}\n`);
      return { user, sessionId: sessionId as string };
    };
    /** Kills node `i` and waits until every instance that was on it has reconnected to another node. */
    const killNode = async (i: number) => {
      const affected = [a, b].filter((c) => nodeOf(c) === i);
      const before = affected.map((c) => count(c, 'session relay reconnected'));
      await cluster.nodes[i]!.stop();
      await waitFor(
        'the instances on the killed node reconnected to another',
        () => affected.every((c, k) => count(c, 'session relay reconnected') > before[k]! && nodeOf(c) !== i),
        { timeoutMs: 20_000 },
      );
      await cluster.routed();
      return affected.length;
    };

    const first = await crossSession('before');

    // Loss 1: the node instance A (the user side) is connected to.
    const lostA = nodeOf(a);
    const movedAtLoss1 = await killNode(lostA);
    await crossSession('after losing A’s node');
    // The session that was open during the loss: its subscriptions were re-made on the new node by
    // the client, and no frame was sent while A was disconnected, so it carries on.
    await echo(first.user, 'still there after losing A’s node\n');

    // The killed node comes back and rejoins the cluster; then the node instance B (the agent side) uses is lost.
    await cluster.nodes[lostA]!.restart();
    await cluster.routed();
    const lostB = nodeOf(b);
    const movedAtLoss2 = await killNode(lostB);
    const third = await crossSession('after losing B’s node');
    await echo(first.user, 'still there after losing B’s node\n');

    // Sessions still end cleanly across the cluster: a user CLOSE reaches the agent and is acknowledged.
    third.user.send({ type: T.CLOSE, data: bin('bye') });
    assert.deepEqual(await third.user.waitClose(10_000), { code: 1000, reason: 'Session closed' });
    console.log(JSON.stringify({ lostA, movedAtLoss1, lostB, movedAtLoss2, aNow: relayServer(a), bNow: relayServer(b) }));
    agentOnB.close();
    f.edge.close();
  } finally {
    for (const s of open) s.close();
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
