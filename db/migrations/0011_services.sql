CREATE TABLE `service` (
	`name` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`resource` text NOT NULL,
	`target_port` integer NOT NULL,
	`service_port` integer,
	`bridge_port` integer NOT NULL,
	`default_bridge` text DEFAULT 'default-router' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`k8s_type` text,
	`service_endpoint` text,
	`provisioning_status` text DEFAULT 'pending' NOT NULL,
	`provisioning_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `service_bridge_port_unique` ON `service` (`bridge_port`);--> statement-breakpoint
CREATE TABLE `service_platform_task` (
	`service_name` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`fog_uuids` text DEFAULT '[]' NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`next_attempt_at` integer,
	`leader_uuid` text,
	`claimed_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
