import { base64url, fromBase64 } from '../lib/ids';

/**
 * Encryption at rest for secrets and private keys: AES-256-GCM via Web Crypto, a fresh 96-bit IV per
 * value. Stored form: `v1.<iv>.<ciphertext+tag>` (base64url). `aad` binds a ciphertext to its use
 * (e.g. the row it belongs to) so values cannot be swapped between rows.
 */
export class Vault {
  private constructor(
    private readonly key: CryptoKey,
    private readonly macKey: CryptoKey,
  ) {}

  static async fromBase64Key(keyB64: string): Promise<Vault> {
    const raw = fromBase64(keyB64.trim());
    if (raw.length !== 32) throw new Error('ENCRYPTION_KEY must decode to exactly 32 bytes');
    const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    // A separate key for MACs, derived with HKDF so the AES key is never used for two purposes.
    const ikm = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey']);
    const macKey = await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: new TextEncoder().encode('controller-mac-v1') },
      ikm,
      { name: 'HMAC', hash: 'SHA-256', length: 256 },
      false,
      ['sign'],
    );
    return new Vault(key, macKey);
  }

  /** Keyed fingerprint (HMAC-SHA-256, hex): comparable without storing the input. */
  async mac(data: string, purpose: string): Promise<string> {
    const sig = await crypto.subtle.sign('HMAC', this.macKey, new TextEncoder().encode(`${purpose}\n${data}`));
    return [...new Uint8Array(sig)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }

  static generateKey(): string {
    return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
  }

  async encrypt(plaintext: string, aad = ''): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(aad) },
      this.key,
      new TextEncoder().encode(plaintext),
    );
    return `v1.${base64url(iv)}.${base64url(new Uint8Array(ct))}`;
  }

  async decrypt(stored: string, aad = ''): Promise<string> {
    const [version, iv, ct] = stored.split('.');
    if (version !== 'v1' || !iv || !ct) throw new Error('unrecognised ciphertext format');
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64(iv), additionalData: new TextEncoder().encode(aad) },
      this.key,
      fromBase64(ct),
    );
    return new TextDecoder().decode(pt);
  }
}
