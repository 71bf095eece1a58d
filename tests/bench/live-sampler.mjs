// Requests GET /api/v3/live every 10 ms on one keep-alive connection until its stdin closes, then prints
// {"maxMs", "samples"} on stdout. The benches run it as a process of its own: timed from the bench's own
// event loop, the samples also measured the bench reading a 20 MB answer, not only the server.
//   node tests/bench/live-sampler.mjs <port>      (prints "ready" once the first answer came back)
import { Agent, request } from 'node:http';

const port = Number(process.argv[2]);
/** The sampling cadence: a /live request every 10 ms. It paces the sampler; nothing waits on it for a condition. */
const SAMPLE_EVERY_MS = 10;
const pause = () => new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const live = () =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/api/v3/live', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', reject);
    req.end();
  });

let stop = false;
process.stdin.on('end', () => (stop = true));
process.stdin.resume();
let max = 0;
let samples = 0;
await live();
process.stdout.write('ready\n');
while (!stop) {
  max = Math.max(max, await live());
  samples++;
  await pause();
}
process.stdout.write(`${JSON.stringify({ maxMs: +max.toFixed(1), samples })}\n`);
agent.destroy();
