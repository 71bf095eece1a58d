import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { makeTestApp } from '../harness/app';
import { signEdgeletToken, type TokenOverrides } from '../harness/edgelet';
import { AgentKeyCache } from '../../src/auth/agent-auth';
import { ed25519Backend, nodeEd25519, SodiumThread } from '../../src/runtime/ed25519-node';

/**
 * The node:crypto fast path of agent-token verification (runtime/ed25519-node.ts) must answer every
 * token exactly as the jose/WebCrypto path does: each variant is sent once through each path (a fresh
 * jti each time unless the variant fixes it) and the two answers compared.
 */
test('agent tokens: the node:crypto verifier and the jose path give the same answer for every variant', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const fog = await t.call('POST', '/api/v3/iofog', {
      token: admin,
      body: { name: 'fast-path', archId: 1, routerMode: 'none', natsMode: 'none' },
    });
    const key = await t.call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`, { token: admin });
    const prov = await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } });
    assert.equal(prov.status, 200);
    const uuid: string = prov.body.uuid;
    const priv = createPrivateKey({ key: JSON.parse(Buffer.from(prov.body.privateKey, 'base64').toString('utf8')), format: 'jwk' });
    const other = generateKeyPairSync('ed25519').privateKey;
    const now = Math.floor(Date.now() / 1000);
    const sign = (o: TokenOverrides = {}, k: KeyObject = priv) => signEdgeletToken(uuid, 'http://127.0.0.1/api/v3', k, o);
    const variants: Record<string, () => string> = {
      valid: () => sign(),
      'kid header': () => sign({ header: { kid: 'k1' } }),
      'no typ': () => sign({ header: { typ: undefined } }),
      'crit header': () => sign({ header: { crit: ['b64'], b64: false } }),
      'b64 header': () => sign({ header: { b64: true } }),
      'other key': () => sign({}, other),
      'alg none': () => sign({ alg: 'none' }),
      'alg HS256': () => sign({ alg: 'HS256' }),
      'alg Ed25519 label': () => sign({ header: { alg: 'Ed25519' } }),
      'no sub': () => sign({ sub: null }),
      'empty sub': () => sign({ sub: '' }),
      'unknown sub': () => sign({ sub: crypto.randomUUID() }),
      'no jti': () => sign({ jti: null }),
      'numeric jti': () => sign({ claims: { jti: 42 } }),
      expired: () => sign({ iat: now - 1200, nbf: now - 1200, exp: now - 600 }),
      'expired within tolerance': () => sign({ iat: now - 620, nbf: now - 620, exp: now - 5 }),
      'no exp': () => sign({ exp: null }),
      'string exp': () => sign({ claims: { exp: String(now + 600) } }),
      'future nbf': () => sign({ iat: now, nbf: now + 600 }),
      'future iat': () => sign({ iat: now + 600, nbf: now }),
      'nbf within tolerance': () => sign({ nbf: now + 5 }),
      'string iat': () => sign({ claims: { iat: 'now' } }),
      'extra claims': () => sign({ claims: { foo: { bar: [1, 2] } } }),
      'signature + 1 char': () => `${sign()}A`,
      'signature - 1 char': () => sign().slice(0, -1),
      'padded signature': () => `${sign()}==`,
      'tampered payload': () => {
        const [h, p, s] = sign().split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8'));
        claims.tokenUse = 'other';
        return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      },
      'payload not an object': () => {
        const [h, , s] = sign().split('.');
        return `${h}.${Buffer.from('[1]').toString('base64url')}.${s}`;
      },
      'two parts': () => sign().split('.').slice(0, 2).join('.'),
      'four parts': () => `${sign()}.x`,
      'not base64url': () => sign().replace('.', '.*'),
      // Segments are decoded with atob and read as ASCII unless a byte is not (then as strict UTF-8).
      'non-ASCII claim': () => sign({ claims: { site: 'Zürich ✓ 東京' } }),
      'non-ASCII kid': () => sign({ header: { kid: 'clé' } }),
      'payload not UTF-8, signed': () => {
        const [h, p] = sign().split('.');
        const claims = Buffer.from(p!, 'base64url').toString('utf8');
        const bytes = Buffer.concat([
          Buffer.from(claims.slice(0, -1)),
          Buffer.from(',"x":"'),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('"}'),
        ]);
        const input = `${h}.${bytes.toString('base64url')}`;
        return `${input}.${edSign(null, Buffer.from(input), priv).toString('base64url')}`;
      },
      'payload Latin-1 bytes, signed': () => {
        const [h, p] = sign().split('.');
        const claims = Buffer.from(p!, 'base64url').toString('utf8');
        const input = `${h}.${Buffer.from(`${claims.slice(0, -1)},"x":"caf\u00e9"}`, 'latin1').toString('base64url')}`;
        return `${input}.${edSign(null, Buffer.from(input), priv).toString('base64url')}`;
      },
      'valid again (header remembered)': () => sign(),
      'alg none after a valid token': () => sign({ alg: 'none' }),
    };
    const withJose = new AgentKeyCache();
    let accepted = 0;
    const withNode = new AgentKeyCache({
      importPublicJwk: (jwk) => nodeEd25519.importPublicJwk(jwk),
      verify: (k, input, signature) => {
        const ok = nodeEd25519.verify(k, input, signature);
        if (ok) accepted++;
        return ok;
      },
    });
    const answer = async (cache: AgentKeyCache, token: string) => {
      t.ctx.agentKeys = cache;
      const r = await t.call('GET', '/api/v3/agent/config', { headers: { authorization: `Bearer ${token}` } });
      return `${r.status} ${r.body?.code ?? ''}`;
    };
    const answers = new Map<string, string>();
    for (const [name, make] of Object.entries(variants)) {
      const viaJose = await answer(withJose, make());
      const viaNode = await answer(withNode, make());
      assert.equal(viaNode, viaJose, `${name}: node:crypto ${viaNode}, jose ${viaJose}`);
      answers.set(name, viaNode);
    }
    for (const name of ['valid', 'non-ASCII claim', 'non-ASCII kid', 'valid again (header remembered)'])
      assert.equal(answers.get(name), '200 ', name);
    for (const name of ['payload not UTF-8, signed', 'payload Latin-1 bytes, signed', 'alg none after a valid token'])
      assert.match(answers.get(name)!, /^401 /, name);
    // The fast path took the valid token (not a silent fallback to jose), and replay is still caught.
    const before = accepted;
    assert.equal(await answer(withNode, variants.valid!()), '200 ');
    assert.equal(accepted, before + 1);
    const once = sign();
    assert.equal(await answer(withNode, once), '200 ');
    assert.equal(await answer(withJose, once), '401 AGENT_JWT_ALREADY_USED');
    assert.equal(await answer(withNode, once), '401 AGENT_JWT_ALREADY_USED');
  } finally {
    await t.close();
  }
});

test('agent tokens: the Node verifier (libsodium thread) checks Ed25519 signatures off the event loop and rejects malformed ones', async () => {
  // sodium-native is a dependency with prebuilt binaries for this platform: the fast backend must be the one in use.
  assert.equal(ed25519Backend(), 'libsodium-thread');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const key = nodeEd25519.importPublicJwk(publicKey.export({ format: 'jwk' }) as never);
  const token = signEdgeletToken('fog', 'http://x/api/v3', privateKey);
  const [h, p, s] = token.split('.') as [string, string, string];
  assert.equal(await nodeEd25519.verify(key, `${h}.${p}`, s), true);
  assert.equal(await nodeEd25519.verify(key, `${h}.${p}x`, s), false);
  assert.equal(await nodeEd25519.verify(key, `${h}.${p}`, `${s}A`), false);
  assert.equal(await nodeEd25519.verify(key, `${h}.${p}`, s.slice(0, -2)), false);
});

test('agent tokens: a verification thread that cannot start hands its checks to OpenSSL, with the same answers', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const key = nodeEd25519.importPublicJwk(publicKey.export({ format: 'jwk' }) as never) as never;
  const token = signEdgeletToken('fog', 'http://x/api/v3', privateKey);
  const [h, p, s] = token.split('.') as [string, string, string];
  const broken = new SodiumThread('/nonexistent/sodium-native');
  const check = (input: string, signature: string) => new Promise<boolean>((resolve) => broken.check({ key, input, signature, resolve }));
  // Queued before the thread fails to load, then after: every answer still right.
  const tampered = `${s.slice(0, 10)}${s[10] === 'B' ? 'C' : 'B'}${s.slice(11)}`;
  const first = await Promise.all([check(`${h}.${p}`, s), check(`${h}.${p}x`, s), check(`${h}.${p}`, tampered)]);
  assert.deepEqual(first, [true, false, false]);
  assert.deepEqual(await Promise.all([check(`${h}.${p}`, s), check(`${p}.${h}`, s)]), [true, false]);
});
