CREATE TABLE `ws_session` (
	`session_id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`target` text NOT NULL,
	`microservice_uuid` text,
	`fog_uuid` text NOT NULL,
	`status` text NOT NULL,
	`user_connected` integer NOT NULL,
	`agent_connected` integer NOT NULL,
	`tail_config` text,
	`user_instance` text,
	`agent_instance` text,
	`actor` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ws_session_ms_idx` ON `ws_session` (`kind`,`microservice_uuid`);--> statement-breakpoint
CREATE INDEX `ws_session_fog_idx` ON `ws_session` (`fog_uuid`,`kind`);