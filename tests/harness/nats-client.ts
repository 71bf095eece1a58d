// NATS clients for tests: @nats-io/nats-core over WebSocket (Node 20 gets `ws` as its global WebSocket),
// authenticated with a .creds text, plus the operator-mode server config built from the Controller's API.
import WebSocket from 'ws';
import { credsAuthenticator, wsconnect, type NatsConnection } from '@nats-io/nats-core';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

export async function connectWithCreds(wsUrl: string, creds: string, name = 'test'): Promise<NatsConnection> {
  return wsconnect({
    servers: wsUrl,
    name,
    authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
    reconnect: false,
    timeout: 3000,
  });
}

/**
 * Operator-mode server config from `GET /nats/operator` and `GET /nats/accounts`: the operator JWT, the
 * system account and every account JWT preloaded into a MEMORY resolver (the "bundle").
 */
export async function operatorModeConfig(api: (method: string, path: string) => Promise<{ status: number; body: any }>): Promise<string> {
  const op = await api('GET', '/api/v3/nats/operator');
  if (op.status !== 200) throw new Error(`GET /nats/operator: ${op.status} ${JSON.stringify(op.body)}`);
  const accounts = (await api('GET', '/api/v3/nats/accounts')).body.accounts as Array<{
    name: string;
    publicKey: string;
    jwt: string;
    isSystem: boolean;
  }>;
  const sys = accounts.find((a) => a.isSystem && a.name === 'SYS');
  if (!sys) throw new Error('no SYS account');
  const preload = accounts.map((a) => `  ${a.publicKey}: "${a.jwt}"`).join('\n');
  return `operator: "${op.body.jwt}"\nsystem_account: ${sys.publicKey}\nresolver: MEMORY\nresolver_preload: {\n${preload}\n}\n`;
}
