/**
 * The runtime-neutral WebSocket surface (runtime code lives only in the adapters): each runtime adapter turns an upgrade request
 * into a socket and drives these handlers; the session code never touches `ws`, Deno or Bun APIs.
 */
export interface WsPeer {
  /** Sends one binary message; a no-op once the socket is closing. */
  send(data: Uint8Array): void;
  /** Starts the closing handshake. The reason is cut to the 123 bytes RFC 6455 allows. */
  close(code: number, reason: string): void;
  /** Bytes queued on the socket and not yet written (for log backpressure). */
  bufferedAmount(): number;
  readonly isOpen: boolean;
}

export interface WsHandlers {
  open(peer: WsPeer): void;
  message(data: Uint8Array | string): void;
  close(code: number, reason: string): void;
}

/** Accepts the upgrade with these handlers; the returned Response is what the fetch handler answers. */
export type Upgrade = (handlers: WsHandlers) => Response;

/** Transport settings the adapters apply to every accepted socket. */
export interface WsTransport {
  maxPayload: number;
  pingIntervalMs: number;
}

const encoder = new TextEncoder();

/** RFC 6455 limits a close reason to 123 bytes of UTF-8. */
export function closeReason(reason: string): string {
  if (encoder.encode(reason).length <= 123) return reason;
  let out = reason;
  while (encoder.encode(out).length > 120) out = out.slice(0, -1);
  return `${out}...`;
}

export const isUpgradeRequest = (req: Request): boolean => (req.headers.get('upgrade') ?? '').toLowerCase() === 'websocket';
