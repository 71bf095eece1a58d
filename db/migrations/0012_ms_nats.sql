ALTER TABLE `microservice` ADD `nats_access` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `microservice` ADD `nats_rule` text;