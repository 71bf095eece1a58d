CREATE TABLE `agent_jti` (
	`jti` text PRIMARY KEY NOT NULL,
	`fog_uuid` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_jti_expires_idx` ON `agent_jti` (`expires_at`);--> statement-breakpoint
CREATE TABLE `fog` (
	`uuid` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`location` text DEFAULT '' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`gps_mode` text DEFAULT 'auto' NOT NULL,
	`latitude` real,
	`longitude` real,
	`arch_id` integer DEFAULT 0 NOT NULL,
	`is_system` integer DEFAULT false NOT NULL,
	`network_interface` text DEFAULT 'dynamic' NOT NULL,
	`container_engine` text DEFAULT 'edgelet' NOT NULL,
	`container_engine_url` text DEFAULT 'unix:///run/containerd/containerd.sock' NOT NULL,
	`deployment_type` text DEFAULT 'native' NOT NULL,
	`disk_limit` real DEFAULT 50 NOT NULL,
	`disk_directory` text DEFAULT '/var/lib/edgelet/' NOT NULL,
	`memory_limit` real DEFAULT 4096 NOT NULL,
	`cpu_limit` real DEFAULT 80 NOT NULL,
	`log_limit` real DEFAULT 10 NOT NULL,
	`log_directory` text DEFAULT '/var/log/iofog/' NOT NULL,
	`log_file_count` integer DEFAULT 10 NOT NULL,
	`status_frequency` integer DEFAULT 10 NOT NULL,
	`change_frequency` integer DEFAULT 20 NOT NULL,
	`gps_device` text DEFAULT '' NOT NULL,
	`gps_scan_frequency` integer DEFAULT 60 NOT NULL,
	`edge_guard_frequency` integer DEFAULT 0 NOT NULL,
	`watchdog_enabled` integer DEFAULT true NOT NULL,
	`pruning_frequency` integer DEFAULT 0 NOT NULL,
	`available_disk_threshold` real DEFAULT 20 NOT NULL,
	`log_level` text DEFAULT 'INFO' NOT NULL,
	`time_zone` text DEFAULT 'Etc/UTC' NOT NULL,
	`upgrade_scan_frequency` integer,
	`host` text,
	`router_mode` text DEFAULT 'edge' NOT NULL,
	`messaging_port` integer DEFAULT 5671 NOT NULL,
	`inter_router_port` integer,
	`edge_router_port` integer,
	`upstream_routers` text,
	`network_router` text,
	`nats_mode` text DEFAULT 'leaf' NOT NULL,
	`nats_server_port` integer DEFAULT 4222 NOT NULL,
	`nats_leaf_port` integer DEFAULT 7422 NOT NULL,
	`nats_cluster_port` integer DEFAULT 6222 NOT NULL,
	`nats_mqtt_port` integer DEFAULT 8883 NOT NULL,
	`nats_http_port` integer DEFAULT 8222 NOT NULL,
	`js_storage_size` text DEFAULT '10g' NOT NULL,
	`js_memory_store_size` text DEFAULT '1g' NOT NULL,
	`upstream_nats_servers` text,
	`bluetooth_enabled` integer DEFAULT false NOT NULL,
	`abstracted_hardware_enabled` integer DEFAULT false NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`spec_generation` integer DEFAULT 1 NOT NULL,
	`daemon_status` text DEFAULT 'NOT_PROVISIONED' NOT NULL,
	`reported_daemon_status` text,
	`daemon_operating_duration` integer DEFAULT 0 NOT NULL,
	`daemon_last_start` integer,
	`warning_message` text DEFAULT '' NOT NULL,
	`security_status` text DEFAULT 'OK' NOT NULL,
	`memory_usage` real DEFAULT 0 NOT NULL,
	`disk_usage` real DEFAULT 0 NOT NULL,
	`cpu_usage` real DEFAULT 0 NOT NULL,
	`memory_violation` integer DEFAULT false NOT NULL,
	`disk_violation` integer DEFAULT false NOT NULL,
	`cpu_violation` integer DEFAULT false NOT NULL,
	`system_available_disk` integer,
	`system_available_memory` integer,
	`system_total_cpu` real,
	`repository_count` integer DEFAULT 0 NOT NULL,
	`repository_status` text DEFAULT '[]' NOT NULL,
	`system_time` integer,
	`last_status_time` integer,
	`last_command_time` integer,
	`last_active` integer,
	`ip_address` text DEFAULT '0.0.0.0' NOT NULL,
	`ip_address_external` text DEFAULT '0.0.0.0' NOT NULL,
	`tunnel_status` text DEFAULT '' NOT NULL,
	`version` text DEFAULT '' NOT NULL,
	`is_ready_to_upgrade` integer DEFAULT false NOT NULL,
	`is_ready_to_rollback` integer DEFAULT false NOT NULL,
	`active_volume_mounts` integer DEFAULT 0 NOT NULL,
	`volume_mount_last_update` integer,
	`gps_status` text DEFAULT '' NOT NULL,
	`available_runtimes` text DEFAULT '[]' NOT NULL,
	`runtime_agent_phase` text,
	`control_plane_quiesced` integer DEFAULT false NOT NULL,
	`delete_requested_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `fog_name_unique` ON `fog` (`name`);--> statement-breakpoint
CREATE INDEX `fog_last_status_idx` ON `fog` (`last_status_time`);--> statement-breakpoint
CREATE TABLE `fog_change` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`fog_uuid` text NOT NULL,
	`flags` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `fog_change_fog_idx` ON `fog_change` (`fog_uuid`,`created_at`);--> statement-breakpoint
CREATE TABLE `fog_hal` (
	`fog_uuid` text PRIMARY KEY NOT NULL,
	`hw` text,
	`usb` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `fog_provisioning_key` (
	`key_hash` text PRIMARY KEY NOT NULL,
	`fog_uuid` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `fog_provisioning_key_fog_idx` ON `fog_provisioning_key` (`fog_uuid`);--> statement-breakpoint
CREATE TABLE `fog_public_key` (
	`fog_uuid` text PRIMARY KEY NOT NULL,
	`public_jwk` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `fog_tunnel` (
	`fog_uuid` text PRIMARY KEY NOT NULL,
	`username` text DEFAULT '' NOT NULL,
	`password_enc` text DEFAULT '' NOT NULL,
	`host` text DEFAULT '' NOT NULL,
	`remote_port` integer DEFAULT 0 NOT NULL,
	`local_port` integer DEFAULT 22 NOT NULL,
	`rsa_key_enc` text DEFAULT '' NOT NULL,
	`closed` integer DEFAULT true NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `fog_version_command` (
	`fog_uuid` text PRIMARY KEY NOT NULL,
	`command` text NOT NULL,
	`semver` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `registry` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`url` text NOT NULL,
	`is_public` integer DEFAULT true NOT NULL,
	`username` text DEFAULT '' NOT NULL,
	`password_enc` text DEFAULT '' NOT NULL,
	`user_email` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `registry` (`id`, `url`, `is_public`, `username`, `password_enc`, `user_email`, `created_at`, `updated_at`) VALUES (1, 'docker.io', 1, '', '', '', 0, 0), (2, 'from_cache', 1, '', '', '', 0, 0);
