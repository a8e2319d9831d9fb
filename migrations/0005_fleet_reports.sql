CREATE TABLE `tenant_errors` (
	`tenant_id` text NOT NULL,
	`minute` text NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	`last_status` integer NOT NULL,
	`last_route` text,
	PRIMARY KEY(`tenant_id`, `minute`)
);
--> statement-breakpoint
CREATE INDEX `tenant_errors_minute` ON `tenant_errors` (`minute`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_sweep_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`trigger` text NOT NULL,
	`cursor` text,
	`tenants` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`counts` text DEFAULT '{}' NOT NULL,
	`errors` text DEFAULT '[]' NOT NULL,
	`started_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`finished_at` text,
	`lease_until` text,
	CONSTRAINT "sweep_runs_kind_check" CHECK(kind IN ('retention', 'billing', 'backup', 'migrate', 'reconcile')),
	CONSTRAINT "sweep_runs_status_check" CHECK(status IN ('pending', 'running', 'completed', 'failed')),
	CONSTRAINT "sweep_runs_trigger_check" CHECK(trigger IN ('cron', 'manual'))
);
--> statement-breakpoint
INSERT INTO `__new_sweep_runs`("id", "kind", "status", "trigger", "cursor", "tenants", "failures", "counts", "errors", "started_at", "updated_at", "finished_at", "lease_until") SELECT "id", "kind", "status", "trigger", "cursor", "tenants", "failures", "counts", "errors", "started_at", "updated_at", "finished_at", "lease_until" FROM `sweep_runs`;--> statement-breakpoint
DROP TABLE `sweep_runs`;--> statement-breakpoint
ALTER TABLE `__new_sweep_runs` RENAME TO `sweep_runs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `sweep_runs_open` ON `sweep_runs` (`status`,`started_at`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `config_applied` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `schema_tag` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `schema_error` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `schema_failed_at` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `usage` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `reported_at` text;