import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newJetStreamKey } from '../../src/services/platform/nats-platform';

/**
 * nats-server reads `key: $JETSTREAM_KEY` by parsing the variable's value as a configuration token: a
 * base64 key such as "1K6B…" reads as a size (1K) followed by garbage and the server refuses the whole
 * configuration (about one base64 key in a hundred). The Controller's keys always read as a bare string.
 */
test('JetStream keys: letters and digits starting with a letter, 256 random bits; nats-server accepts them where a digit-led base64 key fails', () => {
  const keys = Array.from({ length: 500 }, newJetStreamKey);
  for (const k of keys) assert.match(k, /^jsk[0-9a-f]{64}$/);
  assert.equal(new Set(keys).size, keys.length);

  const dir = mkdtempSync(join(tmpdir(), 'jsk-'));
  try {
    const conf = join(dir, 'c.conf');
    writeFileSync(conf, `port: 4333\njetstream {\n  store_dir: "${join(dir, 'js')}"\n  cipher: chachapoly\n  key: $JETSTREAM_KEY\n}\n`);
    const check = (key: string) =>
      spawnSync('nats-server', ['-t', '-c', conf], { encoding: 'utf8', env: { ...process.env, JETSTREAM_KEY: key } });
    const bad = check('1K6BE03IiCvvtqU5OMVMwyeZsF4QuLzeYUgkIY3jG+w=');
    assert.notEqual(bad.status, 0, 'the old kind of key that broke a hub configuration');
    assert.match(bad.stdout + bad.stderr, /JETSTREAM_KEY/);
    for (const k of keys.slice(0, 20)) {
      const r = check(k);
      assert.equal(r.status, 0, `${k}: ${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
