import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** A router TCP-bridge service. */
export const service = sqliteTable('service', {
  name: text('name').primaryKey(),
  /** microservice | agent | k8s | external */
  type: text('type').notNull(),
  resource: text('resource').notNull(),
  targetPort: integer('target_port').notNull(),
  servicePort: integer('service_port'),
  bridgePort: integer('bridge_port').notNull().unique(),
  defaultBridge: text('default_bridge').notNull().default('default-router'),
  tags: text('tags').notNull().default('[]'),
  k8sType: text('k8s_type'),
  serviceEndpoint: text('service_endpoint'),
  /** pending | ready | failed */
  provisioningStatus: text('provisioning_status').notNull().default('pending'),
  provisioningError: text('provisioning_error'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * The service platform queue: one active task per service name. `fogUuids` (JSON) are
 * the fogs whose routers carried the service before the change, so a delete or a move still reaches them.
 */
export const servicePlatformTask = sqliteTable('service_platform_task', {
  serviceName: text('service_name').primaryKey(),
  reason: text('reason').notNull(),
  fogUuids: text('fog_uuids').notNull().default('[]'),
  status: text('status').notNull(),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  nextAttemptAt: integer('next_attempt_at'),
  leaderUuid: text('leader_uuid'),
  claimedAt: integer('claimed_at'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
