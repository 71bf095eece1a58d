import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { bootstrap } from './src/boot';
import { createApp } from './src/app';
import { loadConfig } from './src/config';
import { Vault } from './src/crypto/vault';
import { createLogger } from './src/lib/logger';
import { enableStatementCache } from './src/runtime/statement-cache';
import { nodeWalCheckpointer } from './src/runtime/wal-checkpoint-node';
import { drainFogTasks } from './src/services/platform/fog-platform';
const mode = process.argv[2] ?? 'plain';
if (mode !== 'plain') enableStatementCache();
const dir = mkdtempSync(join(tmpdir(), 'scr-'));
const config = loadConfig({ DB_URL: `file:${join(dir, 'c.db')}`, ENCRYPTION_KEY: Vault.generateKey(), OIDC_BOOTSTRAP_ADMIN_USERNAME: 'admin@example.com', OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'Admin-Passw0rd!x', LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' });
const ctx = await bootstrap({ config, logger: createLogger('warn'), createClient, ...(mode === 'ckpt' ? { walCheckpointer: nodeWalCheckpointer } : {}) } as never);
const app = createApp(ctx);
const call = async (method: string, path: string, token?: string, body?: unknown) => {
  const r = await app.request(path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text(); return { status: r.status, body: text ? JSON.parse(text) : undefined };
};
const token = (await call('POST', '/api/v3/user/login', undefined, { email: 'admin@example.com', password: 'Admin-Passw0rd!x' })).body.accessToken;
const hub = await call('POST', '/api/v3/iofog', token, { name: 'hub', archId: 1, isSystem: true, routerMode: 'interior', host: 'hub.example', interRouterPort: 55671, edgeRouterPort: 45671 });
const N = 20;
for (let i = 0; i < N; i++) { const r = await call('POST', '/api/v3/iofog', token, { name: `f${i}`, archId: 1, routerMode: 'edge', natsMode: 'none', host: `10.0.0.${i}` }); if (r.status !== 201) throw new Error(JSON.stringify(r.body)); }
for (let k = 0; k < 30; k++) await drainFogTasks(ctx, { budgetMs: 60_000, concurrency: 4 });
for (const port of [55672, 55673]) {
  const p = await call('PATCH', `/api/v3/iofog/${hub.body.uuid}`, token, { interRouterPort: port, edgeRouterPort: port - 10000 });
  const t0 = performance.now(); const c0 = process.cpuUsage();
  let n = 0; for (let k = 0; k < 10 && n < N + 1; k++) n += (await drainFogTasks(ctx, { budgetMs: 60_000, concurrency: Number(process.argv[3] ?? 1) })).reconciled.length;
  const ms = performance.now() - t0; const cpu = process.cpuUsage(c0);
  console.log(mode, p.status, 'reconciled', n, 'wall/task', (ms / n).toFixed(1), 'ms, cpu/task', ((cpu.user + cpu.system) / 1000 / n).toFixed(1), 'ms');
}
ctx.store.close?.();
process.exit(0);
