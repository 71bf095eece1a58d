import type { ChangeFlag } from '../changes/flags';
import type { WsPeer } from '../../ws/types';

// What one exec or log session is on this instance, and the names shared by the manager, the routes and
// the listings.

export interface TailConfig {
  lines: number;
  follow: boolean;
  since: string | null;
  until: string | null;
}

/** One socket half of a session, with what its audit events name. */
export interface Half {
  peer: WsPeer;
  actor: string;
  ip?: string;
  path: string;
}

export type SessionKind = 'exec' | 'log';
export type SessionTarget = 'microservice' | 'fog';

/** The in-memory record of a session on this instance; the `ws_session` row is the truth all instances share. */
export interface Session {
  id: string;
  kind: SessionKind;
  target: SessionTarget;
  msUuid: string | null;
  fogUuid: string;
  tail?: TailConfig;
  user?: Half;
  agent?: Half;
  /** The agent half is on another instance and has announced itself through the relay. */
  remoteAgent: boolean;
  /** This instance holds only the agent half; the user is on another instance. */
  remoteUser: boolean;
  createdAt: number;
  lastActivity: number;
  pendingTimer?: ReturnType<typeof setTimeout>;
  pending: boolean;
  /** User → agent exec frames waiting for the pairing (bounded like Edgelet's own buffer). */
  queue: Uint8Array[];
  queueBytes: number;
  droppingLogs: boolean;
  /** The user sent CLOSE and the agent is on another instance: waiting for its acknowledgement. */
  closeWait?: ReturnType<typeof setTimeout>;
  ended: boolean;
  unsubs: Array<() => void>;
}

export const CloseCode = { NORMAL: 1000, GOING_AWAY: 1001, POLICY: 1008, TRY_AGAIN: 1013 } as const;

/** The change flag that tells the agent to re-read its list of sessions of this kind. */
export const flagOf = (kind: SessionKind, target: SessionTarget): ChangeFlag =>
  kind === 'exec' ? 'execSessions' : target === 'fog' ? 'fogLogs' : 'microserviceLogs';
