// The control plane's D1 tables (drizzle view of migrations/*.sql; the SQL files are the truth).
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Limits, Settings } from "../../durable-objects/contract/config";

export interface PlanPrices {
  baseCents: number;
  included: { requests: number; records: number; storageBytes: number };
  overageCents: { per1kRequests: number; per1kRecords: number; perGbStorage: number };
}

export const plans = sqliteTable("plans", {
  tier: text().primaryKey(),
  name: text().notNull(),
  limits: text({ mode: "json" }).$type<Limits>().notNull(),
  prices: text({ mode: "json" }).$type<PlanPrices>().notNull(),
  updatedAt: text("updated_at").notNull(),
});

export type RegistryStatus = "provisioning" | "active" | "suspended" | "cancelled" | "deleted";

export const tenants = sqliteTable(
  "tenants",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    status: text().$type<RegistryStatus>().notNull(),
    tier: text().notNull(),
    jurisdiction: text(),
    settings: text({ mode: "json" }).$type<Partial<Settings>>().notNull(),
    limitOverrides: text("limit_overrides", { mode: "json" }).$type<Partial<Limits>>().notNull(),
    legalHold: integer("legal_hold", { mode: "boolean" }).notNull(),
    wrappedKey: text("wrapped_key"),
    /** Wrapped data keys being rotated out (values are re-encrypted under wrappedKey). */
    retiredKeys: text("retired_keys", { mode: "json" }).$type<string[]>().notNull().default([]),
    ownerSub: text("owner_sub").notNull(),
    /** The identity provider's organisation id that selects this tenant; set once, never reissued. */
    externalId: text("external_id"),
    revision: integer().notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    cancelledAt: text("cancelled_at"),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    index("tenants_status").on(t.status, t.id),
    index("tenants_tier").on(t.tier, t.id),
    uniqueIndex("tenants_external_id").on(t.externalId),
  ],
);

export type TenantRow = typeof tenants.$inferSelect;

export const adminAudit = sqliteTable("admin_audit", {
  id: integer().primaryKey({ autoIncrement: true }),
  at: text().notNull(),
  actor: text().notNull(),
  action: text().notNull(),
  target: text(),
  success: integer({ mode: "boolean" }).notNull(),
  details: text({ mode: "json" }).$type<Record<string, unknown>>().notNull(),
  requestId: text("request_id"),
});

export type SweepKind = "retention" | "billing" | "backup";
export type SweepStatus = "pending" | "running" | "completed" | "failed";

export const sweepRuns = sqliteTable("sweep_runs", {
  id: text().primaryKey(),
  kind: text().$type<SweepKind>().notNull(),
  status: text().$type<SweepStatus>().notNull(),
  trigger: text().$type<"cron" | "manual">().notNull(),
  cursor: text(),
  tenants: integer().notNull(),
  failures: integer().notNull(),
  counts: text({ mode: "json" }).$type<Record<string, number>>().notNull(),
  errors: text({ mode: "json" }).$type<{ tenant: string; error: string }[]>().notNull(),
  startedAt: text("started_at").notNull(),
  updatedAt: text("updated_at").notNull(),
  finishedAt: text("finished_at"),
  leaseUntil: text("lease_until"),
});

export type SweepRun = typeof sweepRuns.$inferSelect;

export const usageRollups = sqliteTable("usage_rollups", {
  tenantId: text("tenant_id").notNull(),
  period: text().notNull(),
  tier: text().notNull(),
  metrics: text({ mode: "json" }).$type<Record<string, number>>().notNull(),
  rolledAt: text("rolled_at").notNull(),
});
