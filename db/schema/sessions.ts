import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Exec and log WebSocket sessions: the cross-instance source of truth for pairing,
 * quotas (counted from rows, so they hold across instances) and the agent's session listings.
 * A row lives from the user socket's accept to the end of the session; there is no terminal status.
 * - `kind` `exec` | `log`; `target` `microservice` | `fog` (node logs).
 * - `fogUuid` is the fog whose agent serves the session (the microservice's fog, or the fog itself).
 * - `userInstance` / `agentInstance`: the replica holding each half, for the relay.
 */
export const wsSession = sqliteTable(
  'ws_session',
  {
    sessionId: text('session_id').primaryKey(),
    kind: text('kind', { enum: ['exec', 'log'] }).notNull(),
    target: text('target', { enum: ['microservice', 'fog'] }).notNull(),
    microserviceUuid: text('microservice_uuid'),
    fogUuid: text('fog_uuid').notNull(),
    status: text('status', { enum: ['PENDING', 'ACTIVE'] }).notNull(),
    userConnected: integer('user_connected', { mode: 'boolean' }).notNull(),
    agentConnected: integer('agent_connected', { mode: 'boolean' }).notNull(),
    tailConfig: text('tail_config'),
    userInstance: text('user_instance'),
    agentInstance: text('agent_instance'),
    actor: text('actor'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('ws_session_ms_idx').on(t.kind, t.microserviceUuid), index('ws_session_fog_idx').on(t.fogUuid, t.kind)],
);
