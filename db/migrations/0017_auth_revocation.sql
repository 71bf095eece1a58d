CREATE TABLE `auth_login_failure` (
	`user_id` text NOT NULL,
	`client_ip` text NOT NULL,
	`failed_attempts` integer DEFAULT 0 NOT NULL,
	`locked_until` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `client_ip`),
	FOREIGN KEY (`user_id`) REFERENCES `auth_user`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `auth_login_failure_updated_idx` ON `auth_login_failure` (`updated_at`);--> statement-breakpoint
ALTER TABLE `auth_user` ADD `token_generation` integer DEFAULT 0 NOT NULL;