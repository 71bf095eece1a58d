CREATE TABLE `catalog_item` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`category` text DEFAULT '' NOT NULL,
	`publisher` text DEFAULT '' NOT NULL,
	`picture` text DEFAULT '' NOT NULL,
	`config_example` text DEFAULT '{}' NOT NULL,
	`disk_required` integer DEFAULT 0 NOT NULL,
	`ram_required` integer DEFAULT 0 NOT NULL,
	`is_public` integer DEFAULT true NOT NULL,
	`registry_id` integer DEFAULT 1 NOT NULL,
	`images` text DEFAULT '[]' NOT NULL,
	`input_type` text,
	`output_type` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `catalog_item_name_unique` ON `catalog_item` (`name`);--> statement-breakpoint
CREATE TABLE `reconcile_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`processed_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reconcile_outbox_idempotency_key_unique` ON `reconcile_outbox` (`idempotency_key`);--> statement-breakpoint
INSERT INTO `catalog_item` (`name`, `description`, `category`, `publisher`, `registry_id`, `images`, `created_at`, `updated_at`) VALUES
('Router', 'The fog''s message router (system microservice)', 'SYSTEM', 'Eclipse ioFog', 1, '[{"containerImage":"ghcr.io/eclipse-iofog/router:latest","archId":1},{"containerImage":"ghcr.io/eclipse-iofog/router:latest","archId":2},{"containerImage":"ghcr.io/eclipse-iofog/router:latest","archId":4}]', 0, 0),
('NATS', 'The fog''s NATS server or leaf node (system microservice)', 'SYSTEM', 'Eclipse ioFog', 1, '[{"containerImage":"nats:2.10-alpine","archId":1},{"containerImage":"nats:2.10-alpine","archId":2},{"containerImage":"nats:2.10-alpine","archId":4}]', 0, 0),
('Debug', 'Node debugger shell (system microservice for fog exec)', 'SYSTEM', 'Eclipse ioFog', 1, '[{"containerImage":"ghcr.io/eclipse-iofog/debugger:latest","archId":1},{"containerImage":"ghcr.io/eclipse-iofog/debugger:latest","archId":2}]', 0, 0);
