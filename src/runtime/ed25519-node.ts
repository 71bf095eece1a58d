import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Ed25519Verifier } from '../auth/agent-auth';

/** An Ed25519 signature in base64url without padding: 64 bytes. */
const SIGNATURE_CHARS = 86;

/**
 * Agent-token signatures through node:crypto: one synchronous OpenSSL call instead of a WebCrypto
 * job (see Ed25519Verifier). Anything unusual returns false, which sends the token through jose.
 */
export const nodeEd25519: Ed25519Verifier = {
  importPublicJwk: (jwk) => createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
  verify: (key, signingInput, signature) =>
    signature.length === SIGNATURE_CHARS && verify(null, Buffer.from(signingInput, 'latin1'), key as KeyObject, Buffer.from(signature, 'base64url')),
};
