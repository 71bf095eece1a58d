import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argon2id } from '@noble/hashes/argon2.js';
import { Vault } from '../../src/crypto/vault';
import { hashPassword, passwordPolicyProblem, verifyPassword } from '../../src/auth/passwords';
import { generateTotp, newTotpSecret, verifyTotp } from '../../src/auth/totp';
import { base64url } from '../../src/lib/ids';

test('vault round-trips and binds ciphertext to its context', async () => {
  const vault = await Vault.fromBase64Key(Vault.generateKey());
  const sealed = await vault.encrypt('s3cret', 'row:1');
  assert.match(sealed, /^v1\.[\w-]+\.[\w-]+$/);
  assert.ok(!sealed.includes('s3cret'));
  assert.equal(await vault.decrypt(sealed, 'row:1'), 's3cret');
  await assert.rejects(vault.decrypt(sealed, 'row:2'));
  const other = await Vault.fromBase64Key(Vault.generateKey());
  await assert.rejects(other.decrypt(sealed, 'row:1'));
  assert.notEqual(await vault.encrypt('s3cret', 'row:1'), sealed, 'fresh IV per value');
});

test('argon2id hashes are PHC-encoded with the upstream parameters and verify', async () => {
  const h = await hashPassword('Correct-Horse-1');
  assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.equal(await verifyPassword('Correct-Horse-1', h), true);
  assert.equal(await verifyPassword('Correct-Horse-2', h), false);
  assert.equal(await verifyPassword('x', 'not-a-hash'), false);
});

test('verifies an Argon2 hash produced by another implementation with other parameters', async () => {
  const salt = new TextEncoder().encode('0123456789abcdef');
  const raw = argon2id('legacy-Passw0rd', salt, { t: 3, m: 4096, p: 1, dkLen: 32 });
  const b64 = (u: Uint8Array) => base64url(u).replace(/-/g, '+').replace(/_/g, '/');
  const phc = `$argon2id$v=19$m=4096,t=3,p=1$${b64(salt)}$${b64(raw)}`;
  assert.equal(await verifyPassword('legacy-Passw0rd', phc), true);
  assert.equal(await verifyPassword('legacy-Passw0rd!', phc), false);
});

test('password policy', () => {
  assert.match(passwordPolicyProblem('Short1a')!, /at least 12/);
  assert.match(passwordPolicyProblem('alllowercase123')!, /upper-case/);
  assert.match(passwordPolicyProblem('ALLUPPERCASE123')!, /lower-case/);
  assert.match(passwordPolicyProblem('NoDigitsAtAllHere')!, /digit/);
  assert.equal(passwordPolicyProblem('Good-Passw0rd-1'), undefined);
});

test('TOTP: RFC 6238 codes verify within ±1 step and not beyond', () => {
  const secret = newTotpSecret();
  const t = Date.UTC(2026, 0, 1, 12, 0, 0);
  const code = generateTotp(secret, t);
  assert.match(code, /^\d{6}$/);
  assert.equal(verifyTotp(secret, code, t), Math.floor(t / 30000));
  assert.notEqual(verifyTotp(secret, code, t + 30_000), undefined);
  assert.equal(verifyTotp(secret, code, t + 95_000), undefined);
  assert.equal(verifyTotp(secret, 'abcdef', t), undefined);
});

test('TOTP matches the RFC 6238 SHA-1 test vector', () => {
  // RFC 6238 appendix B: secret "12345678901234567890", T=59 s → 94287082 (8 digits) → last 6 = 287082.
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  assert.equal(generateTotp(secret, 59_000), '287082');
});
