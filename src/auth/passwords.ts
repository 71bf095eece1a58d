import { base64url, fromBase64 } from '../lib/ids';
import { cjsModule } from '../lib/interop';

// Both implementations are loaded on first use (a login, a password change), not at start: the server
// bundle puts them in chunks of their own, and a restart with unchanged bootstrap credentials never hashes.
const wasm = async () => cjsModule(await import('hash-wasm'), 'argon2id');
const noble = async () => cjsModule(await import('@noble/hashes/argon2.js'), 'argon2idAsync');

/**
 * Argon2id (memory-hard), the upstream parameters: 19 MiB, 2 passes, 1 lane; PHC-encoded output.
 * hash-wasm (WebAssembly) does the work on Node, Deno and Bun. Where a host forbids compiling
 * WebAssembly at run time (Cloudflare Workers), @noble/hashes computes the same function in JS.
 */
export const ARGON2_PARAMS = { memoryKiB: 19456, iterations: 2, parallelism: 1, hashLength: 32 } as const;

let wasmUsable: boolean | undefined;

/** Argon2 off the event loop: a thread on Node and Deno (src/runtime/argon2-thread.ts). */
export interface Argon2Offload {
  /** False once the thread has failed: the work is done on the event loop again. */
  readonly usable: boolean;
  hash(password: string, salt: Uint8Array, params: typeof ARGON2_PARAMS): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

let offload: Argon2Offload | undefined;

/** Set by the server at start where the runtime has threads; without it the event loop hashes (Workers, tests). */
export function offloadArgon2(o: Argon2Offload | undefined): void {
  offload = o;
}

function toStdB64(bytes: Uint8Array): string {
  return base64url(bytes).replace(/-/g, '+').replace(/_/g, '/');
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  if (offload?.usable) {
    try {
      return await offload.hash(password, salt, ARGON2_PARAMS);
    } catch (err) {
      if (offload.usable) throw err;
    }
  }
  if (wasmUsable !== false) {
    try {
      const encoded = await (await wasm()).argon2id({
        password,
        salt,
        parallelism: ARGON2_PARAMS.parallelism,
        iterations: ARGON2_PARAMS.iterations,
        memorySize: ARGON2_PARAMS.memoryKiB,
        hashLength: ARGON2_PARAMS.hashLength,
        outputType: 'encoded',
      });
      wasmUsable = true;
      return encoded;
    } catch (err) {
      if (wasmUsable === true) throw err;
      wasmUsable = false;
    }
  }
  const hash = await (await noble()).argon2idAsync(password, salt, {
    t: ARGON2_PARAMS.iterations,
    m: ARGON2_PARAMS.memoryKiB,
    p: ARGON2_PARAMS.parallelism,
    dkLen: ARGON2_PARAMS.hashLength,
  });
  return `$argon2id$v=19$m=${ARGON2_PARAMS.memoryKiB},t=${ARGON2_PARAMS.iterations},p=${ARGON2_PARAMS.parallelism}$${toStdB64(salt).replace(/=+$/, '')}$${toStdB64(hash).replace(/=+$/, '')}`;
}

const PHC = /^\$(argon2id|argon2i|argon2d)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Verifies any PHC-encoded Argon2 hash (id, i or d variants, any parameters). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const m = PHC.exec(encoded);
  if (!m) return false;
  if (offload?.usable) {
    try {
      return await offload.verify(password, encoded);
    } catch {
      if (offload.usable) return false;
    }
  }
  if (wasmUsable !== false) {
    try {
      const ok = await (await wasm()).argon2Verify({ password, hash: encoded });
      wasmUsable = true;
      return ok;
    } catch (_err) {
      if (wasmUsable === true) return false;
      wasmUsable = false;
    }
  }
  const [, variant, version, mem, iters, par, salt, hash] = m;
  const expected = fromBase64(hash!);
  const argon2 = await noble();
  const fn = variant === 'argon2id' ? argon2.argon2idAsync : variant === 'argon2i' ? argon2.argon2iAsync : argon2.argon2dAsync;
  const got = await fn(password, fromBase64(salt!), {
    t: Number(iters),
    m: Number(mem),
    p: Number(par),
    dkLen: expected.length,
    version: Number(version),
  });
  return constantTimeEqual(got, expected);
}

/** Password policy: at least 12 characters with an upper-case letter, a lower-case letter and a digit. */
export { passwordPolicyProblem } from './password-policy';
