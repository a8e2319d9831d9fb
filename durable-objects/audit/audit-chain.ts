// The tamper-evident audit trail: each row carries the SHA-256 of the previous row's hash and its
// own canonical content. Appends are synchronous so they run inside the mutation's transactionSync.

import { createHash } from "node:crypto";
import { desc, eq } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { AuditEvent } from "../contract/audit";
import { auditEvents, meta } from "../db/schema";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditInput {
  actor: string;
  action: string;
  resource: string;
  success: boolean;
  details?: Record<string, unknown>;
}

/** JSON with object keys sorted at every depth, so a hash never depends on insertion order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function eventHash(
  prevHash: string,
  e: Omit<AuditEvent, "hash" | "prevHash" | "details"> & { details: Record<string, unknown> },
): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    action: e.action,
    resource: e.resource,
    success: e.success,
    details: e.details,
  });
  return createHash("sha256").update(prevHash).update("\n").update(body).digest("hex");
}

// biome-ignore lint/suspicious/noExplicitAny: the schema type parameter is irrelevant here
type Db = DrizzleSqliteDODatabase<any>;

function checkpointOf(db: Db): { seq: number; hash: string } | undefined {
  const row = db.select({ value: meta.value }).from(meta).where(eq(meta.key, "audit_checkpoint")).get();
  return row ? (JSON.parse(row.value) as { seq: number; hash: string }) : undefined;
}

/** Appends one event; call inside the transaction of the change it describes. */
export function appendAudit(db: Db, input: AuditInput, now = new Date()): void {
  const last = db
    .select({ seq: auditEvents.seq, hash: auditEvents.hash })
    .from(auditEvents)
    .orderBy(desc(auditEvents.seq))
    .limit(1)
    .get();
  // With every earlier event trimmed by retention, the chain continues from its checkpoint.
  const anchor = last ?? checkpointOf(db);
  const event = {
    seq: (anchor?.seq ?? 0) + 1,
    at: now.toISOString(),
    actor: input.actor,
    action: input.action,
    resource: input.resource,
    success: input.success,
    details: input.details ?? {},
  };
  const prevHash = anchor?.hash ?? GENESIS_HASH;
  db.insert(auditEvents)
    .values({ ...event, prevHash, hash: eventHash(prevHash, event) })
    .run();
}
