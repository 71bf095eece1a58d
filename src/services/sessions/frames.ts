import { decode, encode } from '@msgpack/msgpack';

/** Frame type codes of the exec/log protocol, shared with the agent and operator clients. */
export const FrameType = {
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

/** One protocol frame: a MessagePack map with string keys; `data` is always bin. Unknown keys are kept. */
export interface Frame {
  type: number;
  data?: Uint8Array;
  execId?: string;
  sessionId?: string;
  microserviceUuid?: string | null;
  iofogUuid?: string | null;
  timestamp?: number;
  [key: string]: unknown;
}

const enc = new TextEncoder();

export const bytes = (s: string): Uint8Array => enc.encode(s);

export function encodeFrame(frame: Frame): Uint8Array {
  return encode(frame, { ignoreUndefined: true });
}

/** Decodes a binary message; undefined when it is not a map with an integer `type`. */
export function decodeFrame(raw: Uint8Array): Frame | undefined {
  let value: unknown;
  try {
    value = decode(raw);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return undefined;
  const f = value as Record<string, unknown>;
  if (typeof f.type !== 'number' || !Number.isInteger(f.type)) return undefined;
  // A client that sent `data` as str still means bytes.
  if (typeof f.data === 'string') f.data = enc.encode(f.data);
  else if (f.data !== undefined && f.data !== null && !(f.data instanceof Uint8Array)) return undefined;
  return f as Frame;
}

/** Status texts the Controller writes to users, exact: clients show and match them verbatim. */
export const Texts = {
  execWaiting: 'Waiting for agent connection. Interactive exec will begin once the agent connects.\n',
  execReady: 'Agent connected. Interactive exec is ready.\n',
  timeout: 'Timeout waiting for agent connection.\n',
  logWaiting: 'Waiting for agent connection. Log streaming will begin once the agent connects.\n',
  logReady: 'Agent connected. Log streaming started.\n',
  backpressure: 'Log stream backpressure: dropping lines until client catches up\n',
} as const;
