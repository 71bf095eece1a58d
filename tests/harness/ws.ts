// WebSocket clients for the exec/log session tests: a generic frame client (the operator's side) and
// the agent side of the Edgelet simulator — it discovers sessions like Edgelet (GET /agent/exec/sessions,
// /agent/logs/sessions), opens one socket per session, buffers exec output until ACTIVATION, echoes STDIN
// to STDOUT, and answers LOG_START with `tail` lines then a line every `followEveryMs` while following.
import WebSocket from 'ws';
import { decode, encode } from '@msgpack/msgpack';
import type { Edgelet } from './edgelet';

export const T = {
  STDIN: 0,
  STDOUT: 1,
  STDERR: 2,
  CONTROL: 3,
  CLOSE: 4,
  ACTIVATION: 5,
  LOG_LINE: 6,
  LOG_START: 7,
  LOG_STOP: 8,
  LOG_ERROR: 9,
} as const;

export interface Frame {
  type: number;
  data?: Uint8Array;
  [key: string]: unknown;
}

export const text = (f: Frame | undefined): string => (f?.data ? new TextDecoder().decode(f.data) : '');
export const bin = (s: string): Uint8Array => new TextEncoder().encode(s);
export const toWs = (httpUrl: string): string => httpUrl.replace(/^http/, 'ws');

/** One socket with a frame queue: `next()` waits for the next frame matching a predicate. */
export class FrameSocket {
  readonly frames: Frame[] = [];
  readonly texts: string[] = [];
  closed?: { code: number; reason: string };
  opened = false;
  #waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.frames.push(decode(data) as Frame);
      else this.texts.push(data.toString());
      this.#wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
    ws.on('error', () => {});
  }

  /** Resolves once the handshake is done (or the upgrade was refused: then `closed`/`refusedStatus` tell). */
  static connect(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<FrameSocket & { refusedStatus?: number; refusedBody?: string }> {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const s = new FrameSocket(ws) as FrameSocket & { refusedStatus?: number; refusedBody?: string };
    return new Promise((resolve) => {
      ws.once('open', () => {
        s.opened = true;
        resolve(s);
      });
      ws.once('unexpected-response', (_req, res) => {
        s.refusedStatus = res.statusCode;
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => {
          s.refusedBody = body;
          s.closed = { code: 1006, reason: `HTTP ${res.statusCode}` };
          resolve(s);
        });
      });
      ws.once('error', () => {
        if (!s.opened && s.refusedStatus === undefined) {
          s.closed = { code: 1006, reason: 'connection failed' };
          resolve(s);
        }
      });
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async #wait(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => [f.type, text(f)]))}, closed: ${JSON.stringify(this.closed)}`,
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, left); // sleep-ok: the deadline of an event wait; a frame or close wakes it first
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Removes and returns the first frame matching `pred` (waits for it). */
  async next(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    let i = -1;
    await this.#wait(() => (i = this.frames.findIndex(pred)) >= 0, timeoutMs, 'a matching frame');
    return this.frames.splice(i, 1)[0]!;
  }

  async nextOfType(type: number, timeoutMs = 5000): Promise<Frame> {
    return this.next((f) => f.type === type, timeoutMs);
  }

  async waitClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    await this.#wait(() => this.closed !== undefined, timeoutMs, 'the close');
    return this.closed!;
  }

  send(frame: Frame): void {
    this.ws.send(encode(frame), { binary: true });
  }

  sendText(s: string): void {
    this.ws.send(s, { binary: false });
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }
}

interface ListedSession {
  sessionId: string;
  microserviceUuid?: string;
  iofogUuid?: string;
  tailConfig?: { lines: number; follow: boolean } | null;
}

/** The agent half of sessions for one simulated Edgelet. */
export class AgentSessions {
  readonly exec = new Map<string, FrameSocket>();
  readonly logs = new Map<string, FrameSocket>();
  /** Exec frames received per session (after ACTIVATION), for assertions. */
  readonly activations = new Map<string, Frame>();
  readonly logStarts = new Map<string, Frame>();
  #timers = new Set<ReturnType<typeof setInterval>>();

  constructor(
    readonly edge: Edgelet,
    readonly wsBase: string,
    readonly opts: { followEveryMs?: number } = {},
  ) {}

  async headers(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.edge.token()}` };
  }

  /** What Edgelet does on `execSessions` / `microserviceLogs` / `fogLogs`: attach new sessions, drop vanished ones. */
  async sync(): Promise<void> {
    const ex = await this.edge.getExecSessions();
    const lg = await this.edge.getLogSessions();
    const execList = (ex.body?.execSessions ?? []) as ListedSession[];
    const logList = (lg.body?.logSessions ?? []) as ListedSession[];
    for (const s of execList) if (!this.exec.has(s.sessionId)) await this.openExec(s.microserviceUuid!, s.sessionId);
    for (const s of logList) if (!this.logs.has(s.sessionId)) await this.openLogs(s);
    for (const [id, sock] of this.exec) if (!execList.some((s) => s.sessionId === id)) this.#drop(this.exec, id, sock);
    for (const [id, sock] of this.logs) if (!logList.some((s) => s.sessionId === id)) this.#drop(this.logs, id, sock);
  }

  #drop(map: Map<string, FrameSocket>, id: string, sock: FrameSocket): void {
    sock.close(1000, 'session gone');
    map.delete(id);
  }

  async openExec(msUuid: string, sessionId: string): Promise<FrameSocket> {
    const sock = await FrameSocket.connect(`${this.wsBase}/api/v3/agent/exec/microservice/${msUuid}/${sessionId}`, await this.headers());
    this.exec.set(sessionId, sock);
    let active = false;
    const pending: Frame[] = [];
    const onFrame = () => {
      for (const f of sock.frames.splice(0)) {
        if (f.type === T.ACTIVATION) {
          active = true;
          this.activations.set(sessionId, f);
          for (const p of pending.splice(0)) sock.send(p);
        } else if (f.type === T.STDIN) {
          const out = { type: T.STDOUT, data: f.data, microserviceUuid: msUuid, execId: sessionId, timestamp: Date.now() };
          if (active) sock.send(out);
          else pending.push(out);
        } else if (f.type === T.CLOSE) {
          sock.frames.push(f); // kept for assertions
          sock.close(1000, 'closed by controller');
          return;
        } else sock.frames.push(f);
      }
    };
    sock.ws.on('message', () => setImmediate(onFrame));
    setImmediate(onFrame);
    return sock;
  }

  async openLogs(s: ListedSession): Promise<FrameSocket> {
    const path = s.iofogUuid
      ? `/api/v3/agent/logs/iofog/${s.iofogUuid}/${s.sessionId}`
      : `/api/v3/agent/logs/microservice/${s.microserviceUuid}/${s.sessionId}`;
    const sock = await FrameSocket.connect(this.wsBase + path, await this.headers());
    this.logs.set(s.sessionId, sock);
    const line = (n: string) => ({
      type: T.LOG_LINE,
      data: bin(n),
      sessionId: s.sessionId,
      microserviceUuid: s.microserviceUuid ?? null,
      iofogUuid: s.iofogUuid ?? null,
      timestamp: Date.now(),
    });
    const onFrame = () => {
      const start = sock.frames.findIndex((f) => f.type === T.LOG_START);
      if (start < 0 || this.logStarts.has(s.sessionId)) return;
      const f = sock.frames.splice(start, 1)[0]!;
      this.logStarts.set(s.sessionId, f);
      const cfg = JSON.parse(text(f)).tailConfig as { lines: number; follow: boolean };
      for (let i = 1; i <= cfg.lines; i++) sock.send(line(`line ${i}`));
      if (cfg.follow) {
        let n = 0;
        const timer = setInterval(() => {
          if (sock.closed) return clearInterval(timer);
          sock.send(line(`follow ${++n}`));
        }, this.opts.followEveryMs ?? 50);
        this.#timers.add(timer);
      } else {
        sock.send({
          type: T.LOG_STOP,
          data: bin('end'),
          sessionId: s.sessionId,
          microserviceUuid: s.microserviceUuid ?? null,
          iofogUuid: s.iofogUuid ?? null,
          timestamp: Date.now(),
        });
      }
    };
    sock.ws.on('message', () => setImmediate(onFrame));
    setImmediate(onFrame);
    return sock;
  }

  close(): void {
    for (const t of this.#timers) clearInterval(t);
    for (const s of [...this.exec.values(), ...this.logs.values()]) s.close();
  }
}
