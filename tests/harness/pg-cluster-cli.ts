// For scripts/test.mjs: `start` starts a test PostgreSQL cluster and prints {url, dir} as JSON (the
// server keeps running after this process exits); `stop <dir>` stops it and removes its files.
import { startPgCluster, stopPgCluster } from './postgres';

const [cmd, dir] = process.argv.slice(2);
if (cmd === 'start') {
  const c = await startPgCluster();
  process.stdout.write(`${JSON.stringify({ url: c.url, dir: c.dir })}\n`);
} else if (cmd === 'stop' && dir) {
  stopPgCluster(dir);
} else {
  console.error('usage: pg-cluster-cli.ts start | stop <dir>');
  process.exit(2);
}
