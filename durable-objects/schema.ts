// The tenant database's system tables (drizzle). Tenant collections are real tables too, but they
// are built at run time by sql-builder.ts, never declared here.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Key/value rows: the tenant's configuration pushed by the control plane lives under "config". */
export const meta = sqliteTable("meta", {
  key: text().primaryKey(),
  value: text().notNull(),
});

export const members = sqliteTable("members", {
  sub: text().primaryKey(),
  roles: text({ mode: "json" }).$type<string[]>().notNull(),
  email: text(),
  displayName: text("display_name"),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** Custom roles: named permission sets (built-in roles are code, not rows). */
export const roles = sqliteTable("roles", {
  name: text().primaryKey(),
  permissions: text({ mode: "json" }).$type<string[]>().notNull(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** Append-only, hash-chained audit trail. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    seq: integer().primaryKey(),
    at: text().notNull(),
    actor: text().notNull(),
    action: text().notNull(),
    resource: text().notNull(),
    success: integer({ mode: "boolean" }).notNull(),
    details: text({ mode: "json" }).$type<Record<string, unknown>>().notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text().notNull(),
  },
  (t) => [index("audit_events_action").on(t.action, t.seq), index("audit_events_actor").on(t.actor, t.seq)],
);
