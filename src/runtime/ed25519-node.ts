import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Ed25519Verifier } from '../auth/agent-auth';

/** An Ed25519 signature in base64url without padding: 64 bytes. */
const SIGNATURE_CHARS = 86;
/** Checks per message to the verification thread. */
const MAX_BATCH = 64;

/** A fog's public key: node:crypto's object, and the raw 32 bytes for libsodium. */
interface NodeKey {
  node: KeyObject;
  raw: Uint8Array;
}

interface Check {
  key: NodeKey;
  input: string;
  signature: string;
  resolve: (ok: boolean) => void;
}

/** The OpenSSL check as a libuv threadpool job (the callback form of crypto.verify): off the event loop. */
function opensslVerify(c: Check): void {
  const data = Buffer.from(c.input, 'latin1');
  const sig = Buffer.from(c.signature, 'base64url');
  verify(null, data, c.key.node, sig, (err, ok) => c.resolve(!err && ok));
}

// The verification thread: batches of [publicKey, signingInput, signature] → one byte per check.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodium);
parentPort.on('message', (batch) => {
  const out = new Uint8Array(batch.length / 3);
  for (let i = 0, j = 0; i < batch.length; i += 3, j++) {
    try {
      out[j] = sodium.crypto_sign_verify_detached(Buffer.from(batch[i + 2], 'base64url'), Buffer.from(batch[i + 1], 'latin1'), batch[i]) ? 1 : 0;
    } catch {
      out[j] = 0;
    }
  }
  parentPort.postMessage(out);
});
`;

/**
 * libsodium's Ed25519 verification (faster than OpenSSL's) on one dedicated thread. The
 * event loop queues checks and sends everything queued in one message per loop turn (at most
 * MAX_BATCH per message): under load that costs the event loop far less per check than a threadpool
 * job does, and about half the CPU. If the thread dies, its pending checks and
 * all later ones go to OpenSSL in the threadpool.
 */
export class SodiumThread {
  #worker?: Worker;
  #queue: Check[] = [];
  #inFlight: Check[][] = [];
  #scheduled = false;
  #failed = false;

  constructor(private readonly sodiumPath: string) {}

  check(c: Check): void {
    if (this.#failed) return opensslVerify(c);
    this.#queue.push(c);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#failed) return this.#drain(this.#queue.splice(0));
    const worker = this.#thread();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      const message: unknown[] = [];
      for (const c of batch) message.push(c.key.raw, c.input, c.signature);
      this.#inFlight.push(batch);
      worker.postMessage(message);
    }
    worker.ref();
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodium: this.sodiumPath } });
    worker.on('message', (out: Uint8Array) => {
      const batch = this.#inFlight.shift() ?? [];
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(out[i] === 1);
      if (this.#inFlight.length === 0) worker.unref();
    });
    const fail = () => {
      if (this.#failed) return;
      this.#failed = true;
      this.#worker = undefined;
      this.#drain(this.#inFlight.splice(0).flat());
      this.#drain(this.#queue.splice(0));
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #drain(checks: Check[]): void {
    for (const c of checks) opensslVerify(c);
  }
}

function loadSodiumThread(): SodiumThread | undefined {
  try {
    const require = createRequire(import.meta.url);
    const path = require.resolve('sodium-native');
    const sodium = require(path) as { crypto_sign_verify_detached?: unknown };
    return typeof sodium.crypto_sign_verify_detached === 'function' ? new SodiumThread(path) : undefined;
  } catch {
    return undefined;
  }
}

let sodiumThread: SodiumThread | undefined | null = null;

/** Which implementation checks agent signatures in this process (for the start-up log and tests). */
export function ed25519Backend(): 'libsodium-thread' | 'openssl-threadpool' {
  if (sodiumThread === null) sodiumThread = loadSodiumThread();
  return sodiumThread ? 'libsodium-thread' : 'openssl-threadpool';
}

/**
 * Agent-token signatures on Node (see Ed25519Verifier), never on the event loop: libsodium on a
 * verification thread when the sodium-native binding loads, else OpenSSL as threadpool jobs. In an
 * agent request the signature check was the largest single cost (a third of it with OpenSSL on the
 * loop). Anything unusual answers false, which sends the token through jose, so every rejection and
 * its error code still come from one place.
 */
export const nodeEd25519: Ed25519Verifier = {
  importPublicJwk: (jwk): NodeKey => {
    const node = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    return { node, raw: new Uint8Array(Buffer.from(String((jwk as { x?: unknown }).x ?? ''), 'base64url')) };
  },
  verify: (key, input, signature) => {
    if (signature.length !== SIGNATURE_CHARS) return false;
    const k = key as NodeKey;
    return new Promise<boolean>((resolve) => {
      const c: Check = { key: k, input, signature, resolve };
      if (sodiumThread === null) sodiumThread = loadSodiumThread();
      if (sodiumThread && k.raw.length === 32) sodiumThread.check(c);
      else opensslVerify(c);
    });
  },
  backend: ed25519Backend,
};
