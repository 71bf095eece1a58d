CREATE TABLE `certificate` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`subject` text NOT NULL,
	`hosts` text DEFAULT '' NOT NULL,
	`is_ca` integer DEFAULT false NOT NULL,
	`valid_from` integer NOT NULL,
	`valid_to` integer NOT NULL,
	`serial_number` text NOT NULL,
	`signed_by_id` integer,
	`expiration` integer,
	`secret_name` text NOT NULL,
	`imported` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `certificate_name_unique` ON `certificate` (`name`);