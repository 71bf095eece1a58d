import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAccount as naclAccount,
  createOperator as naclOperator,
  createUser as naclUser,
  decode,
  encodeUser,
  fromSeed as naclFromSeed,
} from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed } from '../../src/services/nats/keys';

const msg = (i: number) => new TextEncoder().encode(`claims ${i} ${'x'.repeat(i)}`);

test('nats keys: the same public keys and signatures as nkeys (tweetnacl), for every kind of key', () => {
  for (const [make, nacl] of [
    [createOperator, naclOperator],
    [createAccount, naclAccount],
    [createUser, naclUser],
  ] as const) {
    for (let i = 0; i < 20; i++) {
      const ours = make();
      const theirs = naclFromSeed(ours.getSeed());
      assert.equal(ours.getPublicKey(), theirs.getPublicKey());
      assert.deepEqual(ours.getPrivateKey(), theirs.getPrivateKey());
      assert.deepEqual(Buffer.from(ours.sign(msg(i))), Buffer.from(theirs.sign(msg(i))), 'Ed25519 is deterministic');
      assert.equal(ours.verify(msg(i), theirs.sign(msg(i))), true);
      assert.equal(ours.verify(msg(i + 1), theirs.sign(msg(i))), false);
      // And the other way: a seed made by nkeys reads the same through fromSeed.
      const seeded = nacl();
      assert.equal(fromSeed(seeded.getSeed()).getPublicKey(), seeded.getPublicKey());
    }
  }
  assert.equal(createUser().constructor.name, 'CryptoKeyPair', 'the runtime crypto is used on Node');
  assert.match(createUser().getPublicKey(), /^U[A-Z2-7]{55}$/);
  assert.match(createAccount().getPublicKey(), /^A[A-Z2-7]{55}$/);
  assert.match(createOperator().getPublicKey(), /^O[A-Z2-7]{55}$/);
});

test('nats keys: a user JWT signed with them verifies and names the right keys', async () => {
  const account = createAccount();
  const user = createUser();
  const jwt = await encodeUser('u1', user, account, { pub: { allow: ['a.>'] } });
  const claims = decode<{ pub: { allow: string[] } }>(jwt);
  assert.equal(claims.sub, user.getPublicKey());
  assert.equal(claims.iss, account.getPublicKey());
  // The signature over the JWT's first two parts, checked with nkeys' own code.
  const [head, body, sig] = jwt.split('.');
  const signed = new TextEncoder().encode(`${head}.${body}`);
  assert.equal(naclFromSeed(account.getSeed()).verify(signed, Buffer.from(sig!, 'base64url')), true);
});

test('nats keys: a bad seed is refused', () => {
  const seed = new TextDecoder().decode(createUser().getSeed());
  const broken = seed.slice(0, 10) + (seed[10] === 'A' ? 'B' : 'A') + seed.slice(11);
  assert.throws(() => fromSeed(new TextEncoder().encode(broken)));
});
