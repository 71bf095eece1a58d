import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestApp } from '../harness/app';

const DIR = join(import.meta.dirname, '../../examples');

/** The table in examples/README.md is the one list of files, their order and endpoints. */
function plan(): Array<{ file: string; method: string; path: string }> {
  const rows = readFileSync(join(DIR, 'README.md'), 'utf8')
    .split('\n')
    .map((l) => /^\| \d+ \| `([^`]+)` \| [^|]+ \| `(POST|PUT|PATCH) ([^`]+)` \|$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  return rows.map((m) => ({ file: m[1]!, method: m[2]!, path: m[3]! }));
}

test('examples: the README lists every example file once', () => {
  const listed = plan().map((p) => p.file);
  const files = readdirSync(DIR).filter((f) => f !== 'README.md');
  assert.deepEqual([...listed].sort(), [...files].sort());
  assert.equal(new Set(listed).size, listed.length);
});

test('examples: a fresh Controller accepts every file, in the README order, and the objects read back as written', async () => {
  const t = await makeTestApp();
  try {
    const { accessToken: token } = await t.login();
    for (const { file, method, path } of plan()) {
      const text = readFileSync(join(DIR, file), 'utf8');
      const r = file.endsWith('.json')
        ? await t.call(method, path, { token, body: JSON.parse(text) })
        : await t.call(method, path, { token, raw: text, headers: { 'content-type': 'application/yaml' } });
      assert.ok(r.status === 200 || r.status === 201, `${file} → ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const app = await t.call('GET', '/api/v3/application/line-monitor', { token });
    assert.equal(app.status, 200);
    assert.deepEqual(app.body.microservices.map((m: { name: string }) => m.name).sort(), ['dashboard', 'vibration-reader']);
    const fromTemplate = await t.call('GET', '/api/v3/application/sensors-line-3', { token });
    const sensor = fromTemplate.body.microservices[0];
    assert.deepEqual(sensor.env, [{ key: 'SAMPLE_HZ', value: '50' }], 'the template variable given at deploy');
    const cm = await t.call('GET', '/api/v3/configmaps/line-config', { token });
    assert.equal(cm.status, 200);
    const role = await t.call('GET', '/api/v3/roles/line-operator', { token });
    assert.equal(role.status, 200);
    assert.equal((await t.call('GET', '/api/v3/services/historian', { token })).status, 200);
  } finally {
    await t.close();
  }
});
