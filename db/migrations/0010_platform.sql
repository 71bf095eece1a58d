CREATE TABLE `fog_platform_status` (
	`fog_uuid` text PRIMARY KEY NOT NULL,
	`phase` text NOT NULL,
	`observed_generation` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`last_transition_at` integer NOT NULL,
	`conditions` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `fog_platform_task` (
	`fog_uuid` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`spec_generation` integer NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`next_attempt_at` integer,
	`leader_uuid` text,
	`claimed_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`fog_uuid`) REFERENCES `fog`(`uuid`) ON UPDATE no action ON DELETE cascade
);
