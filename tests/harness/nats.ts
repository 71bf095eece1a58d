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

export interface NatsCluster {
  nodes: NatsServer[];
  /** The WebSocket listeners of all nodes, comma-separated (the NATS_RELAY_URL form). */
  wsUrls: string;
  /** Replaces the extra configuration of every node (takes effect on the next restart). */
  setExtraConfig(extra: string): void;
  /** Waits until every running node has a route to every other running node. */
  routed(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real nats-server cluster on loopback: `size` nodes with routes to each other, a WebSocket
 * listener on each (no TLS, for tests), free ports, and the monitoring endpoint, which `routed` reads
 * to know the mesh is up. Any node can be stopped (SIGKILL) and restarted on its ports.
 */
export async function startNatsCluster(opts: { size?: number; extraConfig?: string } = {}): Promise<NatsCluster> {
  if (!haveNatsServer) throw new Error(INSTALL_HINT);
  const size = opts.size ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'nats-cluster-'));
  const ports: Array<{ client: number; route: number; ws: number; monitor: number }> = [];
  for (let i = 0; i < size; i++)
    ports.push({ client: await freePort(), route: await freePort(), ws: await freePort(), monitor: await freePort() });
  let extra = opts.extraConfig ?? '';
  const outs = ports.map(() => '');
  const confOf = (i: number) => join(dir, `n${i}.conf`);
  const write = (i: number) => {
    const p = ports[i]!;
    const routes = ports.filter((_, j) => j !== i).map((q) => `"nats-route://127.0.0.1:${q.route}"`);
    writeFileSync(
      confOf(i),
      `server_name: n${i}\nlisten: "127.0.0.1:${p.client}"\nhttp: "127.0.0.1:${p.monitor}"\n` +
        `cluster {\n  name: relay-test\n  listen: "127.0.0.1:${p.route}"\n  routes: [${routes.join(', ')}]\n}\n` +
        `websocket {\n  listen: "127.0.0.1:${p.ws}"\n  no_tls: true\n}\n${extra}\n`,
    );
  };
  const nodes: NatsServer[] = ports.map((p, i) => {
    write(i);
    const node: NatsServer = {
      url: `nats://127.0.0.1:${p.client}`,
      wsUrl: `ws://127.0.0.1:${p.ws}`,
      proc: undefined as unknown as ChildProcess,
      output: () => outs[i]!,
      setExtraConfig: (x) => {
        extra = x;
        write(i);
      },
      async stop() {
        const proc = node.proc;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
        await new Promise<void>((r) => {
          proc.once('exit', () => r());
          proc.kill('SIGKILL');
        });
      },
      async restart() {
        node.proc = spawn('nats-server', ['-c', confOf(i)], { stdio: ['ignore', 'pipe', 'pipe'] });
        node.proc.stdout!.on('data', (d) => (outs[i] += d));
        node.proc.stderr!.on('data', (d) => (outs[i] += d));
        await listening(p.ws, 10_000);
      },
    };
    return node;
  });
  await Promise.all(nodes.map((n) => n.restart()));
  const running = () => nodes.map((n, i) => [n, i] as const).filter(([n]) => n.proc.exitCode === null && n.proc.signalCode === null);
  const cluster: NatsCluster = {
    nodes,
    wsUrls: nodes.map((n) => n.wsUrl).join(','),
    setExtraConfig(x) {
      extra = x;
      for (let i = 0; i < ports.length; i++) write(i);
    },
    async routed(timeoutMs = 15_000) {
      let counts: number[] = [];
      try {
        await waitFor(
          'every running NATS node routed to the others',
          async () => {
            const up = running();
            counts = await Promise.all(
              up.map(async ([, i]) => {
                try {
                  const r = (await (await fetch(`http://127.0.0.1:${ports[i]!.monitor}/routez`)).json()) as {
                    routes?: Array<{ remote_id?: string }>;
                  };
                  return new Set((r.routes ?? []).map((x) => x.remote_id)).size;
                } catch {
                  return -1;
                }
              }),
            );
            return counts.every((c) => c === up.length - 1);
          },
          { timeoutMs, intervalMs: 100 },
        );
      } catch {
        throw new Error(`NATS cluster not routed: ${JSON.stringify(counts)}\n${outs.join('\n---\n').slice(-3000)}`);
      }
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  process.once('exit', () => {
    for (const n of nodes) n.proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await cluster.routed();
  return cluster;
}
