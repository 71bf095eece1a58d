import type { Argon2Offload } from '../auth/passwords';
import type { CreateLibsqlClient, WalCheckpointer } from '../../db/client';
import type { Ed25519Verifier } from '../auth/agent-auth';
import type { KeyFileStore } from '../boot';
import type { TlsSource } from '../config';
import type { Bindings } from '../http/types';

export type FetchHandler = (req: Request, env: Bindings) => Response | Promise<Response>;

export interface ServeOptions {
  port: number;
  host: string;
  tls?: { cert: string; key: string };
  ws: import('../ws/types').WsTransport;
}

export interface ServerHandle {
  /** The port actually bound (differs from the requested one when that was 0). */
  port: number;
  /**
   * Stop accepting, let in-flight requests finish (up to `graceMs`), then drop what is left. Keep-alive
   * connections end after their current request (the app answers `Connection: close` while shutting
   * down) and idle ones are closed. WebSocket sockets are left to the sessions' own drain.
   */
  close(graceMs: number): Promise<void>;
  /** After the sessions' drain: cut the WebSocket sockets still open. */
  dropWebSockets(): void;
}

/** Everything runtime-specific, behind one shape. Only src/runtime/* touches Deno/Bun/process globals. */
export interface RuntimeAdapter {
  name: 'node' | 'deno' | 'bun';
  env(): Record<string, string | undefined>;
  /** Command-line arguments after the script (`controller.mjs db copy …` → ['db', 'copy', …]). */
  args(): string[];
  serve(fetch: FetchHandler, opts: ServeOptions): Promise<ServerHandle>;
  onShutdownSignal(handler: (signal: string) => void): void;
  exit(code: number): never;
  createClient: CreateLibsqlClient;
  keyFiles: KeyFileStore;
  readTls(src: TlsSource): Promise<{ cert: string; key: string }>;
  stderr(line: string): void;
  stdout(line: string): void;
  /** A faster Ed25519 check for agent tokens than WebCrypto, where the runtime has one. */
  ed25519?: Ed25519Verifier;
  /** Checkpoints the embedded database's WAL on another thread. */
  walCheckpointer?: WalCheckpointer;
  /** Password hashing (Argon2id) on another thread. */
  argon2?: () => Argon2Offload | undefined;
}
