CREATE TABLE `agent_jti_batch` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`expires_at` integer NOT NULL,
	`ids` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_jti_batch_expires_idx` ON `agent_jti_batch` (`expires_at`);--> statement-breakpoint
INSERT INTO `agent_jti_batch` (`expires_at`, `ids`)
SELECT max(`expires_at`), group_concat(`jti` || char(9) || `expires_at`, char(10)) FROM `agent_jti`
WHERE `expires_at` > CAST(strftime('%s', 'now') AS INTEGER) * 1000
HAVING count(*) > 0;
