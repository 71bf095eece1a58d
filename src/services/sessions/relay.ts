import type { Logger } from '../../lib/logger';
import { cjsModule } from '../../lib/interop';

/** One relayed frame: the MessagePack bytes unchanged, plus the message type and close-acknowledgement headers. */
export interface RelayMessage {
  data: Uint8Array;
  messageType?: number;
  closeAck?: boolean;
}

/**
 * How the halves of a session on different instances talk (see docs/sessions.md). Two implementations:
 * `LocalRelay` (one instance; the default) and `NatsRelay` (NATS Core over WebSocket). Connections are
 * lazy and never block start-up; `available` says whether cross-instance delivery works right now, so a
 * session that needs the other instance fails fast (1013) instead of hanging.
 */
export interface Relay {
  readonly kind: 'local' | 'nats';
  readonly available: boolean;
  /** Starts connecting in the background (idempotent). */
  start(): void;
  subscribe(subject: string, handler: (m: RelayMessage) => void): () => void;
  /** Publishes and flushes; rejects when the relay is down or the flush times out. */
  publish(subject: string, m: RelayMessage): Promise<void>;
  close(): Promise<void>;
}

export const relaySubject = {
  execAgent: (sessionId: string) => `controller.relay.v1.exec.${sessionId}.agent`,
  execUser: (sessionId: string) => `controller.relay.v1.exec.${sessionId}.user`,
  logUser: (sessionId: string) => `controller.relay.v1.log.${sessionId}.user`,
};

/** Single instance: nothing crosses, so a session whose halves land on different instances is refused. */
export class LocalRelay implements Relay {
  readonly kind = 'local' as const;
  readonly available = false;
  start(): void {}
  subscribe(): () => void {
    return () => {};
  }
  async publish(): Promise<void> {
    throw new Error('no relay configured (NATS_RELAY_URL)');
  }
  async close(): Promise<void> {}
}

type NatsCore = typeof import('@nats-io/nats-core');

const RECONNECT_WAIT_MS = 1000;
const RECONNECT_JITTER_MS = 500;
type NatsConnection = Awaited<ReturnType<NatsCore['wsconnect']>>;

/**
 * NATS Core over WebSocket (`@nats-io/nats-core` `wsconnect`): client name `controller-ws-relay`.
 * Given the listeners of several cluster nodes, the client picks one at random and, when it is lost,
 * reconnects to any of them forever, about a second apart with jitter (so the instances of a
 * deployment do not all land on the same node at the same moment); every subscription is re-bound
 * on the new connection by the client itself. Frames published while no connection is up are
 * refused (`publish` rejects, `available` is false), never queued for later.
 * Node 20 has no global WebSocket; `ws` is installed as one before connecting.
 */
export class NatsRelay implements Relay {
  readonly kind = 'nats' as const;
  #nc?: NatsConnection;
  #core?: NatsCore;
  #connected = false;
  #starting?: Promise<void>;
  #subs = new Map<string, { handler: (m: RelayMessage) => void; sub?: { unsubscribe(): void } }>();
  #closed = false;

  constructor(
    private readonly opts: {
      /** WebSocket listeners of one NATS server or of the nodes of a cluster. */
      servers: string[];
      creds?: () => Promise<Uint8Array | undefined>;
      publishTimeoutMs: number;
      onReconnect?: () => void;
    },
    private readonly logger: Logger,
  ) {}

  get available(): boolean {
    return this.#connected && !this.#closed;
  }

  start(): void {
    if (this.#starting || this.#closed) return;
    this.#starting = this.#connect().catch((err) => {
      this.logger.warn('session relay: cannot connect to NATS; retrying', { servers: this.opts.servers, err: String(err) });
      this.#starting = undefined;
      if (!this.#closed) setTimeout(() => this.start(), RECONNECT_WAIT_MS + Math.random() * RECONNECT_JITTER_MS).unref?.();
    });
  }

  async #connect(): Promise<void> {
    if (!(globalThis as { WebSocket?: unknown }).WebSocket) {
      const ws = await import('ws');
      (globalThis as { WebSocket?: unknown }).WebSocket = ws.WebSocket;
    }
    this.#core ??= cjsModule(await import('@nats-io/nats-core'), 'wsconnect');
    const core = this.#core;
    const creds = await this.opts.creds?.();
    const nc = await core.wsconnect({
      servers: this.opts.servers,
      name: 'controller-ws-relay',
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      reconnectJitter: RECONNECT_JITTER_MS,
      reconnectJitterTLS: RECONNECT_JITTER_MS,
      waitOnFirstConnect: false,
      ...(creds ? { authenticator: core.credsAuthenticator(creds) } : {}),
    });
    if (this.#closed) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    this.#connected = true;
    this.logger.info('session relay connected', { server: nc.getServer() });
    for (const [subject, entry] of this.#subs) entry.sub = this.#bind(subject, entry.handler);
    void (async () => {
      for await (const s of nc.status()) {
        // Logged because cross-instance sessions are refused while the relay is down: an operator reading
        // "Relay unavailable" on a session needs to find when and why in the log.
        if (s.type === 'disconnect') {
          this.#connected = false;
          this.logger.warn('session relay disconnected; reconnecting', { server: s.server });
        }
        if (s.type === 'reconnect') {
          this.#connected = true;
          this.logger.info('session relay reconnected', { server: nc.getServer() });
          this.opts.onReconnect?.();
        }
      }
    })().catch(() => {});
    void nc.closed().then(() => {
      this.#connected = false;
    });
  }

  #bind(subject: string, handler: (m: RelayMessage) => void) {
    return this.#nc!.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        const type = msg.headers?.get('messageType');
        handler({ data: msg.data, messageType: type ? Number(type) : undefined, closeAck: msg.headers?.get('closeAck') === 'true' });
      },
    });
  }

  subscribe(subject: string, handler: (m: RelayMessage) => void): () => void {
    const entry: { handler: typeof handler; sub?: { unsubscribe(): void } } = { handler };
    this.#subs.set(subject, entry);
    if (this.#nc && !this.#nc.isClosed()) entry.sub = this.#bind(subject, handler);
    return () => {
      entry.sub?.unsubscribe();
      if (this.#subs.get(subject) === entry) this.#subs.delete(subject);
    };
  }

  async publish(subject: string, m: RelayMessage): Promise<void> {
    const nc = this.#nc;
    if (!nc || !this.available) throw new Error('session relay unavailable');
    const h = this.#core!.headers();
    if (m.messageType !== undefined) h.set('messageType', String(m.messageType));
    if (m.closeAck) h.set('closeAck', 'true');
    nc.publish(subject, m.data, { headers: h });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      nc.flush(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('session relay: publish timed out')), this.opts.publishTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#connected = false;
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
