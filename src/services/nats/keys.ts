import { Buffer } from 'node:buffer';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import {
  createAccount as naclAccount,
  createOperator as naclOperator,
  createUser as naclUser,
  fromSeed as naclFromSeed,
  type KeyPair,
} from '@nats-io/jwt';
import { base32NoPad, fromBase32NoPad } from '../../lib/base32';

/**
 * NATS key pairs (nkeys) whose Ed25519 work is done by the runtime's crypto (OpenSSL on Node) instead of
 * nkeys' pure-JavaScript tweetnacl. There, every `getPublicKey()` and every `sign()` derives the key from
 * the seed anew: ~7 ms of event loop each, ~47 ms to create and sign one user JWT, and the operator's
 * first setup held the loop for ~240 ms. Same keys, same encoding and — Ed25519 being deterministic — the
 * same signatures (tests/unit/nats-keys.test.ts). Where the runtime's crypto cannot do Ed25519 from a raw
 * seed (checked once against tweetnacl), the nkeys pairs are used as they are.
 */

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** CRC-16/XMODEM, as nkeys appends it (little-endian). */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** An encoded seed (`SU…`, `SA…`, `SO…`) → the public key's prefix byte and the 32-byte raw seed. */
function decodeSeed(seed: Uint8Array): { prefix: number; raw: Uint8Array } {
  const bytes = fromBase32NoPad(new TextDecoder().decode(seed));
  const body = bytes.subarray(0, bytes.length - 2);
  const crc = bytes[bytes.length - 2]! | (bytes[bytes.length - 1]! << 8);
  if (body.length !== 34 || crc16(body) !== crc) throw new Error('nkeys: bad seed');
  // Two bytes of 5-bit prefixes: the seed marker, then the key type (operator, account, user…).
  const prefix = ((body[0]! & 7) << 5) | ((body[1]! & 248) >> 3);
  return { prefix, raw: body.subarray(2) };
}

/** The nkeys prefix byte of a private key (`P…`: the seed and the public key, 64 bytes). */
const PRIVATE_PREFIX = 15 << 3;

/** `prefix byte + key + CRC-16` in base32, as nkeys writes public and private keys. */
function encodeKey(prefix: number, raw: Uint8Array): string {
  const body = new Uint8Array(1 + raw.length);
  body[0] = prefix;
  body.set(raw, 1);
  const crc = crc16(body);
  const full = new Uint8Array(body.length + 2);
  full.set(body);
  full[body.length] = crc & 255;
  full[body.length + 1] = crc >> 8;
  return base32NoPad(full);
}

class CryptoKeyPair implements KeyPair {
  readonly #pair: KeyPair;
  readonly #key: KeyObject;
  readonly #public: KeyObject;
  readonly #publicText: string;
  readonly #secret: Uint8Array;

  constructor(pair: KeyPair) {
    const { prefix, raw } = decodeSeed(pair.getSeed());
    this.#pair = pair;
    this.#key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
    this.#public = createPublicKey(this.#key);
    const publicRaw = Buffer.from((this.#public.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
    this.#publicText = encodeKey(prefix, publicRaw);
    this.#secret = Buffer.concat([raw, publicRaw]);
  }
  getPublicKey(): string {
    return this.#publicText;
  }
  getPrivateKey(): Uint8Array {
    return new TextEncoder().encode(encodeKey(PRIVATE_PREFIX, this.#secret));
  }
  getSeed(): Uint8Array {
    return this.#pair.getSeed();
  }
  sign(input: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, input, this.#key));
  }
  verify(input: Uint8Array, sig: Uint8Array): boolean {
    return verify(null, input, this.#public, sig);
  }
  clear(): void {
    this.#pair.clear();
    this.#secret.fill(0);
  }
  seal(input: Uint8Array, recipient: string, nonce?: Uint8Array): Uint8Array {
    return this.#pair.seal(input, recipient, nonce);
  }
  open(message: Uint8Array, sender: string): Uint8Array | null {
    return this.#pair.open(message, sender);
  }
}

let usable: boolean | undefined;

/** True once a probe pair answered exactly as tweetnacl does (public key and signature). */
function cryptoUsable(): boolean {
  if (usable !== undefined) return usable;
  try {
    const nacl = naclUser();
    const fast = new CryptoKeyPair(nacl);
    const msg = new TextEncoder().encode('nkeys probe');
    usable =
      fast.getPublicKey() === nacl.getPublicKey() &&
      Buffer.from(fast.sign(msg)).equals(Buffer.from(nacl.sign(msg))) &&
      fast.verify(msg, nacl.sign(msg));
  } catch {
    usable = false;
  }
  return usable;
}

const fast = (pair: KeyPair): KeyPair => (cryptoUsable() ? new CryptoKeyPair(pair) : pair);

export const createOperator = (): KeyPair => fast(naclOperator());
export const createAccount = (): KeyPair => fast(naclAccount());
export const createUser = (): KeyPair => fast(naclUser());
export const fromSeed = (seed: Uint8Array): KeyPair => fast(naclFromSeed(seed));
