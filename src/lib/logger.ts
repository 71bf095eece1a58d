export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type LogSink = (line: string) => void;

/** JSON lines on stdout: one object per event, `level`, `time`, `msg` first. */
export function createLogger(level: LogLevel, sink: LogSink = (l) => console.log(l)): Logger {
  const min = order[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < min) return;
    sink(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...fields }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** Error details safe to log: message and code, no secrets from causes' payloads. */
export function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string; code?: string; stack?: string; cause?: { message?: string; code?: string } };
  return {
    err: e?.name,
    errMessage: e?.message,
    errCode: e?.code,
    cause: e?.cause?.message ? `${e.cause.code ?? ''} ${e.cause.message}`.trim() : undefined,
    stack: e?.stack?.split('\n').slice(0, 6).join('\n'),
  };
}
