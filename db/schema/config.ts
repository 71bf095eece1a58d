import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { fog } from './fleet';

/**
 * A secret. `data` is the JSON object of values, encrypted with the vault
 * (AES-GCM, associated data = `secret:{name}`); it is never stored or logged in clear.
 */
export const secret = sqliteTable('secret', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  /** `Opaque` | `tls` */
  type: text('type').notNull(),
  dataEnc: text('data_enc').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** A config map. `data` is JSON text (string → string); `immutable` blocks updates. */
export const configMap = sqliteTable('config_map', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  immutable: integer('immutable', { mode: 'boolean' }).notNull().default(false),
  useVault: integer('use_vault', { mode: 'boolean' }).notNull().default(false),
  data: text('data').notNull().default('{}'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * A volume mount: files from exactly one secret or config map, delivered to the
 * fogs it is linked to (GET /agent/volumeMounts). `version` grows on every change of the mount or
 * of its source. The source is referenced by name; deleting a referenced source is refused.
 */
export const volumeMount = sqliteTable('volume_mount', {
  uuid: text('uuid').primaryKey(),
  name: text('name').notNull().unique(),
  secretName: text('secret_name'),
  configMapName: text('config_map_name'),
  version: integer('version').notNull().default(1),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Which fogs a volume mount is linked to. */
export const volumeMountFog = sqliteTable(
  'volume_mount_fog',
  {
    volumeMountUuid: text('volume_mount_uuid')
      .notNull()
      .references(() => volumeMount.uuid, { onDelete: 'cascade' }),
    fogUuid: text('fog_uuid')
      .notNull()
      .references(() => fog.uuid, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.volumeMountUuid, t.fogUuid] }), index('volume_mount_fog_fog_idx').on(t.fogUuid)],
);

/**
 * An application template: an application spec with `{{variable}}` placeholders.
 * `variables` and `application` are JSON text, read and written whole.
 */
export const applicationTemplate = sqliteTable('application_template', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  variables: text('variables').notNull().default('[]'),
  application: text('application').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * The audit log. One row per successful mutating operator call and per agent
 * provision/deprovision, written in the same transaction as the change.
 */
export const auditEvent = sqliteTable(
  'audit_event',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    timestamp: integer('timestamp').notNull(),
    /** `HTTP` | `WS_CONNECT` | `WS_DISCONNECT` */
    eventType: text('event_type').notNull(),
    /** `user` | `agent` | `system` */
    endpointType: text('endpoint_type').notNull(),
    actorId: text('actor_id'),
    method: text('method'),
    resourceType: text('resource_type'),
    resourceId: text('resource_id'),
    endpointPath: text('endpoint_path').notNull(),
    ipAddress: text('ip_address'),
    /** `SUCCESS` | `FAILED` */
    status: text('status').notNull(),
    statusCode: integer('status_code'),
    statusMessage: text('status_message'),
    requestId: text('request_id'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('audit_event_timestamp_idx').on(t.timestamp), index('audit_event_resource_idx').on(t.resourceType, t.timestamp)],
);

/** Operator-visible Controller settings (`GET/PUT /config`): free key/value strings. */
export const configEntry = sqliteTable('config_entry', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Controller replicas, registered and refreshed by the heartbeat job. */
export const clusterController = sqliteTable('cluster_controller', {
  uuid: text('uuid').primaryKey(),
  host: text('host'),
  processId: integer('process_id'),
  version: text('version'),
  lastHeartbeat: integer('last_heartbeat'),
  isActive: integer('is_active', { mode: 'boolean' }).notNull().default(true),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
