// Reading the audit trail: filtered pages, and verification of the hash chain end to end.

import { and, asc, eq, gt, gte, lte, type SQL } from "drizzle-orm";
import type { AuditEvent, AuditQuery, Verification } from "../contract/audit";
import { fail, ok, type Result } from "../contract/result";
import { auditEvents } from "../db/schema";
import type { Store } from "../db/store";
import { readCheckpoint } from "../lifecycle/retention";
import type { ChainRow } from "./audit-chain";
import { ChainVerifier } from "./audit-chain";

export interface AuditFilter {
  limit: number;
  after: number;
  action?: string;
  actor?: string;
  since?: string;
  until?: string;
}

/** The query's bounds and filters, checked (the live trail and the archive read it alike). */
export function parseAuditQuery(query: AuditQuery): Result<AuditFilter> {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return fail("validation_failed", "limit is 1 to 1000.");
  const after = query.cursor === undefined ? 0 : Number(query.cursor);
  if (!Number.isInteger(after) || after < 0) return fail("validation_failed", "The cursor is not valid.");
  for (const key of ["since", "until"] as const) {
    const v = query[key];
    if (v !== undefined && Number.isNaN(Date.parse(v))) return fail("validation_failed", `${key} is an ISO 8601 time.`);
  }
  const iso = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());
  return ok({
    limit,
    after,
    action: query.action,
    actor: query.actor,
    since: iso(query.since),
    until: iso(query.until),
  });
}

export function listAudit(store: Store, query: AuditQuery): Result<{ items: AuditEvent[]; nextCursor: string | null }> {
  const parsed = parseAuditQuery(query);
  if (!parsed.ok) return parsed;
  const { limit, after } = parsed.value;
  const where: SQL[] = [gt(auditEvents.seq, after)];
  const f = parsed.value;
  if (f.action) where.push(eq(auditEvents.action, f.action));
  if (f.actor) where.push(eq(auditEvents.actor, f.actor));
  if (f.since) where.push(gte(auditEvents.at, f.since));
  if (f.until) where.push(lte(auditEvents.at, f.until));
  const rows = store.db
    .select()
    .from(auditEvents)
    .where(and(...where))
    .orderBy(asc(auditEvents.seq))
    .limit(limit + 1)
    .all() as AuditEvent[];
  const items = rows.slice(0, limit);
  return ok({ items, nextCursor: rows.length > limit ? String(items.at(-1)?.seq) : null });
}

/** A stored audit row as verification reads it, with its redaction signature if an erasure rewrote it. */
export function chainRowOf(row: Record<string, SqlStorageValue>, redacted: Map<number, string>): ChainRow {
  const seq = row.seq as number;
  const redaction = redacted.get(seq);
  return {
    seq,
    at: row.at as string,
    actor: row.actor as string,
    action: row.action as string,
    resource: row.resource as string,
    success: row.success === 1,
    details: JSON.parse(row.details as string),
    prevHash: row.prev_hash as string,
    hash: row.hash as string,
    ip: (row.ip as string | null) ?? null,
    userAgent: (row.user_agent as string | null) ?? null,
    ...(redaction ? { redaction } : {}),
  };
}

/** The signatures of events an erasure rewrote, by sequence number (meta rows). */
export function redactions(store: Store): Map<number, string> {
  const rows = store.sql
    .exec<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key LIKE 'audit_redaction:%'")
    .toArray();
  return new Map(rows.map((r) => [Number(r.key.slice("audit_redaction:".length)), r.value]));
}

/** Recomputes every hash in order; the first row whose link or content does not match breaks it. */
export function verifyAudit(store: Store, masterKey: string): Verification {
  // After retention trimmed the oldest events, the chain starts at a signed checkpoint.
  const verifier = new ChainVerifier(masterKey, readCheckpoint(store));
  const redacted = redactions(store);
  const cursor = store.sql.exec<Record<string, SqlStorageValue>>(
    "SELECT seq, at, actor, action, resource, success, details, prev_hash, hash, ip, user_agent FROM audit_events ORDER BY seq",
  );
  for (const row of cursor) {
    const intact = verifier.push(chainRowOf(row, redacted));
    if (!intact) break;
  }
  return verifier.result();
}
