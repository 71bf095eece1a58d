import { Secret, TOTP } from 'otpauth';

/** RFC 6238 TOTP: SHA-1, 6 digits, 30 s step, ±1 step of drift accepted. */
const PERIOD = 30;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, label: string): TOTP {
  return new TOTP({ issuer: 'Controller', label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secretBase32) });
}

export function otpauthUrl(secretBase32: string, label: string): string {
  return totp(secretBase32, label).toString();
}

/**
 * Returns the time step the code belongs to, or undefined when it is not valid now.
 * Callers store the last accepted step so a code cannot be replayed inside its window.
 */
export function verifyTotp(secretBase32: string, code: string, nowMs: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totp(secretBase32, 'x').validate({ token: code, timestamp: nowMs, window: 1 });
  if (delta === null) return undefined;
  return Math.floor(nowMs / 1000 / PERIOD) + delta;
}

export function generateTotp(secretBase32: string, nowMs: number): string {
  return totp(secretBase32, 'x').generate({ timestamp: nowMs });
}
