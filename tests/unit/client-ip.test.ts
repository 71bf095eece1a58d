import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp, parseIp, parseTrustProxy, selectClientIp } from '../../src/http/client-ip';
import { ConfigError, loadConfig } from '../../src/config';

test('TRUST_PROXY parses false, true, a hop count and proxy lists (IPv4, IPv6, CIDR, names)', () => {
  assert.deepEqual(loadConfig({}).trustProxy, { kind: 'none' });
  assert.deepEqual(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, { kind: 'none' });
  assert.deepEqual(loadConfig({ TRUST_PROXY: 'TRUE' }).trustProxy, { kind: 'hops', hops: 1 });
  assert.deepEqual(loadConfig({ TRUST_PROXY: '2' }).trustProxy, { kind: 'hops', hops: 2 });
  assert.deepEqual(loadConfig({ TRUST_PROXY: '0' }).trustProxy, { kind: 'none' });
  const list = parseTrustProxy('10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1');
  assert.equal(list.kind, 'list');
  assert.deepEqual(list.kind === 'list' && list.ranges.map((r) => [r.text, r.prefix, r.bytes.length]), [
    ['10.0.0.0/8', 8, 4],
    ['192.168.1.7', 32, 4],
    ['fd00::/8', 8, 16],
    ['::1', 128, 16],
  ]);
  const named = parseTrustProxy('loopback,uniquelocal');
  assert.equal(named.kind === 'list' && named.ranges.length, 2 + 4);
});

for (const [value, why] of [
  ['maybe', /"maybe" is not an IPv4\/IPv6 address or CIDR/],
  ['10.0.0.0/33', /prefix length outside 0-32/],
  ['fd00::/129', /prefix length outside 0-128/],
  ['10.0.0.1,,10.0.0.2', /empty entry/],
  ['300.1.1.1', /not an IPv4\/IPv6 address/],
  ['1:2:3:4:5:6:7:8:9', /not an IPv4\/IPv6 address/],
  ['99', /hop count must be between 0 and 32/],
] as const) {
  test(`TRUST_PROXY=${value} is refused with one line naming the variable`, () => {
    assert.throws(
      () => loadConfig({ TRUST_PROXY: value }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.startsWith(
          'invalid configuration: TRUST_PROXY must be false, true, a hop count or a comma-separated list of proxy IPs/CIDRs: ',
        ) &&
        why.test(err.message) &&
        !err.message.includes('\n'),
    );
  });
}

test('addresses parse and print canonically; IPv4-mapped IPv6 is the IPv4 address', () => {
  const canon = (s: string) => formatIp(parseIp(s)!);
  assert.equal(canon('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(canon('[2001:DB8::1]:443'), '2001:db8::1');
  assert.equal(canon('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canon('fe80::1%eth0'), 'fe80::1');
  assert.equal(canon('10.1.2.3:5555'), '10.1.2.3');
  assert.equal(canon('::'), '::');
  for (const bad of ['', 'unknown', '1.2.3', '01.2.3.4', '::1::2', '1.2.3.4.5', 'g::1']) assert.equal(parseIp(bad), undefined, bad);
});

const pick = (trust: string, peer: string | undefined, xff?: string, realIp?: string) =>
  selectClientIp(parseTrustProxy(trust), { peer, forwardedFor: xff, realIp });

test('false: the socket peer, whatever the headers say', () => {
  assert.equal(pick('false', '203.0.113.9', '1.1.1.1', '2.2.2.2'), '203.0.113.9');
});

test('true / hop counts: the right-most entries belong to our proxies, a spoofed left-most entry is ignored', () => {
  // The client sent "X-Forwarded-For: 6.6.6.6"; our one proxy appended the real peer 198.51.100.7.
  assert.equal(pick('true', '10.0.0.2', '6.6.6.6, 198.51.100.7'), '198.51.100.7');
  assert.equal(pick('1', '10.0.0.2', '198.51.100.7'), '198.51.100.7');
  // Two proxies: CDN → nginx → Controller.
  assert.equal(pick('2', '10.0.0.2', '6.6.6.6, 198.51.100.7, 10.9.9.9'), '198.51.100.7');
  // Fewer entries than hops: the left-most one there is.
  assert.equal(pick('3', '10.0.0.2', '198.51.100.7'), '198.51.100.7');
  // No header: the peer (the proxy) itself, or X-Real-IP when the trusted proxy sets that instead.
  assert.equal(pick('true', '10.0.0.2'), '10.0.0.2');
  assert.equal(pick('true', '10.0.0.2', undefined, '198.51.100.7'), '198.51.100.7');
});

test('a proxy list: walk back over trusted addresses only; an untrusted peer is the client', () => {
  const trust = '10.0.0.0/8, 2001:db8::/32';
  assert.equal(pick(trust, '10.0.0.2', '6.6.6.6, 198.51.100.7, 10.1.1.1'), '198.51.100.7');
  assert.equal(pick(trust, '::ffff:10.0.0.2', '6.6.6.6, 2001:db8::5, 2001:db9::7'), '2001:db9::7');
  assert.equal(pick(trust, '2001:db8::1', '198.51.100.7'), '198.51.100.7');
  // The peer is not a proxy of ours: its headers are the client's own words.
  assert.equal(pick(trust, '198.51.100.7', '10.0.0.1', '10.0.0.1'), '198.51.100.7');
  assert.equal(pick(trust, '198.51.100.7', undefined, '10.0.0.1'), '198.51.100.7');
  // Every hop is trusted: the left-most one.
  assert.equal(pick(trust, '10.0.0.2', '10.3.3.3, 10.1.1.1'), '10.3.3.3');
  // Garbage in the chain stops the walk at the proxy that reported it.
  assert.equal(pick(trust, '10.0.0.2', '6.6.6.6, not-an-ip, 10.1.1.1'), '10.1.1.1');
  assert.equal(pick('loopback', '127.0.0.1', '198.51.100.7'), '198.51.100.7');
});
