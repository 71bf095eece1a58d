CREATE TABLE `application_template` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`variables` text DEFAULT '[]' NOT NULL,
	`application` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `application_template_name_unique` ON `application_template` (`name`);--> statement-breakpoint
CREATE TABLE `audit_event` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`timestamp` integer NOT NULL,
	`event_type` text NOT NULL,
	`endpoint_type` text NOT NULL,
	`actor_id` text,
	`method` text,
	`resource_type` text,
	`resource_id` text,
	`endpoint_path` text NOT NULL,
	`ip_address` text,
	`status` text NOT NULL,
	`status_code` integer,
	`status_message` text,
	`request_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_event_timestamp_idx` ON `audit_event` (`timestamp`);--> statement-breakpoint
CREATE INDEX `audit_event_resource_idx` ON `audit_event` (`resource_type`,`timestamp`);--> statement-breakpoint
CREATE TABLE `cluster_controller` (
	`uuid` text PRIMARY KEY NOT NULL,
	`host` text,
	`process_id` integer,
	`version` text,
	`last_heartbeat` integer,
	`is_active` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `config_entry` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `config_map` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`immutable` integer DEFAULT false NOT NULL,
	`use_vault` integer DEFAULT false NOT NULL,
	`data` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `config_map_name_unique` ON `config_map` (`name`);--> statement-breakpoint
CREATE TABLE `secret` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`data_enc` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `secret_name_unique` ON `secret` (`name`);--> statement-breakpoint
CREATE TABLE `volume_mount` (
	`uuid` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`secret_name` text,
	`config_map_name` text,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `volume_mount_name_unique` ON `volume_mount` (`name`);--> statement-breakpoint
CREATE TABLE `volume_mount_fog` (
	`volume_mount_uuid` text NOT NULL,
	`fog_uuid` text NOT NULL,
	PRIMARY KEY(`volume_mount_uuid`, `fog_uuid`),
	FOREIGN KEY (`volume_mount_uuid`) REFERENCES `volume_mount`(`uuid`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `volume_mount_fog_fog_idx` ON `volume_mount_fog` (`fog_uuid`);