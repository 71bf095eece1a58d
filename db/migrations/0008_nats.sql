CREATE TABLE `nats_account` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`public_key` text NOT NULL,
	`jwt` text NOT NULL,
	`seed_secret_name` text NOT NULL,
	`operator_id` integer NOT NULL,
	`is_system` integer DEFAULT false NOT NULL,
	`is_leaf_system` integer DEFAULT false NOT NULL,
	`application_id` integer,
	`rule_name` text NOT NULL,
	`revocations` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nats_account_name_unique` ON `nats_account` (`name`);--> statement-breakpoint
CREATE TABLE `nats_operator` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`public_key` text NOT NULL,
	`jwt` text NOT NULL,
	`seed_secret_name` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nats_operator_name_unique` ON `nats_operator` (`name`);--> statement-breakpoint
CREATE TABLE `nats_rule` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`spec` text NOT NULL,
	`is_predefined` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nats_rule_kind_name_uq` ON `nats_rule` (`kind`,`name`);--> statement-breakpoint
CREATE TABLE `nats_user` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`public_key` text NOT NULL,
	`jwt` text NOT NULL,
	`account_id` integer NOT NULL,
	`microservice_uuid` text,
	`is_bearer` integer DEFAULT false NOT NULL,
	`rule_name` text NOT NULL,
	`creds_secret_name` text,
	`expires_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `nats_account`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nats_user_account_name_uq` ON `nats_user` (`account_id`,`name`);--> statement-breakpoint
CREATE INDEX `nats_user_ms_idx` ON `nats_user` (`microservice_uuid`);