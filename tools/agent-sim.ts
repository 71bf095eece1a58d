// A simulated Edgelet, for trying the Controller without an edge device:
//   npx tsx tools/agent-sim.ts --controller http://localhost:51121 --key <provisioning key> [--arch 1] [--every 10]
// It provisions with the key, boots as Edgelet does, then every `--every` seconds polls its changes, pulls
// what they name, acknowledges, and reports every desired microservice as RUNNING. It answers exec sessions
// (echoing what is typed) and log sessions (numbered lines). Ctrl-C deprovisions nothing: the fog keeps its key.
// It is the Edgelet simulator the e2e tests drive (tests/harness/edgelet.ts), behind a command line.
import { parseArgs } from 'node:util';
import { Edgelet } from '../tests/harness/edgelet';
import { AgentSessions, toWs } from '../tests/harness/ws';

const { values } = parseArgs({
  options: {
    controller: { type: 'string', default: 'http://localhost:51121' },
    key: { type: 'string' },
    arch: { type: 'string', default: '1' },
    every: { type: 'string', default: '10' },
  },
});
if (!values.key) {
  console.error('usage: npx tsx tools/agent-sim.ts --controller <url> --key <provisioning key> [--arch 1] [--every 10]');
  process.exit(2);
}
const base = values.controller!.replace(/\/+$/, '');
const everyMs = Math.max(0.2, Number(values.every)) * 1000;
const edge = new Edgelet(`${base}/api/v3`, { archId: Number(values.arch), retry: true });
const say = (msg: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));

const provision = await edge.provision(values.key);
if (provision.status !== 200) {
  say('provisioning failed', { status: provision.status, body: provision.body });
  process.exit(1);
}
say('provisioned', { fogUuid: edge.uuid });
await edge.boot();
const sessions = new AgentSessions(edge, toWs(base), { followEveryMs: 1000 });
let stopping = false;
const stop = () => {
  stopping = true;
  sessions.close();
  edge.close();
  say('stopped');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

while (!stopping) {
  const cycle = await edge.changeCycle();
  if (cycle.actions.length) say('change cycle', { flags: cycle.flags, ok: cycle.ok, errors: cycle.errors });
  await edge.reportStatus();
  if (cycle.actions.includes('logs') || cycle.actions.includes('execSessions') || sessions.logs.size || sessions.exec.size)
    await sessions.sync();
  const running = [...edge.running.values()].map((m) => m.name as string);
  if (cycle.actions.includes('microservices')) say('running', { microservices: running });
  await new Promise((r) => setTimeout(r, everyMs));
}
