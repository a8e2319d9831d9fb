// The control plane's D1 tables. This file is the truth: `npm run db:generate:control` writes the
// migration for a change here into migrations/, and a node test fails when the two drift.
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Limits, Settings } from "../../durable-objects/contract/config";
import { FEATURES } from "../../durable-objects/contract/features";

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
  /** The features (contract/features.ts) the plan grants; plans made before features grant all. */
  features: text({ mode: "json" })
    .$type<string[]>()
    .notNull()
    .default([...FEATURES]),
  updatedAt: text("updated_at").notNull(),
});

export type RegistryStatus = "provisioning" | "active" | "suspended" | "cancelled" | "deleted";

export const tenants = sqliteTable(
  "tenants",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    status: text().$type<RegistryStatus>().notNull(),
    tier: text()
      .notNull()
      .references(() => plans.tier),
    jurisdiction: text(),
    settings: text({ mode: "json" }).$type<Partial<Settings>>().notNull().default({}),
    limitOverrides: text("limit_overrides", { mode: "json" }).$type<Partial<Limits>>().notNull().default({}),
    legalHold: integer("legal_hold", { mode: "boolean" }).notNull().default(sql`0`),
    wrappedKey: text("wrapped_key"),
    /** Wrapped data keys being rotated out (values are re-encrypted under wrappedKey). */
    retiredKeys: text("retired_keys", { mode: "json" }).$type<string[]>().notNull().default([]),
    ownerSub: text("owner_sub").notNull(),
    /** The identity provider's organisation id that selects this tenant; set once, never reissued. */
    externalId: text("external_id"),
    /** The tenant this one belongs to in an organisation (at most three levels; DESIGN §13). */
    parent: text(),
    /** The configuration's version: every change bumps it (the object reports what it applied). */
    revision: integer().notNull().default(1),
    /** The revision the tenant's object last said it holds. */
    configApplied: integer("config_applied").notNull().default(0),
    /** The newest tenant-schema migration the object reported as applied (its drizzle tag). */
    schemaTag: text("schema_tag"),
    /** Why the object's last migration attempt failed (cleared by a later success), and when. */
    schemaError: text("schema_error"),
    schemaFailedAt: text("schema_failed_at"),
    /** The usage gauges and counters the object last reported, and when (alerts read them). */
    usage: text({ mode: "json" }).$type<Record<string, number>>().notNull().default({}),
    reportedAt: text("reported_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    cancelledAt: text("cancelled_at"),
    deletedAt: text("deleted_at"),
    /** Set while the tenant is on trial (the API shows status `trial`); cleared when converted. */
    trialEndsAt: text("trial_ends_at"),
    /** The subscription's dates (informational: billing reads them) and features beyond the plan's. */
    subscriptionStart: text("subscription_start"),
    subscriptionEnd: text("subscription_end"),
    extraFeatures: text("extra_features", { mode: "json" }).$type<string[]>().notNull().default([]),
  },
  (t) => [
    index("tenants_status").on(t.status, t.id),
    index("tenants_tier").on(t.tier, t.id),
    uniqueIndex("tenants_external_id").on(t.externalId),
    index("tenants_trial_ends").on(t.trialEndsAt),
    index("tenants_parent").on(t.parent, t.id),
    check("tenants_status_check", sql`status IN ('provisioning', 'active', 'suspended', 'cancelled', 'deleted')`),
  ],
);

export type TenantRow = typeof tenants.$inferSelect;

export const adminAudit = sqliteTable(
  "admin_audit",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    at: text().notNull(),
    actor: text().notNull(),
    action: text().notNull(),
    target: text(),
    success: integer({ mode: "boolean" }).notNull(),
    details: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    requestId: text("request_id"),
  },
  (t) => [index("admin_audit_target").on(t.target, t.id)],
);

export const SWEEP_KINDS = ["retention", "billing", "backup", "migrate", "reconcile"] as const;
export type SweepKind = (typeof SWEEP_KINDS)[number];
export type SweepStatus = "pending" | "running" | "completed" | "failed";

export const sweepRuns = sqliteTable(
  "sweep_runs",
  {
    id: text().primaryKey(),
    kind: text().$type<SweepKind>().notNull(),
    status: text().$type<SweepStatus>().notNull(),
    trigger: text().$type<"cron" | "manual">().notNull(),
    /** The last tenant id processed. */
    cursor: text(),
    tenants: integer().notNull().default(0),
    failures: integer().notNull().default(0),
    counts: text({ mode: "json" }).$type<Record<string, number>>().notNull().default({}),
    errors: text({ mode: "json" }).$type<{ tenant: string; error: string }[]>().notNull().default([]),
    startedAt: text("started_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    finishedAt: text("finished_at"),
    /** An invocation advancing the run holds it until then. */
    leaseUntil: text("lease_until"),
  },
  (t) => [
    index("sweep_runs_open").on(t.status, t.startedAt),
    check("sweep_runs_kind_check", sql`kind IN ('retention', 'billing', 'backup', 'migrate', 'reconcile')`),
    check("sweep_runs_status_check", sql`status IN ('pending', 'running', 'completed', 'failed')`),
    check("sweep_runs_trigger_check", sql`trigger IN ('cron', 'manual')`),
  ],
);

export type SweepRun = typeof sweepRuns.$inferSelect;

/** 5xx answers per tenant and minute (written by the request log): the alerts' "errors in the last hour". */
export const tenantErrors = sqliteTable(
  "tenant_errors",
  {
    tenantId: text("tenant_id").notNull(),
    /** The minute, as an ISO prefix: "2026-12-01T10:18". */
    minute: text().notNull(),
    count: integer().notNull().default(0),
    lastStatus: integer("last_status").notNull(),
    lastRoute: text("last_route"),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.minute] }), index("tenant_errors_minute").on(t.minute)],
);

export const usageRollups = sqliteTable(
  "usage_rollups",
  {
    tenantId: text("tenant_id").notNull(),
    /** YYYY-MM */
    period: text().notNull(),
    tier: text().notNull(),
    metrics: text({ mode: "json" }).$type<Record<string, number>>().notNull(),
    rolledAt: text("rolled_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.period] }), index("usage_rollups_period").on(t.period, t.tenantId)],
);

/** Answers of control-plane POSTs with an Idempotency-Key, replayed for 24 h (null status: running). */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    /** The admin (or tenant user) who sent it: keys never collide across callers. */
    scope: text().notNull(),
    key: text().notNull(),
    fingerprint: text().notNull(),
    status: integer(),
    body: text(),
    contentType: text("content_type"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index("idempotency_keys_created").on(t.createdAt)],
);
