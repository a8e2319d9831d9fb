ALTER TABLE `audit_events` ADD `ip` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `user_agent` text;--> statement-breakpoint
ALTER TABLE `files` ADD `audit_reads` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `files` ADD `last_read` text;--> statement-breakpoint
ALTER TABLE `files` ADD `storage_class` text DEFAULT 'Standard' NOT NULL;