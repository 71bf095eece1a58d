// Follows a microservice's log session over the Controller's WebSocket route and prints the lines:
//   npx tsx tools/logs.ts --controller http://localhost:51121 --token <access token> --microservice <uuid> [--tail 20] [--lines N]
// With --lines N it exits after N lines (scripts, tests); otherwise it follows until Ctrl-C.
import { parseArgs } from 'node:util';
import { FrameSocket, T, text, toWs } from '../tests/harness/ws';

const { values } = parseArgs({
  options: {
    controller: { type: 'string', default: 'http://localhost:51121' },
    token: { type: 'string' },
    microservice: { type: 'string' },
    tail: { type: 'string', default: '20' },
    lines: { type: 'string' },
  },
});
if (!values.token || !values.microservice) {
  console.error('usage: npx tsx tools/logs.ts --controller <url> --token <access token> --microservice <uuid> [--tail 20] [--lines N]');
  process.exit(2);
}
const url = `${toWs(values.controller!.replace(/\/+$/, ''))}/api/v3/microservices/${values.microservice}/logs?tail=${Number(values.tail)}&follow=true`;
const sock = await FrameSocket.connect(url, { authorization: `Bearer ${values.token}` });
if (!sock.opened) {
  console.error(`log session refused: ${sock.closed?.reason ?? ''} ${sock.refusedBody ?? ''}`);
  process.exit(1);
}
const limit = values.lines ? Number(values.lines) : Number.POSITIVE_INFINITY;
let printed = 0;
while (printed < limit) {
  const f = await sock.next(() => true, 120_000);
  if (f.type === T.LOG_LINE) {
    const line = text(f);
    // The Controller's own notices (waiting for the agent, agent connected) go to stderr and do not count.
    if (/^(Waiting for agent connection|Agent connected)\b/.test(line)) {
      process.stderr.write(`# ${line.trimEnd()}\n`);
      continue;
    }
    console.log(line);
    printed++;
  } else if (f.type === T.LOG_STOP || f.type === T.LOG_ERROR || f.type === T.CLOSE) break;
}
sock.close(1000, 'done');
process.exit(0);
