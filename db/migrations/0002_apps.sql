CREATE TABLE `application` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`is_activated` integer DEFAULT false NOT NULL,
	`is_system` integer DEFAULT false NOT NULL,
	`nats_access` integer DEFAULT false NOT NULL,
	`nats_rule` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `application_name_unique` ON `application` (`name`);--> statement-breakpoint
CREATE TABLE `microservice` (
	`uuid` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`application_id` integer NOT NULL,
	`fog_uuid` text,
	`config` text DEFAULT '{}' NOT NULL,
	`annotations` text,
	`images` text DEFAULT '[]' NOT NULL,
	`registry_id` integer DEFAULT 1 NOT NULL,
	`catalog_item_id` integer,
	`host_network_mode` integer DEFAULT false NOT NULL,
	`is_privileged` integer DEFAULT false NOT NULL,
	`pid_mode` text DEFAULT '' NOT NULL,
	`ipc_mode` text DEFAULT '' NOT NULL,
	`cpu_set_cpus` text DEFAULT '' NOT NULL,
	`run_as_user` text DEFAULT '' NOT NULL,
	`platform` text DEFAULT '' NOT NULL,
	`runtime` text DEFAULT '' NOT NULL,
	`memory_limit` integer,
	`log_size` integer DEFAULT 1 NOT NULL,
	`schedule` integer DEFAULT 50 NOT NULL,
	`env` text DEFAULT '[]' NOT NULL,
	`extra_hosts` text DEFAULT '[]' NOT NULL,
	`cmd` text DEFAULT '[]' NOT NULL,
	`cdi_devices` text DEFAULT '[]' NOT NULL,
	`cap_add` text DEFAULT '[]' NOT NULL,
	`cap_drop` text DEFAULT '[]' NOT NULL,
	`health_check` text DEFAULT '{}' NOT NULL,
	`ports` text DEFAULT '[]' NOT NULL,
	`volume_mappings` text DEFAULT '[]' NOT NULL,
	`is_router` integer DEFAULT false NOT NULL,
	`is_nats` integer DEFAULT false NOT NULL,
	`is_controller` integer DEFAULT false NOT NULL,
	`rebuild` integer DEFAULT false NOT NULL,
	`stopped` integer DEFAULT false NOT NULL,
	`marked_for_delete` integer DEFAULT false NOT NULL,
	`delete_with_cleanup` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`application_id`) REFERENCES `application`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `microservice_app_name_uq` ON `microservice` (`application_id`,`name`);--> statement-breakpoint
CREATE INDEX `microservice_fog_idx` ON `microservice` (`fog_uuid`);--> statement-breakpoint
CREATE TABLE `microservice_status` (
	`microservice_uuid` text PRIMARY KEY NOT NULL,
	`status` text DEFAULT 'QUEUED' NOT NULL,
	`percentage` integer DEFAULT 0 NOT NULL,
	`container_id` text DEFAULT '' NOT NULL,
	`start_time` integer,
	`operating_duration` integer DEFAULT 0 NOT NULL,
	`cpu_usage` text DEFAULT '0' NOT NULL,
	`memory_usage` text DEFAULT '0' NOT NULL,
	`ip_address` text DEFAULT '' NOT NULL,
	`health_status` text DEFAULT '' NOT NULL,
	`error_message` text DEFAULT '' NOT NULL,
	`exec_session_ids` text DEFAULT '[]' NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`microservice_uuid`) REFERENCES `microservice`(`uuid`) ON UPDATE no action ON DELETE cascade
);
