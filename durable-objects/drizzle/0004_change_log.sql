CREATE TABLE `change_events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`at` text NOT NULL,
	`type` text NOT NULL,
	`collection` text,
	`resource_id` text,
	`version` integer,
	`actor` text NOT NULL,
	`record` text
);
--> statement-breakpoint
CREATE INDEX `change_events_collection` ON `change_events` (`collection`,`seq`);--> statement-breakpoint
CREATE INDEX `change_events_at` ON `change_events` (`at`);