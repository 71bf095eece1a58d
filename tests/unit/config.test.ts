import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config';

test('defaults: embedded database, port 51121, loopback public URL', () => {
  const c = loadConfig({});
  assert.equal(c.port, 51121);
  assert.equal(c.db.url, 'file:./data/controller.db');
  assert.equal(c.publicUrl, 'http://localhost:51121');
  assert.equal(c.issuer, 'http://localhost:51121/oidc');
  assert.equal(c.authMode, 'embedded');
  assert.equal(c.maxJsonBodyBytes, 1_048_576);
  assert.equal(c.accessTokenTtlSec, 900);
  assert.equal(c.authRateLimit.max, 60);
  assert.equal(c.bootstrapAdmin, undefined);
});

test('DB_URL accepts postgres:// and postgresql://; DB_POOL_MAX sizes their pool (default 10)', () => {
  for (const url of ['postgres://u:p@db:5432/ctl', 'postgresql://db/ctl?sslmode=require'])
    assert.equal(loadConfig({ DB_URL: url }).db.url, url);
  assert.equal(loadConfig({}).db.poolMax, 10);
  assert.equal(loadConfig({ DB_POOL_MAX: '40' }).db.poolMax, 40);
});

test('empty variables count as unset', () => {
  assert.equal(loadConfig({ API_PORT: '', LOG_LEVEL: ' ' }).port, 51121);
});

const rejects: Array<[Record<string, string>, RegExp]> = [
  [{ API_PORT: 'abc' }, /^invalid configuration: API_PORT must be a whole number between 0 and 65535 \(got "abc"\)$/],
  [{ API_PORT: '70000' }, /API_PORT must be a whole number between 0 and 65535/],
  [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of debug, info, warn, error, silent/],
  [{ AUTH_MODE: 'sso' }, /AUTH_MODE must be "embedded" or "external"/],
  [{ AUTH_MODE: 'external' }, /OIDC_ISSUER_URL must be set when AUTH_MODE=external/],
  [{ AUTH_MODE: 'external', OIDC_ISSUER_URL: 'http://idp.example.com/realms/x' }, /OIDC_ISSUER_URL must be https:\/\//],
  [{ DB_URL: 'mysql://x' }, /DB_URL must start with file:, libsql:\/\/, http\(s\):\/\/, ws\(s\):\/\/, postgres:\/\/ or postgresql:\/\//],
  [{ DB_POOL_MAX: '0' }, /DB_POOL_MAX must be a whole number between 1 and 1000/],
  [{ ENCRYPTION_KEY: 'short' }, /ENCRYPTION_KEY must be 32 random bytes encoded as base64/],
  [{ TRUST_PROXY: 'maybe' }, /TRUST_PROXY must be false, true, a hop count or a comma-separated list of proxy IPs\/CIDRs/],
  [{ CONTROLLER_PUBLIC_URL: 'http://controller.example.com' }, /CONTROLLER_PUBLIC_URL must be https:\/\//],
  [{ CONTROLLER_PUBLIC_URL: 'not a url' }, /CONTROLLER_PUBLIC_URL must be an absolute http\(s\) URL/],
  [{ TLS_PATH_CERT: '/x.pem' }, /TLS_PATH_KEY or TLS_BASE64_KEY must be set together/],
  [{ MAX_JSON_BODY_BYTES: '10' }, /MAX_JSON_BODY_BYTES must be a whole number between 1024/],
  [{ OIDC_BOOTSTRAP_ADMIN_USERNAME: 'a' }, /OIDC_BOOTSTRAP_ADMIN_USERNAME and OIDC_BOOTSTRAP_ADMIN_PASSWORD must be set together/],
  [
    { OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'Good-Passw0rd-1' },
    /OIDC_BOOTSTRAP_ADMIN_USERNAME and OIDC_BOOTSTRAP_ADMIN_PASSWORD must be set together/,
  ],
  [
    { OIDC_BOOTSTRAP_ADMIN_USERNAME: 'a', OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'b' },
    /OIDC_BOOTSTRAP_ADMIN_PASSWORD does not meet the password policy: password must be at least 12/,
  ],
];
for (const [env, re] of rejects) {
  test(`rejects ${JSON.stringify(env)} with one line naming the variable`, () => {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && re.test(err.message) && !err.message.includes('\n'),
    );
  });
}

test('http public URL is allowed with AUTH_INSECURE_ALLOW_HTTP', () => {
  const c = loadConfig({ CONTROLLER_PUBLIC_URL: 'http://ctl.lan:51121/', AUTH_INSECURE_ALLOW_HTTP: 'true' });
  assert.equal(c.publicUrl, 'http://ctl.lan:51121');
});

test('bootstrap admin needs both variables, and a password the policy accepts', () => {
  assert.deepEqual(loadConfig({ OIDC_BOOTSTRAP_ADMIN_USERNAME: 'a', OIDC_BOOTSTRAP_ADMIN_PASSWORD: 'Good-Passw0rd-1' }).bootstrapAdmin, {
    username: 'a',
    password: 'Good-Passw0rd-1',
  });
});

test('every environment variable the Controller reads has a row in docs/configuration.md', async () => {
  const { readFileSync } = await import('node:fs');
  const { EnvSchema } = await import('../../src/config');
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  // A row names its variable in the first column (`A` or `A` / `B`); a mention in another row's text is not a row.
  const rows = doc
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split(' | ')[0]!);
  const missing = Object.keys(EnvSchema.entries).filter((k) => !rows.some((r) => r.includes(`\`${k}\``)));
  assert.deepEqual(missing, [], `add a row for these to docs/configuration.md: ${missing.join(', ')}`);
});

test('NATS_RELAY_URL: one URL or the WebSocket listeners of a cluster, comma-separated', () => {
  assert.deepEqual(loadConfig({ NATS_RELAY_URL: 'ws://nats:8080' }).ws.relay, { urls: ['ws://nats:8080'], credsFile: undefined });
  assert.deepEqual(loadConfig({ NATS_RELAY_URL: ' ws://n1:8080, wss://n2:443,ws://n3:8080 ' }).ws.relay?.urls, [
    'ws://n1:8080',
    'wss://n2:443',
    'ws://n3:8080',
  ]);
  assert.equal(loadConfig({}).ws.relay, undefined);
  assert.throws(() => loadConfig({ NATS_RELAY_URL: 'ws://n1:8080,nats://n2:4222' }), /NATS_RELAY_URL must be ws:\/\/ or wss:\/\/ URLs/);
  assert.throws(() => loadConfig({ NATS_RELAY_URL: 'ws://n1:8080,' }), /NATS_RELAY_URL must be ws:\/\/ or wss:\/\/ URLs/);
  assert.throws(() => loadConfig({ NATS_RELAY_URL: 'ws://n1:8080,ws://n1:8080' }), /NATS_RELAY_URL lists the same URL twice/);
});
