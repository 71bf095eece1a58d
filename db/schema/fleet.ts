import { sql } from 'drizzle-orm';
import { customType, index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** A BLOB as a Uint8Array on every runtime (drizzle's own blob modes hand out Node Buffers). */
const bytes = customType<{ data: Uint8Array; driverData: ArrayBuffer | Uint8Array }>({
  dataType: () => 'blob',
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v)),
  toDriver: (v) => v,
});

/**
 * A fog (edge node / agent). Config fields are what the agent pulls with GET /agent/config; status
 * fields are what it reports with PUT /agent/status; the platform spec (router/NATS) drives the
 * platform reconcile. JSON-valued columns hold JSON text. Timestamps are epoch ms.
 */
export const fog = sqliteTable(
  'fog',
  {
    uuid: text('uuid').primaryKey(),
    name: text('name').notNull().unique(),
    location: text('location').notNull().default(''),
    description: text('description').notNull().default(''),
    gpsMode: text('gps_mode').notNull().default('auto'),
    latitude: real('latitude'),
    longitude: real('longitude'),
    archId: integer('arch_id').notNull().default(0),
    isSystem: integer('is_system', { mode: 'boolean' }).notNull().default(false),
    // agent configuration
    networkInterface: text('network_interface').notNull().default('dynamic'),
    containerEngine: text('container_engine').notNull().default('edgelet'),
    containerEngineUrl: text('container_engine_url').notNull().default('unix:///run/containerd/containerd.sock'),
    deploymentType: text('deployment_type').notNull().default('native'),
    diskLimit: real('disk_limit').notNull().default(50),
    diskDirectory: text('disk_directory').notNull().default('/var/lib/edgelet/'),
    memoryLimit: real('memory_limit').notNull().default(4096),
    cpuLimit: real('cpu_limit').notNull().default(80),
    logLimit: real('log_limit').notNull().default(10),
    logDirectory: text('log_directory').notNull().default('/var/log/iofog/'),
    logFileCount: integer('log_file_count').notNull().default(10),
    statusFrequency: integer('status_frequency').notNull().default(10),
    changeFrequency: integer('change_frequency').notNull().default(20),
    gpsDevice: text('gps_device').notNull().default(''),
    gpsScanFrequency: integer('gps_scan_frequency').notNull().default(60),
    edgeGuardFrequency: integer('edge_guard_frequency').notNull().default(0),
    watchdogEnabled: integer('watchdog_enabled', { mode: 'boolean' }).notNull().default(true),
    pruningFrequency: integer('pruning_frequency').notNull().default(0),
    availableDiskThreshold: real('available_disk_threshold').notNull().default(20),
    logLevel: text('log_level').notNull().default('INFO'),
    timeZone: text('time_zone').notNull().default('Etc/UTC'),
    upgradeScanFrequency: integer('upgrade_scan_frequency'),
    // platform spec
    host: text('host'),
    routerMode: text('router_mode').notNull().default('edge'),
    messagingPort: integer('messaging_port').notNull().default(5671),
    interRouterPort: integer('inter_router_port'),
    edgeRouterPort: integer('edge_router_port'),
    upstreamRouters: text('upstream_routers'),
    networkRouter: text('network_router'),
    natsMode: text('nats_mode').notNull().default('leaf'),
    natsServerPort: integer('nats_server_port').notNull().default(4222),
    natsLeafPort: integer('nats_leaf_port').notNull().default(7422),
    natsClusterPort: integer('nats_cluster_port').notNull().default(6222),
    natsMqttPort: integer('nats_mqtt_port').notNull().default(8883),
    natsHttpPort: integer('nats_http_port').notNull().default(8222),
    jsStorageSize: text('js_storage_size').notNull().default('10g'),
    jsMemoryStoreSize: text('js_memory_store_size').notNull().default('1g'),
    upstreamNatsServers: text('upstream_nats_servers'),
    bluetoothEnabled: integer('bluetooth_enabled', { mode: 'boolean' }).notNull().default(false),
    abstractedHardwareEnabled: integer('abstracted_hardware_enabled', { mode: 'boolean' }).notNull().default(false),
    tags: text('tags').notNull().default('[]'),
    specGeneration: integer('spec_generation').notNull().default(1),
    // reported status
    daemonStatus: text('daemon_status').notNull().default('NOT_PROVISIONED'),
    /** The status the agent last reported; daemonStatus may be overridden (UNKNOWN when silent). */
    reportedDaemonStatus: text('reported_daemon_status'),
    daemonOperatingDuration: integer('daemon_operating_duration').notNull().default(0),
    daemonLastStart: integer('daemon_last_start'),
    warningMessage: text('warning_message').notNull().default(''),
    securityStatus: text('security_status').notNull().default('OK'),
    memoryUsage: real('memory_usage').notNull().default(0),
    diskUsage: real('disk_usage').notNull().default(0),
    cpuUsage: real('cpu_usage').notNull().default(0),
    memoryViolation: integer('memory_violation', { mode: 'boolean' }).notNull().default(false),
    diskViolation: integer('disk_violation', { mode: 'boolean' }).notNull().default(false),
    cpuViolation: integer('cpu_violation', { mode: 'boolean' }).notNull().default(false),
    systemAvailableDisk: integer('system_available_disk'),
    systemAvailableMemory: integer('system_available_memory'),
    systemTotalCpu: real('system_total_cpu'),
    repositoryCount: integer('repository_count').notNull().default(0),
    repositoryStatus: text('repository_status').notNull().default('[]'),
    systemTime: integer('system_time'),
    lastStatusTime: integer('last_status_time'),
    lastCommandTime: integer('last_command_time'),
    lastActive: integer('last_active'),
    ipAddress: text('ip_address').notNull().default('0.0.0.0'),
    ipAddressExternal: text('ip_address_external').notNull().default('0.0.0.0'),
    tunnelStatus: text('tunnel_status').notNull().default(''),
    version: text('version').notNull().default(''),
    isReadyToUpgrade: integer('is_ready_to_upgrade', { mode: 'boolean' }).notNull().default(false),
    isReadyToRollback: integer('is_ready_to_rollback', { mode: 'boolean' }).notNull().default(false),
    activeVolumeMounts: integer('active_volume_mounts').notNull().default(0),
    volumeMountLastUpdate: integer('volume_mount_last_update'),
    gpsStatus: text('gps_status').notNull().default(''),
    availableRuntimes: text('available_runtimes').notNull().default('[]'),
    runtimeAgentPhase: text('runtime_agent_phase'),
    controlPlaneQuiesced: integer('control_plane_quiesced', { mode: 'boolean' }).notNull().default(false),
    /** Set by DELETE /iofog/:uuid; the row goes when the agent confirms (delete-node) or the grace period ends. */
    deleteRequestedAt: integer('delete_requested_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('fog_last_status_idx').on(t.lastStatusTime),
    // fog-status looks for unconfirmed deletions every 30 s; nearly every row is NULL, so the partial
    // index stays tiny where a scan of the fog table took ~4 ms at 10,000 fogs.
    index('fog_delete_requested_idx').on(t.deleteRequestedAt).where(sql`${t.deleteRequestedAt} IS NOT NULL`),
  ],
);

/** The fog's Ed25519 public JWK (not a secret). Replaced on every provision, deleted on deprovision. */
export const fogPublicKey = sqliteTable('fog_public_key', {
  fogUuid: text('fog_uuid')
    .primaryKey()
    .references(() => fog.uuid, { onDelete: 'cascade' }),
  publicJwk: text('public_jwk').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Single-use provisioning keys, stored as sha256 of the key. */
export const fogProvisioningKey = sqliteTable(
  'fog_provisioning_key',
  {
    keyHash: text('key_hash').primaryKey(),
    fogUuid: text('fog_uuid')
      .notNull()
      .references(() => fog.uuid, { onDelete: 'cascade' }),
    expiresAt: integer('expires_at').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('fog_provisioning_key_fog_idx').on(t.fogUuid)],
);

/**
 * Append-only change flags: one row per raise, `flags` is a bitmask of CHANGE_FLAGS.
 * GET /agent/config/changes ORs the rows; PATCH deletes those up to the acknowledged time.
 */
export const fogChange = sqliteTable(
  'fog_change',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    fogUuid: text('fog_uuid')
      .notNull()
      .references(() => fog.uuid, { onDelete: 'cascade' }),
    flags: integer('flags').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('fog_change_fog_idx').on(t.fogUuid, t.createdAt)],
);

/** Pending OTA command for a fog (POST /iofog/:uuid/version/:command → GET /agent/version). */
export const fogVersionCommand = sqliteTable('fog_version_command', {
  fogUuid: text('fog_uuid')
    .primaryKey()
    .references(() => fog.uuid, { onDelete: 'cascade' }),
  command: text('command').notNull(),
  semver: text('semver'),
  createdAt: integer('created_at').notNull(),
});

/** SSH reverse tunnel of a fog. */
export const fogTunnel = sqliteTable('fog_tunnel', {
  fogUuid: text('fog_uuid')
    .primaryKey()
    .references(() => fog.uuid, { onDelete: 'cascade' }),
  username: text('username').notNull().default(''),
  passwordEnc: text('password_enc').notNull().default(''),
  host: text('host').notNull().default(''),
  remotePort: integer('remote_port').notNull().default(0),
  localPort: integer('local_port').notNull().default(22),
  rsaKeyEnc: text('rsa_key_enc').notNull().default(''),
  closed: integer('closed', { mode: 'boolean' }).notNull().default(true),
  updatedAt: integer('updated_at').notNull(),
});

/** Hardware / USB inventory reported through the legacy HAL routes. */
export const fogHal = sqliteTable('fog_hal', {
  fogUuid: text('fog_uuid')
    .primaryKey()
    .references(() => fog.uuid, { onDelete: 'cascade' }),
  hw: text('hw'),
  usb: text('usb'),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Used agent-JWT ids, persisted one row per flush (see src/auth/agent-jti.ts) so that replay protection
 * survives a restart: `digests` holds 12 bytes per id (its 64-bit digest and its expiry in seconds, little
 * endian), `expiresAt` the latest expiry of the row. Rows written before migration 0015 have `digests`
 * NULL and `{fogUuid}:{jti}\t{expiresAt}` lines in `ids` (now '' for new rows); they are still read.
 * One row per flush (every 250 ms per instance) instead of one B-tree insert per agent request (a random key into a table of up to
 * a million rows at 10,000 agents).
 */
export const agentJtiBatch = sqliteTable(
  'agent_jti_batch',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    expiresAt: integer('expires_at').notNull(),
    ids: text('ids').notNull(),
    digests: bytes('digests'),
  },
  (t) => [index('agent_jti_batch_expires_idx').on(t.expiresAt)],
);

/** Container registries. Ids 1 (docker.io) and 2 (from_cache) are built in. */
export const registry = sqliteTable('registry', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  url: text('url').notNull(),
  isPublic: integer('is_public', { mode: 'boolean' }).notNull().default(true),
  username: text('username').notNull().default(''),
  passwordEnc: text('password_enc').notNull().default(''),
  userEmail: text('user_email').notNull().default(''),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
