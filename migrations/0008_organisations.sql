ALTER TABLE `tenants` ADD `parent` text;--> statement-breakpoint
CREATE INDEX `tenants_parent` ON `tenants` (`parent`,`id`);