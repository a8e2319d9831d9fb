ALTER TABLE `plans` ADD `features` text DEFAULT '["search","changes","realtime","webhooks","aggregate"]' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `trial_ends_at` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `subscription_start` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `subscription_end` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `extra_features` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
CREATE INDEX `tenants_trial_ends` ON `tenants` (`trial_ends_at`);