// A real nats-server (apt `nats-server`) on loopback for relay tests: client and WebSocket listeners.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './process';
import { waitFor } from './wait';

export interface NatsServer {
  url: string;
  wsUrl: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
  /** Starts it again on the same ports (after stop). */
  restart(): Promise<void>;
  /** Replaces the extra configuration (takes effect on the next restart). */
  setExtraConfig(extra: string): void;
}

const INSTALL_HINT = 'nats-server is not on PATH: install it (apt-get install -y nats-server); the relay and NATS tests run a real server';

/** Whether a real nats-server can be started here. */
export const haveNatsServer = !spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).error;

/**
 * `test(..., { skip: natsSkip })`: outside CI a missing nats-server skips the test with the install hint; in CI
 * (where .ci/run installs it) the test runs and fails with the same hint.
 */
export const natsSkip: string | false = !haveNatsServer && !process.env.CI ? `${INSTALL_HINT}; skipped outside CI` : false;

async function listening(port: number, timeoutMs: number): Promise<void> {
  const accepts = () =>
    new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
  await waitFor(`nats-server listening on ${port}`, accepts, { timeoutMs, intervalMs: 50 });
}

export async function startNats(opts: { extraConfig?: string } = {}): Promise<NatsServer> {
  if (!haveNatsServer) throw new Error(INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'nats-'));
  const port = await freePort();
  const wsPort = await freePort();
  const conf = join(dir, 'nats.conf');
  const write = (extra: string) =>
    writeFileSync(conf, `listen: "127.0.0.1:${port}"\nwebsocket {\n  listen: "127.0.0.1:${wsPort}"\n  no_tls: true\n}\n${extra}\n`);
  write(opts.extraConfig ?? '');
  let out = '';
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    proc: undefined as unknown as ChildProcess,
    output: () => out,
    setExtraConfig: (extra) => write(extra),
    async stop() {
      const p = server.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((r) => {
        p.once('exit', () => r());
        p.kill('SIGKILL');
      });
    },
    async restart() {
      server.proc = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
      server.proc.stdout!.on('data', (d) => (out += d));
      server.proc.stderr!.on('data', (d) => (out += d));
      server.proc.once('exit', () => {});
      await listening(wsPort, 10_000);
    },
  };
  await server.restart();
  process.once('exit', () => {
    server.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}
