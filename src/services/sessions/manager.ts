import { and, count, eq, inArray } from 'drizzle-orm';
import { wsSession } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { errorFields } from '../../lib/logger';
import { raiseFlags } from '../changes/flags';
import { SessionAuditWriter } from './audit-writer';
import { FrameType, Texts, bytes, decodeFrame, encodeFrame, type Frame } from './frames';
import { reconcileSessionRows } from './listing';
import { relaySubject, type Relay, type RelayMessage } from './relay';
import { CloseCode, flagOf, type Half, type Session, type SessionKind, type SessionTarget, type TailConfig } from './session';
import { UpgradeGate } from './upgrade-gate';

const QUEUE_MAX_FRAMES = 1000;
const QUEUE_MAX_BYTES = 1_048_576;
const LOG_BACKPRESSURE_BYTES = 256 * 1024;

/**
 * Exec and log sessions: pairs a user socket with the agent socket of the fog that
 * runs the target, on this instance or — through the relay — across instances. The `ws_session` row is
 * the single source of truth for quotas and the agent's listings; this class keeps the sockets.
 * Every teardown path (close frames, socket closes, timers, drain, relay) funnels into `end()`, which
 * runs once per session and deletes the row in its own transaction.
 */
export class SessionManager {
  readonly sessions = new Map<string, Session>();
  draining = false;
  #sweeper?: ReturnType<typeof setInterval>;
  /** Admission of upgrades (rates and open-socket caps), asked before a socket reaches a session. */
  readonly gate: UpgradeGate;
  /** WS_CONNECT / WS_DISCONNECT events of the session sockets, written in batches. */
  readonly audit: SessionAuditWriter;

  constructor(
    private readonly ctx: AppCtx,
    readonly relay: Relay,
  ) {
    this.gate = new UpgradeGate(ctx, () => this.draining);
    this.audit = new SessionAuditWriter(ctx);
  }

  get config() {
    return this.ctx.config.ws;
  }

  start(): void {
    if (this.#sweeper) return;
    this.relay.start();
    this.#sweeper = setInterval(() => this.sweep(), this.config.cleanupIntervalMs);
    (this.#sweeper as { unref?: () => void }).unref?.();
  }

  // ---- user half ----

  /**
   * Steps 3–6 of the pairing flows: quota (counted from rows, so it holds across instances), the row
   * and the agent's change flag in one transaction, then the announcement and the pending timer.
   * Returns undefined when the socket was refused (it is closed with the reason).
   */
  async openUser(
    spec: { kind: SessionKind; target: SessionTarget; msUuid: string | null; fogUuid: string; tail?: TailConfig },
    user: Half,
  ): Promise<Session | undefined> {
    const { ctx } = this;
    const limit = spec.kind === 'exec' ? this.config.execMaxPerResource : this.config.logMaxPerResource;
    const sessionId = ctx.ids.uuid();
    const now = ctx.clock.now();
    const created = await withTransaction(ctx, async (tx) => {
      const scope =
        spec.target === 'fog'
          ? and(eq(wsSession.kind, spec.kind), eq(wsSession.target, 'fog'), eq(wsSession.fogUuid, spec.fogUuid))
          : and(eq(wsSession.kind, spec.kind), eq(wsSession.microserviceUuid, spec.msUuid!));
      const [row] = await tx.db.select({ n: count() }).from(wsSession).where(scope);
      if ((row?.n ?? 0) >= limit) return false;
      await tx.db.insert(wsSession).values({
        sessionId,
        kind: spec.kind,
        target: spec.target,
        microserviceUuid: spec.msUuid,
        fogUuid: spec.fogUuid,
        status: 'PENDING',
        userConnected: true,
        agentConnected: false,
        tailConfig: spec.tail ? JSON.stringify(spec.tail) : null,
        userInstance: ctx.instanceId,
        actor: user.actor,
        createdAt: now,
        updatedAt: now,
      });
      await raiseFlags(tx, [spec.fogUuid], [flagOf(spec.kind, spec.target)]);
      return true;
    });
    if (!created) {
      user.peer.close(
        CloseCode.POLICY,
        spec.kind === 'exec'
          ? `Maximum of ${limit} concurrent exec sessions allowed for this microservice.`
          : `Maximum of ${limit} concurrent log sessions allowed for this resource.`,
      );
      return undefined;
    }
    const s: Session = {
      id: sessionId,
      ...spec,
      user,
      remoteAgent: false,
      remoteUser: false,
      createdAt: now,
      lastActivity: now,
      pending: true,
      queue: [],
      queueBytes: 0,
      droppingLogs: false,
      ended: false,
      unsubs: [],
    };
    this.sessions.set(sessionId, s);
    (spec.kind === 'exec' ? ctx.metrics.ws.execActive : ctx.metrics.ws.logActive).add(1);
    ctx.metrics.ws.pending.add(1);
    if (this.relay.kind !== 'local') {
      // Subscribed right after the commit, before the agent can possibly attach on another instance and answer.
      const subject = spec.kind === 'exec' ? relaySubject.execUser(sessionId) : relaySubject.logUser(sessionId);
      s.unsubs.push(this.relay.subscribe(subject, (m) => this.#fromRelayToUser(s, m)));
    }
    if (spec.kind === 'exec') {
      this.#toUser(s, this.#execFrame(s, FrameType.ACTIVATION, bytes(JSON.stringify({ sessionId, microserviceUuid: spec.msUuid }))));
      this.#toUser(s, this.#execFrame(s, FrameType.STDERR, bytes(Texts.execWaiting)));
    } else {
      this.#toUser(s, this.#logFrame(s, FrameType.LOG_START, bytes(JSON.stringify({ sessionId, tailConfig: spec.tail }))));
      this.#toUser(s, this.#logFrame(s, FrameType.LOG_LINE, bytes(Texts.logWaiting)));
    }
    const pendingMs = spec.kind === 'exec' ? this.config.execPendingMs : this.config.logPendingMs;
    s.pendingTimer = setTimeout(() => {
      if (!s.pending || s.ended) return;
      const frame =
        spec.kind === 'exec'
          ? this.#execFrame(s, FrameType.STDERR, bytes(Texts.timeout))
          : this.#logFrame(s, FrameType.LOG_LINE, bytes(Texts.timeout));
      this.#toUser(s, frame);
      void this.end(s, { user: [CloseCode.POLICY, 'Timeout waiting for agent connection'] });
    }, pendingMs);
    return s;
  }

  /** A message on the user socket (exec: STDIN/CONTROL/CLOSE; logs are read-only). */
  userMessage(s: Session, raw: Uint8Array | string): void {
    if (s.ended) return;
    s.lastActivity = this.ctx.clock.now();
    if (s.kind === 'log') return;
    let frame: Frame | undefined;
    if (typeof raw === 'string') frame = { type: FrameType.STDIN, data: bytes(`${raw}\n`) };
    else frame = decodeFrame(raw);
    if (!frame) {
      void this.end(s, { user: [CloseCode.POLICY, 'Message encoding failed'] });
      return;
    }
    if (frame.type === FrameType.CONTROL && frame.data && new TextDecoder().decode(frame.data) === 'keepalive') {
      this.#toUser(s, this.#execFrame(s, FrameType.CONTROL, bytes('keepalive')));
      return;
    }
    // Forwarded as received when complete; otherwise the missing keys are filled in (the agent needs them to route the frame) and
    // `execId` is always the session id on frames to the agent.
    const complete =
      typeof raw !== 'string' &&
      frame.execId === s.id &&
      frame.sessionId === s.id &&
      frame.microserviceUuid != null &&
      frame.timestamp != null;
    const out = complete
      ? (raw as Uint8Array)
      : encodeFrame({
          ...frame,
          microserviceUuid: frame.microserviceUuid ?? s.msUuid,
          execId: s.id,
          sessionId: s.id,
          timestamp: frame.timestamp ?? this.ctx.clock.now(),
        });
    if (frame.type === FrameType.CLOSE) {
      this.#toAgent(s, out, FrameType.CLOSE);
      if (s.remoteAgent && !s.agent) {
        // Across instances: wait for the agent side's acknowledgement, so its last output still reaches the user,
        // at most WS_CLOSE_RESPONSE_TIMEOUT.
        s.closeWait ??= setTimeout(
          () => void this.end(s, { user: [CloseCode.NORMAL, 'Session closed (timeout)'] }),
          this.config.closeResponseTimeoutMs,
        );
        return;
      }
      void this.end(s, { user: [CloseCode.NORMAL, 'Session closed'], agent: [CloseCode.NORMAL, 'Session closed'], skipAgentClose: true });
      return;
    }
    if (s.agent || s.remoteAgent) this.#toAgent(s, out, frame.type);
    else if (s.queue.length < QUEUE_MAX_FRAMES && s.queueBytes + out.length <= QUEUE_MAX_BYTES) {
      s.queue.push(out);
      s.queueBytes += out.length;
    }
  }

  userClosed(s: Session): void {
    void this.end(s, { agent: [CloseCode.NORMAL, 'User closed connection'] });
  }

  // ---- agent half ----

  #attachQueue = new Set<string>();
  #attachTimer?: ReturnType<typeof setTimeout>;

  /** Rows of locally paired sessions become ACTIVE in one transaction per 50 ms (group commit). */
  #markAttached(sessionId: string): void {
    this.#attachQueue.add(sessionId);
    this.#attachTimer ??= setTimeout(() => void this.flushAttached(), 50);
  }

  async flushAttached(): Promise<void> {
    clearTimeout(this.#attachTimer);
    this.#attachTimer = undefined;
    const ids = [...this.#attachQueue];
    this.#attachQueue.clear();
    if (ids.length === 0) return;
    const { ctx } = this;
    await withTransaction(ctx, (tx) =>
      tx.db
        .update(wsSession)
        .set({ agentConnected: true, status: 'ACTIVE', agentInstance: ctx.instanceId, updatedAt: ctx.clock.now() })
        .where(inArray(wsSession.sessionId, ids)),
    ).catch((err) => ctx.logger.warn('session rows not marked ACTIVE', { sessions: ids.length, ...errorFields(err) }));
  }

  /**
   * Step 8–10: the agent socket of a listed session. Pairs locally when the user is on this instance;
   * otherwise through the relay, which must be up (else 1013 — the agent retries). Returns the session
   * the socket belongs to, or undefined when it was refused.
   */
  async attachAgent(
    row: {
      sessionId: string;
      kind: SessionKind;
      target: SessionTarget;
      microserviceUuid: string | null;
      fogUuid: string;
      tailConfig: string | null;
      createdAt: number;
    },
    agent: Half,
  ): Promise<Session | undefined> {
    const { ctx } = this;
    let s = this.sessions.get(row.sessionId);
    if (s?.agent) {
      // A reconnecting agent replaces its old socket.
      const old = s.agent;
      s.agent = undefined;
      old.peer.close(CloseCode.NORMAL, 'Replaced by a new agent connection');
    }
    if (!s && !this.relay.available) {
      agent.peer.close(CloseCode.TRY_AGAIN, 'Relay unavailable for cross-replica session');
      return undefined;
    }
    if (s && !s.ended) {
      // The user half is here: pair at once; the row learns about the agent in the next batch.
      this.#markAttached(row.sessionId);
      if (!agent.peer.isOpen) return undefined;
    } else {
      // Across instances the row must say ACTIVE before the other side is told.
      const marked = await withTransaction(ctx, async (tx) => {
        const r = await tx.db
          .update(wsSession)
          .set({ agentConnected: true, status: 'ACTIVE', agentInstance: ctx.instanceId, updatedAt: ctx.clock.now() })
          .where(eq(wsSession.sessionId, row.sessionId));
        return r.rowsAffected > 0;
      });
      if (!marked || !agent.peer.isOpen) {
        agent.peer.close(CloseCode.POLICY, 'Session not found');
        return undefined;
      }
    }
    if (!s || s.ended) {
      s = {
        id: row.sessionId,
        kind: row.kind,
        target: row.target,
        msUuid: row.microserviceUuid,
        fogUuid: row.fogUuid,
        tail: row.tailConfig ? (JSON.parse(row.tailConfig) as TailConfig) : undefined,
        remoteAgent: false,
        remoteUser: true,
        createdAt: row.createdAt,
        lastActivity: ctx.clock.now(),
        pending: false,
        queue: [],
        queueBytes: 0,
        droppingLogs: false,
        ended: false,
        unsubs: [],
      };
      this.sessions.set(s.id, s);
      const session = s;
      if (s.kind === 'exec') s.unsubs.push(this.relay.subscribe(relaySubject.execAgent(s.id), (m) => this.#fromRelayToAgent(session, m)));
    }
    s.agent = agent;
    s.lastActivity = ctx.clock.now();
    if (s.pending) {
      s.pending = false;
      clearTimeout(s.pendingTimer);
      ctx.metrics.ws.pending.add(-1);
      ctx.metrics.ws.pairingMs.record(ctx.clock.now() - s.createdAt, { kind: s.kind });
    }
    if (s.kind === 'exec') {
      this.#toUser(s, this.#execFrame(s, FrameType.STDERR, bytes(Texts.execReady)));
      agent.peer.send(
        this.#execFrame(
          s,
          FrameType.ACTIVATION,
          bytes(JSON.stringify({ sessionId: s.id, execId: s.id, microserviceUuid: s.msUuid, timestamp: ctx.clock.now() })),
        ),
      );
      for (const f of s.queue) agent.peer.send(f);
      s.queue = [];
      s.queueBytes = 0;
    } else {
      agent.peer.send(this.#logFrame(s, FrameType.LOG_START, bytes(JSON.stringify({ sessionId: s.id, tailConfig: s.tail }))));
      this.#toUser(s, this.#logFrame(s, FrameType.LOG_LINE, bytes(Texts.logReady)));
    }
    return s;
  }

  agentMessage(s: Session, raw: Uint8Array | string): void {
    if (s.ended || typeof raw === 'string') return; // the agent speaks binary MessagePack only; text frames carry nothing to forward
    s.lastActivity = this.ctx.clock.now();
    if (s.kind === 'log') {
      const type = peekType(raw);
      if (type === undefined) return;
      if (type === FrameType.LOG_LINE || type === FrameType.LOG_START || type === FrameType.LOG_STOP || type === FrameType.LOG_ERROR)
        this.#toUser(s, raw, type);
      return;
    }
    const frame = decodeFrame(raw);
    if (!frame) return;
    if (frame.type === FrameType.CLOSE) {
      void this.end(s, { user: [CloseCode.NORMAL, 'Agent closed connection'], userCloseFrame: raw, skipAgentClose: true });
      return;
    }
    if (frame.type === FrameType.CONTROL) return this.#toUser(s, raw, frame.type);
    if ((frame.type === FrameType.STDOUT || frame.type === FrameType.STDERR) && frame.data && frame.data.length > 0) {
      this.#toUser(s, this.#execFrame(s, frame.type, frame.data, frame.timestamp));
    }
  }

  agentClosed(s: Session, agent: Half): void {
    if (s.agent !== agent) return; // replaced by a reconnect
    void this.end(s, { user: [CloseCode.NORMAL, 'Agent closed connection'] });
  }

  // ---- teardown ----

  /**
   * The one teardown (idempotent per session): CLOSE to a local agent, local sockets closed with the
   * given codes, the other instance told through the relay, the row deleted and the agent's flag set
   * in a fresh transaction. Never throws.
   */
  async end(
    s: Session,
    how: {
      user?: [number, string];
      agent?: [number, string];
      skipAgentClose?: boolean;
      userCloseFrame?: Uint8Array;
      fromRelay?: boolean;
    } = {},
  ): Promise<void> {
    if (s.ended) return;
    s.ended = true;
    const { ctx } = this;
    clearTimeout(s.pendingTimer);
    clearTimeout(s.closeWait);
    if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
    if (s.pending) ctx.metrics.ws.pending.add(-1);
    if (s.user) (s.kind === 'exec' ? ctx.metrics.ws.execActive : ctx.metrics.ws.logActive).add(-1);
    const closeFrame = s.kind === 'exec' ? this.#execFrame(s, FrameType.CLOSE, bytes('Session closed')) : undefined;
    // Tell the other instance first, while the subscriptions still exist.
    if (!how.fromRelay && this.relay.available) {
      if (s.remoteUser && s.user === undefined) {
        const subject = s.kind === 'exec' ? relaySubject.execUser(s.id) : relaySubject.logUser(s.id);
        const frame = s.kind === 'exec' ? closeFrame! : this.#logFrame(s, FrameType.LOG_STOP, bytes('Session closed'));
        await this.relay
          .publish(subject, { data: frame, messageType: s.kind === 'exec' ? FrameType.CLOSE : FrameType.LOG_STOP })
          .catch(() => ctx.metrics.ws.relayErrors.add(1));
      } else if (s.remoteAgent && !s.agent && s.kind === 'exec') {
        await this.relay
          .publish(relaySubject.execAgent(s.id), { data: closeFrame!, messageType: FrameType.CLOSE })
          .catch(() => ctx.metrics.ws.relayErrors.add(1));
      }
    }
    for (const u of s.unsubs) u();
    s.unsubs = [];
    if (s.agent) {
      if (closeFrame && !how.skipAgentClose) s.agent.peer.send(closeFrame);
      const [code, reason] = how.agent ?? [CloseCode.NORMAL, 'Session closed'];
      s.agent.peer.close(code, reason);
    }
    if (s.user) {
      if (how.userCloseFrame) s.user.peer.send(how.userCloseFrame);
      const [code, reason] = how.user ?? [CloseCode.NORMAL, 'Session closed'];
      s.user.peer.close(code, reason);
    }
    try {
      await withTransaction(ctx, async (tx) => {
        const r = await tx.db.delete(wsSession).where(eq(wsSession.sessionId, s.id));
        if (r.rowsAffected > 0) await raiseFlags(tx, [s.fogUuid], [flagOf(s.kind, s.target)]);
      });
    } catch (err) {
      // The reconcile job deletes rows whose session is gone.
      ctx.logger.warn('session row cleanup failed', { sessionId: s.id, ...errorFields(err) });
    }
  }

  /** Expiry of the sessions held here (each instance sweeps its own): exec max duration, log idle limit. */
  sweep(): void {
    const now = this.ctx.clock.now();
    for (const s of [...this.sessions.values()]) {
      if (s.pending) continue;
      if (s.kind === 'exec' && now - s.lastActivity > this.config.execMaxDurationMs) {
        void this.end(s, {
          user: [CloseCode.POLICY, 'Exec session max duration exceeded'],
          agent: [CloseCode.NORMAL, 'Exec session expired'],
        });
      } else if (s.kind === 'log' && now - s.lastActivity > this.config.logIdleMs) {
        void this.end(s, {
          user: [CloseCode.POLICY, 'Log session idle timeout exceeded'],
          agent: [CloseCode.NORMAL, 'Log session idle timeout exceeded'],
        });
      }
    }
  }

  /**
   * Graceful drain: refuse new upgrades, end every local session in parallel (CLOSE to the
   * agents, the other instance told, rows deleted), close what is left with 1001, stop the relay.
   */
  async drain(): Promise<void> {
    this.draining = true;
    clearInterval(this.#sweeper);
    const all = [...this.sessions.values()];
    const work = Promise.allSettled(
      all.map((s) => this.end(s, { user: [CloseCode.GOING_AWAY, 'Server draining'], agent: [CloseCode.GOING_AWAY, 'Server draining'] })),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([work, new Promise((r) => (timer = setTimeout(r, this.config.drainTimeoutMs)))]);
    clearTimeout(timer);
    for (const s of all) {
      s.user?.peer.close(CloseCode.GOING_AWAY, 'Server draining');
      s.agent?.peer.close(CloseCode.GOING_AWAY, 'Server draining');
    }
    await this.audit.flush();
    await this.flushAttached();
    await this.relay.close().catch((err) => this.ctx.logger.warn('session relay did not close cleanly', errorFields(err)));
  }

  // ---- relay ----

  /**
   * After the relay reconnected: the client re-binds the subscriptions itself; agents whose
   * user is on another instance get ACTIVATION again, as Edgelet expects after a relay interruption.
   */
  onRelayReconnect(): void {
    for (const s of this.sessions.values()) {
      if (s.ended || !s.agent || !s.remoteUser || s.kind !== 'exec') continue;
      s.agent.peer.send(
        this.#execFrame(
          s,
          FrameType.ACTIVATION,
          bytes(JSON.stringify({ sessionId: s.id, execId: s.id, microserviceUuid: s.msUuid, timestamp: this.ctx.clock.now() })),
        ),
      );
    }
  }

  /** Frames for the user half arriving from the agent's instance. */
  #fromRelayToUser(s: Session, m: RelayMessage): void {
    if (m.closeAck && s.closeWait && !s.ended) {
      void this.end(s, { user: [CloseCode.NORMAL, 'Session closed'], fromRelay: true });
      return;
    }
    if (s.ended || m.closeAck || !s.user) return;
    const type = m.messageType ?? peekType(m.data);
    if (s.pending) {
      s.pending = false;
      s.remoteAgent = true;
      clearTimeout(s.pendingTimer);
      this.ctx.metrics.ws.pending.add(-1);
      this.ctx.metrics.ws.pairingMs.record(this.ctx.clock.now() - s.createdAt, { kind: s.kind, relay: 'nats' });
      for (const f of s.queue) void this.#publish(s, relaySubject.execAgent(s.id), { data: f });
      s.queue = [];
      s.queueBytes = 0;
    }
    s.lastActivity = this.ctx.clock.now();
    if (s.kind === 'exec' && type === FrameType.CLOSE) {
      void this.relay
        .publish(relaySubject.execAgent(s.id), { data: m.data, messageType: FrameType.CLOSE, closeAck: true })
        .catch(() => this.ctx.metrics.ws.relayErrors.add(1));
      void this.end(s, { user: [CloseCode.NORMAL, 'Agent closed connection'], userCloseFrame: m.data, fromRelay: true });
      return;
    }
    if (
      s.kind === 'log' &&
      type === FrameType.LOG_STOP &&
      new TextDecoder().decode(decodeFrame(m.data)?.data ?? new Uint8Array()) === 'Session closed'
    ) {
      void this.end(s, { user: [CloseCode.NORMAL, 'Agent closed connection'], fromRelay: true });
      return;
    }
    this.#toUser(s, m.data, type);
  }

  /** Frames for the agent half arriving from the user's instance. */
  #fromRelayToAgent(s: Session, m: RelayMessage): void {
    if (s.ended || m.closeAck || !s.agent) return;
    s.lastActivity = this.ctx.clock.now();
    const type = m.messageType ?? peekType(m.data);
    if (type === FrameType.CLOSE) {
      s.agent.peer.send(m.data);
      void this.relay
        .publish(relaySubject.execUser(s.id), { data: m.data, messageType: FrameType.CLOSE, closeAck: true })
        .catch(() => this.ctx.metrics.ws.relayErrors.add(1));
      void this.end(s, { agent: [CloseCode.NORMAL, 'User closed connection'], skipAgentClose: true, fromRelay: true });
      return;
    }
    s.agent.peer.send(m.data);
  }

  async #publish(s: Session, subject: string, m: RelayMessage): Promise<void> {
    try {
      await this.relay.publish(subject, m);
    } catch {
      this.ctx.metrics.ws.relayErrors.add(1);
      if (s.kind === 'exec')
        void this.end(s, {
          user: [CloseCode.TRY_AGAIN, 'Relay unavailable for cross-replica session'],
          agent: [CloseCode.TRY_AGAIN, 'Relay unavailable for cross-replica session'],
        });
      else this.ctx.metrics.ws.logLinesDropped.add(1);
    }
  }

  // ---- delivery ----

  #toAgent(s: Session, frame: Uint8Array, type: number): void {
    if (s.agent) s.agent.peer.send(frame);
    else if (s.remoteAgent) void this.#publish(s, relaySubject.execAgent(s.id), { data: frame, messageType: type });
  }

  /** To the user socket here, or through the relay when the user is on another instance. Log lines obey backpressure. */
  #toUser(s: Session, frame: Uint8Array, type?: number): void {
    if (s.user) {
      if (s.kind === 'log' && type === FrameType.LOG_LINE) {
        if (s.user.peer.bufferedAmount() > LOG_BACKPRESSURE_BYTES) {
          this.ctx.metrics.ws.logLinesDropped.add(1);
          if (!s.droppingLogs) {
            s.droppingLogs = true;
            s.user.peer.send(this.#logFrame(s, FrameType.LOG_ERROR, bytes(Texts.backpressure)));
          }
          return;
        }
        s.droppingLogs = false;
      }
      s.user.peer.send(frame);
    } else if (s.remoteUser) {
      void this.#publish(s, s.kind === 'exec' ? relaySubject.execUser(s.id) : relaySubject.logUser(s.id), {
        data: frame,
        messageType: type,
      });
    }
  }

  #execFrame(s: Session, type: number, data: Uint8Array, timestamp?: number): Uint8Array {
    return encodeFrame({
      type,
      data,
      microserviceUuid: s.msUuid,
      execId: s.id,
      sessionId: s.id,
      timestamp: timestamp ?? this.ctx.clock.now(),
    });
  }

  #logFrame(s: Session, type: number, data: Uint8Array): Uint8Array {
    return encodeFrame({
      type,
      data,
      sessionId: s.id,
      microserviceUuid: s.target === 'microservice' ? s.msUuid : null,
      iofogUuid: s.target === 'fog' ? s.fogUuid : null,
      timestamp: this.ctx.clock.now(),
    });
  }

  /** The stale-row reconcile job; sessions held on this instance are never stale. */
  reconcile(): Promise<{ deleted: number }> {
    return reconcileSessionRows(this.ctx, (id) => this.sessions.has(id));
  }
}

/** The `type` of a MessagePack frame without decoding `data` (log lines are forwarded as received). */
function peekType(raw: Uint8Array): number | undefined {
  const f = decodeFrame(raw);
  return f?.type;
}
