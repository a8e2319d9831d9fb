// The tenant database's system tables (drizzle). Tenant collections are real tables too, but they
// are built at run time by sql/ddl.ts, never declared here.

import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { CollectionDef } from "../collections/collection-schema";
import type { Caller } from "../contract/caller";
import type { JobState } from "../jobs/job-state";

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
    /** The client's address and user agent (null in events older than them, or without a request). */
    ip: text(),
    userAgent: text("user_agent"),
  },
  (t) => [index("audit_events_action").on(t.action, t.seq), index("audit_events_actor").on(t.actor, t.seq)],
);

/** Collection definitions: fields, options and the rename mapping. The data is in real tables. */
export const collections = sqliteTable("collections", {
  name: text().primaryKey(),
  definition: text({ mode: "json" }).$type<CollectionDef>().notNull(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** The data vault: one immutable row per version of every record. */
export const recordVersions = sqliteTable(
  "record_versions",
  {
    collection: text().notNull(),
    recordId: text("record_id").notNull(),
    version: integer().notNull(),
    op: text().notNull(),
    data: text({ mode: "json" }).$type<Record<string, unknown>>().notNull(),
    actor: text().notNull(),
    at: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.collection, t.recordId, t.version] }), index("record_versions_at").on(t.at)],
);

/** Record shares in collections with ACLs: a user or role gets read or write. */
export const shares = sqliteTable(
  "shares",
  {
    id: text().primaryKey(),
    collection: text().notNull(),
    recordId: text("record_id").notNull(),
    principal: text().notNull(),
    permission: text().notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("shares_record").on(t.collection, t.recordId), index("shares_principal").on(t.principal)],
);

/** Answers of POSTs with an Idempotency-Key, replayed for 24 h. */
export const idempotencyKeys = sqliteTable("idempotency_keys", {
  key: text().primaryKey(),
  fingerprint: text().notNull(),
  status: integer().notNull(),
  body: text().notNull(),
  createdAt: text("created_at").notNull(),
});

/** Usage meters per period (YYYY-MM) and metric. */
export const usageCounters = sqliteTable(
  "usage_counters",
  {
    period: text().notNull(),
    metric: text().notNull(),
    value: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.period, t.metric] })],
);

/** API keys for machine clients: only a hash of the secret is kept. */
export const apiKeys = sqliteTable("api_keys", {
  id: text().primaryKey(),
  name: text().notNull(),
  hash: text().notNull(),
  scopes: text({ mode: "json" }).$type<string[]>().notNull(),
  createdBy: text("created_by").notNull(),
  createdAt: text("created_at").notNull(),
  expiresAt: text("expires_at"),
  lastUsedAt: text("last_used_at"),
  revokedAt: text("revoked_at"),
});

/** File metadata: listings and storage usage need no R2 scan. */
export const files = sqliteTable(
  "files",
  {
    path: text().primaryKey(),
    size: integer().notNull(),
    contentType: text("content_type").notNull(),
    etag: text().notNull(),
    sha256: text(),
    /** How the object is sealed in R2 (storage/object-seal.ts); null: stored before, in clear. */
    sealing: text(),
    uploadedBy: text("uploaded_by").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** Downloads are audited (file.downloaded). */
    auditReads: integer("audit_reads").notNull().default(0),
    /** The UTC day the file was last read or written (updated at most once a day), for archival. */
    lastRead: text("last_read"),
    /** R2 storage class the object was last written with: "Standard" or "InfrequentAccess". */
    storageClass: text("storage_class").notNull().default("Standard"),
  },
  (t) => [index("files_uploaded_by").on(t.uploadedBy)],
);

/** Export and backup bundles this tenant has written (or is writing, a chunk per alarm). */
export const exportJobs = sqliteTable("export_jobs", {
  id: text().primaryKey(),
  kind: text().$type<"export" | "backup" | "import" | "rekey" | "restore">().notNull(),
  status: text().$type<"pending" | "running" | "completed" | "failed" | "expired">().notNull(),
  /** Where the bundle lives (for imports: the source tenant and export id). */
  location: text().notNull(),
  /** Progress: which section and row the next chunk starts at, counts so far, parts written. */
  state: text({ mode: "json" }).$type<JobState>().notNull(),
  error: text(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
  finishedAt: text("finished_at"),
});

/**
 * The change feed (DESIGN §10): one event per committed change, appended in the change's own
 * transaction by changes/change-log.ts; `seq` is gapless per tenant. `record` is the record's
 * stored form (encrypted fields sealed, pii in clear): the feed masks it per reader.
 */
export const changeEvents = sqliteTable(
  "change_events",
  {
    seq: integer().primaryKey(),
    at: text().notNull(),
    type: text().notNull(),
    collection: text(),
    resourceId: text("resource_id"),
    version: integer(),
    actor: text().notNull(),
    record: text({ mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("change_events_collection").on(t.collection, t.seq), index("change_events_at").on(t.at)],
);

/** Webhook endpoints: the registrant's caller decides what each may receive (DESIGN §10). */
export const webhooks = sqliteTable("webhooks", {
  id: text().primaryKey(),
  url: text().notNull(),
  /** Event types, or null for all of them. */
  events: text({ mode: "json" }).$type<string[] | null>(),
  collections: text({ mode: "json" }).$type<string[] | null>(),
  /** The signing secret, sealed with the tenant's data key. */
  secret: text().notNull(),
  /** The caller who registered it, as the Worker established it: events are filtered as its reads. */
  caller: text({ mode: "json" }).$type<Caller>().notNull(),
  /** The last seq of the change log taken into the outbox. */
  position: integer().notNull(),
  createdAt: text("created_at").notNull(),
  createdBy: text("created_by").notNull(),
});

/** The outbox: one delivery per event and endpoint, retried with backoff for 24 h. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    webhookId: text("webhook_id").notNull(),
    seq: integer().notNull(),
    type: text().notNull(),
    body: text().notNull(),
    status: text().$type<"pending" | "delivered" | "failed">().notNull(),
    attempts: integer().notNull().default(0),
    nextAt: text("next_at").notNull(),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: text("created_at").notNull(),
    deliveredAt: text("delivered_at"),
  },
  (t) => [
    index("webhook_deliveries_due").on(t.status, t.nextAt),
    index("webhook_deliveries_hook").on(t.webhookId, t.id),
  ],
);
