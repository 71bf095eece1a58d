import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makeTestApp } from '../harness/app';
import { VERSION } from '../../src/version';
import { HealthSchema, ArchitecturesSchema } from '../../routes/health/index';

test('live, status and architectures are public and match their contracts', async () => {
  const t = await makeTestApp();
  try {
    const live = await t.call('GET', '/api/v3/live');
    assert.equal(live.status, 200);
    HealthSchema.parse(live.body);
    assert.equal(live.body.status, 'online');
    assert.match(live.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
    assert.match(live.headers.get('x-timestamp')!, /^\d{13}$/);

    const status = await t.call('GET', '/api/v3/status', { token: 'garbage-token-is-ignored' });
    assert.equal(status.status, 200);
    HealthSchema.parse(status.body);
    assert.equal(status.body.versions.controller, t.ctx.version);
    // One version string everywhere: package.json, /status, the OpenAPI document. No operator console is
    // bundled, so ecnViewer is null rather than the docs UI's version.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(VERSION, pkg.version);
    assert.equal(status.body.versions.controller, VERSION);
    assert.equal(status.body.versions.ecnViewer, null);
    assert.equal(live.body.versions.controller, VERSION);
    assert.equal((await t.call('GET', '/api/v3/openapi.json')).body.info.version, VERSION);

    for (const path of ['/api/v3/architectures/', '/api/v3/architectures']) {
      const arch = await t.call('GET', path);
      assert.equal(arch.status, 200);
      const parsed = ArchitecturesSchema.parse(arch.body);
      assert.deepEqual(
        parsed.architectures.map((a) => [a.id, a.name]),
        [
          [0, 'auto'],
          [1, 'amd64'],
          [2, 'arm64'],
          [3, 'riscv64'],
          [4, 'arm'],
        ],
      );
    }
  } finally {
    await t.close();
  }
});

test('status is 503 with Retry-After and the upstream failure body when the database is gone', async () => {
  const t = await makeTestApp();
  try {
    t.ctx.store.close();
    const r = await t.call('GET', '/api/v3/status');
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '5');
    assert.equal(r.body.status, 'offline');
    assert.equal(r.body.error, 'ServiceUnavailable');
    assert.equal(r.body.code, 'CONTROLLER_NOT_READY');
    assert.equal(r.body.retryable, true);
    assert.match(r.body.message, /Database/);
    assert.equal((await t.call('GET', '/api/v3/live')).status, 200, 'liveness does not depend on the database');
  } finally {
    await t.close();
  }
});

test('status is 503 while shutting down', async () => {
  const t = await makeTestApp();
  try {
    t.ctx.state.accepting = false;
    const r = await t.call('GET', '/api/v3/status');
    assert.equal(r.status, 503);
    assert.match(r.body.message, /shutting down/);
  } finally {
    await t.close();
  }
});

test('a client request id is echoed; an unsafe one is replaced', async () => {
  const t = await makeTestApp();
  try {
    const ok = await t.call('GET', '/api/v3/live', { headers: { 'x-request-id': 'trace-123.abc' } });
    assert.equal(ok.headers.get('x-request-id'), 'trace-123.abc');
    const bad = await t.call('GET', '/api/v3/live', { headers: { 'x-request-id': 'a b<script>' } });
    assert.notEqual(bad.headers.get('x-request-id'), 'a b<script>');
    const line = t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.requestId === 'trace-123.abc');
    assert.ok(line, 'one canonical log line per request');
    assert.deepEqual(Object.keys(line).sort(), ['level', 'method', 'ms', 'msg', 'path', 'requestId', 'status', 'time']);
  } finally {
    await t.close();
  }
});

test('docs UI: HTML with a same-origin CSP; assets served from the bundle; trailing slash redirects', async () => {
  const t = await makeTestApp();
  try {
    const page = await t.app.request('/api/v3/docs');
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    const html = await page.text();
    assert.ok(!/https?:\/\//.test(html), 'no absolute URLs in the page');
    const slash = await t.app.request('/api/v3/docs/');
    assert.equal(slash.status, 301);
    assert.equal(slash.headers.get('location'), '/api/v3/docs');
    for (const [path, type] of [
      ['/api/v3/docs/swagger-ui-bundle.js', 'text/javascript'],
      ['/api/v3/docs/swagger-ui.css', 'text/css'],
      ['/api/v3/docs/init.js', 'text/javascript'],
      ['/api/v3/docs/favicon.png', 'image/png'],
    ]) {
      const r = await t.app.request(path!);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type')!, new RegExp(type!));
    }
    const js = await (await t.app.request('/api/v3/docs/swagger-ui-bundle.js')).text();
    assert.ok(!js.includes('sourceMappingURL='), 'no source map references');
  } finally {
    await t.close();
  }
});
