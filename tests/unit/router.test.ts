import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrieRouter } from 'hono/router/trie-router';
import { CachingRouter } from '../../src/http/router';

const routes: Array<[string, string, string]> = [
  ['ALL', '*', 'log'],
  ['ALL', '/api/v3/agent/*', 'agent-auth'],
  ['GET', '/api/v3/agent/config/changes', 'changes'],
  ['PUT', '/api/v3/agent/status', 'status'],
  ['GET', '/api/v3/application/system', 'system apps'],
  ['GET', '/api/v3/application/:name', 'app'],
  ['GET', '/api/v3/application/:name/microservices/:uuid', 'app ms'],
];

const plain = (r: ReturnType<TrieRouter<string>['match']>) => r[0].map(([h, p]) => [h, { ...p }]);

test('the caching router answers every path as the trie does, remembered or not', () => {
  const trie = new TrieRouter<string>();
  const cached = new CachingRouter<string>();
  for (const [m, p, h] of routes) {
    trie.add(m, p, h);
    cached.add(m, p, h);
  }
  const probes: Array<[string, string]> = [
    ['GET', '/api/v3/agent/config/changes'],
    ['PUT', '/api/v3/agent/status'],
    ['GET', '/api/v3/agent/status'],
    ['GET', '/api/v3/application/system'],
    ['GET', '/api/v3/application/a1'],
    ['GET', '/api/v3/application/a2'],
    ['GET', '/api/v3/application/a1/microservices/u1'],
    ['GET', '/nowhere'],
  ];
  // Twice, interleaved: the second round comes from memory for the paths without parameters.
  for (let round = 0; round < 2; round++) {
    for (const [m, p] of probes) assert.deepEqual(plain(cached.match(m, p)), plain(trie.match(m, p)), `${m} ${p} (round ${round})`);
  }
  assert.equal(cached.match('PUT', '/api/v3/agent/status'), cached.match('PUT', '/api/v3/agent/status'), 'a fixed path is remembered');
  assert.notEqual(
    cached.match('GET', '/api/v3/application/a1'),
    cached.match('GET', '/api/v3/application/a1'),
    'a path with parameters is not',
  );
  // A remembered answer is not changed by later matches that fill parameters.
  const system = plain(cached.match('GET', '/api/v3/application/system'));
  cached.match('GET', '/api/v3/application/zz');
  assert.deepEqual(plain(cached.match('GET', '/api/v3/application/system')), system);
  assert.deepEqual({ ...cached.match('GET', '/api/v3/application/b7')[0].at(-1)?.[1] }, { name: 'b7' });
});

test('the caching router forgets its answers when a route is added, and stays bounded', () => {
  const cached = new CachingRouter<string>();
  cached.add('GET', '/a', 'a');
  assert.deepEqual(plain(cached.match('GET', '/b')), []);
  cached.add('GET', '/b', 'b');
  assert.deepEqual(plain(cached.match('GET', '/b')), [['b', {}]]);
  // Thousands of distinct unknown paths (a scanner) keep working and never hold more than the bound.
  for (let i = 0; i < 5000; i++) {
    assert.deepEqual(plain(cached.match('GET', `/scan/${i}`)), []);
    assert.ok(cached.size <= 512);
  }
  assert.deepEqual(plain(cached.match('GET', '/a')), [['a', {}]]);
});
