// Reading the audit trail: filtered pages, and verification of the hash chain end to end.

import { and, asc, eq, gt, gte, lte, type SQL } from "drizzle-orm";
import type { AuditEvent, AuditQuery, Verification } from "../contract/audit";
import { fail, ok, type Result } from "../contract/result";
import { auditEvents } from "../db/schema";
import type { Store } from "../db/store";
import { checkpointSignature, readCheckpoint } from "../lifecycle/retention";
import { eventHash, GENESIS_HASH } from "./audit-chain";

export function listAudit(store: Store, query: AuditQuery): Result<{ items: AuditEvent[]; nextCursor: string | null }> {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return fail("validation_failed", "limit is 1 to 1000.");
  const after = query.cursor === undefined ? 0 : Number(query.cursor);
  if (!Number.isInteger(after) || after < 0) return fail("validation_failed", "The cursor is not valid.");
  for (const key of ["since", "until"] as const) {
    const v = query[key];
    if (v !== undefined && Number.isNaN(Date.parse(v))) return fail("validation_failed", `${key} is an ISO 8601 time.`);
  }
  const where: SQL[] = [gt(auditEvents.seq, after)];
  if (query.action) where.push(eq(auditEvents.action, query.action));
  if (query.actor) where.push(eq(auditEvents.actor, query.actor));
  if (query.since) where.push(gte(auditEvents.at, new Date(query.since).toISOString()));
  if (query.until) where.push(lte(auditEvents.at, new Date(query.until).toISOString()));
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

/** Recomputes every hash in order; the first row whose link or content does not match breaks it. */
export function verifyAudit(store: Store, masterKey: string): Verification {
  // After retention trimmed the oldest events, the chain starts at a signed checkpoint.
  const checkpoint = readCheckpoint(store);
  if (checkpoint && checkpoint.signature !== checkpointSignature(masterKey, checkpoint.seq, checkpoint.hash)) {
    return { ok: false, brokenAt: checkpoint.seq, count: 0 };
  }
  let prev = checkpoint?.hash ?? GENESIS_HASH;
  let expectedSeq = (checkpoint?.seq ?? 0) + 1;
  let count = 0;
  const cursor = store.sql.exec<Record<string, SqlStorageValue>>(
    "SELECT seq, at, actor, action, resource, success, details, prev_hash, hash FROM audit_events ORDER BY seq",
  );
  for (const row of cursor) {
    const event = {
      seq: row.seq as number,
      at: row.at as string,
      actor: row.actor as string,
      action: row.action as string,
      resource: row.resource as string,
      success: row.success === 1,
      details: JSON.parse(row.details as string),
    };
    if (event.seq !== expectedSeq || row.prev_hash !== prev || eventHash(prev, event) !== row.hash) {
      return { ok: false, brokenAt: event.seq, count };
    }
    prev = row.hash as string;
    expectedSeq++;
    count++;
  }
  return { ok: true, count };
}
