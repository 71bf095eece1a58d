import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Argon2Offload } from '../auth/passwords';

/**
 * Argon2id on a thread of its own (Node, Deno and Bun). One hash or check costs 60–70 ms of CPU
 * (19 MiB, 2 passes, by design); on the event loop every login held every agent request for that long.
 * The thread starts with the first password operation (a restart with unchanged bootstrap credentials
 * never hashes) and does not keep the process alive when idle. If it fails, password operations run on
 * the event loop again (passwords.ts), as before.
 */

// Requests: {id, op: 'hash', password, salt, params} | {id, op: 'verify', password, hash} →
// {id, value} or {id, error}.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const wasm = require(workerData.hashWasm);
parentPort.on('message', async (m) => {
  try {
    const value = m.op === 'hash'
      ? await wasm.argon2id({ password: m.password, salt: m.salt, parallelism: m.params.parallelism, iterations: m.params.iterations, memorySize: m.params.memoryKiB, hashLength: m.params.hashLength, outputType: 'encoded' })
      : await wasm.argon2Verify({ password: m.password, hash: m.hash });
    parentPort.postMessage({ id: m.id, value });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});
`;

interface Pending {
  resolve: (value: string | boolean) => void;
  reject: (err: Error) => void;
}

class Argon2Thread implements Argon2Offload {
  #worker?: Worker;
  #pending = new Map<number, Pending>();
  #next = 1;
  #failed = false;

  constructor(private readonly hashWasmPath: string) {}

  get usable(): boolean {
    return !this.#failed;
  }

  hash(password: string, salt: Uint8Array, params: Record<string, number>): Promise<string> {
    return this.#ask({ op: 'hash', password, salt, params }) as Promise<string>;
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.#ask({ op: 'verify', password, hash }) as Promise<boolean>;
  }

  #ask(message: Record<string, unknown>): Promise<string | boolean> {
    const worker = this.#thread();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...message });
      worker.ref();
    });
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { hashWasm: this.hashWasmPath } });
    worker.on('message', (m: { id: number; value?: string | boolean; error?: string }) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) worker.unref();
      if (!p) return;
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.value!);
    });
    const fail = (err?: unknown) => {
      if (this.#failed) return;
      this.#failed = true;
      this.#worker = undefined;
      for (const p of this.#pending.values()) p.reject(new Error(`the password thread stopped: ${String(err ?? 'exit')}`));
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail());
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}

/** The thread, or undefined where hash-wasm cannot be resolved as a file (then the loop does the work). */
export function argon2Thread(): Argon2Offload | undefined {
  try {
    return new Argon2Thread(createRequire(import.meta.url).resolve('hash-wasm'));
  } catch {
    return undefined;
  }
}
