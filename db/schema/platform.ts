import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { fog } from './fleet';

/** Observed platform state of a fog: phase, the spec generation last reconciled, the last error. */
export const fogPlatformStatus = sqliteTable('fog_platform_status', {
  fogUuid: text('fog_uuid')
    .primaryKey()
    .references(() => fog.uuid, { onDelete: 'cascade' }),
  /** Pending | Progressing | Ready | Failed | Deleting */
  phase: text('phase').notNull(),
  observedGeneration: integer('observed_generation').notNull().default(0),
  lastError: text('last_error'),
  lastTransitionAt: integer('last_transition_at').notNull(),
  /** JSON `[{type, status, reason?, message?}]` */
  conditions: text('conditions').notNull().default('[]'),
});

/**
 * The fog platform work queue: one active task per fog. Claimed with a lease
 * (`leaderUuid`, `claimedAt`); a success deletes it; a failure backs off, and after 10 attempts it stays
 * `failed` until a manual retry.
 */
export const fogPlatformTask = sqliteTable('fog_platform_task', {
  fogUuid: text('fog_uuid')
    .primaryKey()
    .references(() => fog.uuid, { onDelete: 'cascade' }),
  reason: text('reason').notNull(),
  specGeneration: integer('spec_generation').notNull(),
  /** pending | in_progress | failed */
  status: text('status').notNull(),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  nextAttemptAt: integer('next_attempt_at'),
  leaderUuid: text('leader_uuid'),
  claimedAt: integer('claimed_at'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
