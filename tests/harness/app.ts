import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { pgDriver } from '../../db/pg-driver';
import { createApp } from '../../src/app';
import { bootstrap } from '../../src/boot';
import { loadConfig } from '../../src/config';
import type { AppCtx } from '../../src/context';
import type { Clock } from '../../src/lib/clock';
import { createLogger } from '../../src/lib/logger';
import type { App } from '../../src/http/types';
import { Vault } from '../../src/crypto/vault';
import type { Ed25519Verifier } from '../../src/auth/agent-auth';
import { freshPgDatabase, onPostgres, type PgDatabase } from './postgres';

export const ADMIN = { email: 'admin@example.com', password: 'Admin-Passw0rd-1' };
export const USER_PASSWORD = 'Initial-Passw0rd-1';
export const CHANGED_PASSWORD = 'Changed-Passw0rd-2';

export interface TestApp {
  app: App;
  ctx: AppCtx;
  dir: string;
  logs: string[];
  /** In-process request through the app factory, JSON in and out. */
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string>; ip?: string },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** A YAML upload the way upstream clients send it: multipart with one file in `field`. */
  upload(method: string, path: string, field: string, doc: string, token: string): Promise<{ status: number; body: any }>;
  login(email?: string, password?: string, totp?: string): Promise<{ accessToken: string; refreshToken: string }>;
  /** A user in `group` who has already changed the initial password: returns a usable access token. */
  userToken(group: string, email?: string): Promise<string>;
  close(): Promise<void>;
}

type CallOptions = NonNullable<Parameters<TestApp['call']>[2]>;

/** Headers and body of a test request: a bearer token, and JSON (`body`) or raw text (`raw`). */
export function jsonRequest(o: CallOptions): { headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.raw !== undefined) {
    body = o.raw;
    headers['content-type'] ??= 'application/json';
  } else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['content-type'] = 'application/json';
  }
  return { headers, body };
}

/** A response as the harness returns it: the body parsed as JSON when it is JSON, else the text. */
export async function jsonAnswer(res: Response): Promise<{ status: number; body: any; headers: Headers }> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: the text itself */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/**
 * A fresh app on a fresh database; each test gets its own: a libSQL file, or on the PostgreSQL pass
 * (TEST_DB=postgres / TEST_PG_URL, see harness/postgres.ts) a database of its own on the test cluster.
 */
export async function makeTestApp(opts: { env?: Record<string, string>; clock?: Clock; ed25519?: Ed25519Verifier } = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'controller-api-'));
  let pg: PgDatabase | undefined;
  if (onPostgres && !opts.env?.DB_URL) pg = await freshPgDatabase();
  const config = loadConfig({
    DB_URL: pg?.url ?? `file:${join(dir, 'controller.db')}`,
    ENCRYPTION_KEY: Vault.generateKey(),
    OIDC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.email,
    OIDC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'info',
    JOBS_ENABLED: 'false',
    ...opts.env,
  });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, (l) => logs.push(l));
  let ctx: AppCtx;
  try {
    ctx = await bootstrap({ config, logger, createClient, pgDriver, clock: opts.clock, ed25519: opts.ed25519 });
  } catch (err) {
    await pg?.drop();
    throw err;
  }
  const app = createApp(ctx);
  const call: TestApp['call'] = async (method, path, o = {}) =>
    jsonAnswer(await app.request(path, { method, ...jsonRequest(o) }, { clientIp: o.ip ?? '10.0.0.1' }));
  const upload: TestApp['upload'] = async (method, path, field, doc, token) => {
    const form = new FormData();
    form.set(field, new Blob([doc], { type: 'application/yaml' }), 'doc.yaml');
    const res = await app.request(path, { method, body: form, headers: { authorization: `Bearer ${token}` } }, { clientIp: '10.0.0.1' });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const login: TestApp['login'] = async (email = ADMIN.email, password = ADMIN.password, totp) => {
    const r = await call('POST', '/api/v3/user/login', { body: { email, password, ...(totp ? { totp } : {}) } });
    if (r.status !== 200) throw new Error(`login ${email} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  let n = 0;
  const userToken: TestApp['userToken'] = async (group, email) => {
    const admin = (await login()).accessToken;
    const address = email ?? `${group}-${++n}@example.com`;
    const created = await call('POST', '/api/v3/users', {
      token: admin,
      body: { email: address, password: USER_PASSWORD, groups: [group] },
    });
    if (created.status !== 201) throw new Error(`create user failed: ${created.status} ${JSON.stringify(created.body)}`);
    const first = await login(address, USER_PASSWORD);
    const changed = await call('POST', '/api/v3/user/change-password', {
      token: first.accessToken,
      body: { currentPassword: USER_PASSWORD, newPassword: CHANGED_PASSWORD },
    });
    if (changed.status !== 200) throw new Error(`change password failed: ${changed.status} ${JSON.stringify(changed.body)}`);
    return (await login(address, CHANGED_PASSWORD)).accessToken;
  };
  return {
    app,
    ctx,
    dir,
    upload,
    logs,
    call,
    login,
    userToken,
    async close() {
      await ctx.store.close();
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
