import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Ed25519Verifier } from '../auth/agent-auth';

/** An Ed25519 signature in base64url without padding: 64 bytes. */
const SIGNATURE_CHARS = 86;

/**
 * Agent-token signatures through node:crypto (see Ed25519Verifier). The check runs as a libuv
 * threadpool job (the callback form of crypto.verify): an Ed25519 verification costs ~145 µs of
 * OpenSSL on this class of CPU, a third of an agent request, and on the event loop it serialises
 * with everything else; as a job it runs on another core and the loop only pays ~15 µs to queue it.
 * A WebCrypto job would do the same but costs more around the call. Anything unusual answers false,
 * which sends the token through jose.
 */
export const nodeEd25519: Ed25519Verifier = {
  importPublicJwk: (jwk) => createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
  verify: (key, signingInput, signature) => {
    if (signature.length !== SIGNATURE_CHARS) return false;
    const data = Buffer.from(signingInput, 'latin1');
    const sig = Buffer.from(signature, 'base64url');
    return new Promise<boolean>((resolve) => verify(null, data, key as KeyObject, sig, (err, ok) => resolve(!err && ok)));
  },
};
