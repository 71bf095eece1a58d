import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { fog } from './fleet';

/** An application groups microservices; `isActivated` starts/stops all of them. */
export const application = sqliteTable('application', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  isActivated: integer('is_activated', { mode: 'boolean' }).notNull().default(false),
  isSystem: integer('is_system', { mode: 'boolean' }).notNull().default(false),
  natsAccess: integer('nats_access', { mode: 'boolean' }).notNull().default(false),
  natsRule: text('nats_rule'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * A microservice. List-valued fields (images, env, ports, volume mappings, …) are JSON text: they are
 * always read and written whole, with the microservice.
 */
export const microservice = sqliteTable(
  'microservice',
  {
    uuid: text('uuid').primaryKey(),
    name: text('name').notNull(),
    applicationId: integer('application_id')
      .notNull()
      .references(() => application.id, { onDelete: 'cascade' }),
    fogUuid: text('fog_uuid').references(() => fog.uuid, { onDelete: 'cascade' }),
    config: text('config').notNull().default('{}'),
    annotations: text('annotations'),
    images: text('images').notNull().default('[]'),
    registryId: integer('registry_id').notNull().default(1),
    catalogItemId: integer('catalog_item_id'),
    hostNetworkMode: integer('host_network_mode', { mode: 'boolean' }).notNull().default(false),
    isPrivileged: integer('is_privileged', { mode: 'boolean' }).notNull().default(false),
    pidMode: text('pid_mode').notNull().default(''),
    ipcMode: text('ipc_mode').notNull().default(''),
    cpuSetCpus: text('cpu_set_cpus').notNull().default(''),
    runAsUser: text('run_as_user').notNull().default(''),
    platform: text('platform').notNull().default(''),
    runtime: text('runtime').notNull().default(''),
    memoryLimit: integer('memory_limit'),
    logSize: integer('log_size').notNull().default(1),
    schedule: integer('schedule').notNull().default(50),
    env: text('env').notNull().default('[]'),
    extraHosts: text('extra_hosts').notNull().default('[]'),
    cmd: text('cmd').notNull().default('[]'),
    cdiDevices: text('cdi_devices').notNull().default('[]'),
    capAdd: text('cap_add').notNull().default('[]'),
    capDrop: text('cap_drop').notNull().default('[]'),
    healthCheck: text('health_check').notNull().default('{}'),
    ports: text('ports').notNull().default('[]'),
    volumeMappings: text('volume_mappings').notNull().default('[]'),
    isRouter: integer('is_router', { mode: 'boolean' }).notNull().default(false),
    isNats: integer('is_nats', { mode: 'boolean' }).notNull().default(false),
    /** NATS access of the workload: a user in its application's account, creds mounted. */
    natsAccess: integer('nats_access', { mode: 'boolean' }).notNull().default(false),
    natsRule: text('nats_rule'),
    isController: integer('is_controller', { mode: 'boolean' }).notNull().default(false),
    /** Set when the container must be re-created; reset after the agent pulls its list. */
    rebuild: integer('rebuild', { mode: 'boolean' }).notNull().default(false),
    /** Stopped by the operator (PATCH …/stop): kept but not delivered. */
    stopped: integer('stopped', { mode: 'boolean' }).notNull().default(false),
    /** Marked for deletion: delivered with `delete: true` until the agent reports it gone. */
    markedForDelete: integer('marked_for_delete', { mode: 'boolean' }).notNull().default(false),
    deleteWithCleanup: integer('delete_with_cleanup', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('microservice_app_name_uq').on(t.applicationId, t.name), index('microservice_fog_idx').on(t.fogUuid)],
);

/** What the agent last reported for a microservice (PUT /agent/status → microserviceStatus). */
export const microserviceStatus = sqliteTable('microservice_status', {
  microserviceUuid: text('microservice_uuid')
    .primaryKey()
    .references(() => microservice.uuid, { onDelete: 'cascade' }),
  status: text('status').notNull().default('QUEUED'),
  percentage: integer('percentage').notNull().default(0),
  containerId: text('container_id').notNull().default(''),
  startTime: integer('start_time'),
  operatingDuration: integer('operating_duration').notNull().default(0),
  cpuUsage: text('cpu_usage').notNull().default('0'),
  memoryUsage: text('memory_usage').notNull().default('0'),
  ipAddress: text('ip_address').notNull().default(''),
  healthStatus: text('health_status').notNull().default(''),
  errorMessage: text('error_message').notNull().default(''),
  execSessionIds: text('exec_session_ids').notNull().default('[]'),
  updatedAt: integer('updated_at').notNull(),
});
