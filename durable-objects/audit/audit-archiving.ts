// Archiving the audit chain before a hard delete wipes the tenant's storage: every event (with
// the signature of any an erasure rewrote) copied to the audit archive in parts, then a manifest
// marked complete. Audit events hold names, ids, counts and versions, never record values, so
// they are copied as they are. Resumable and idempotent: a call continues after the last full
// part already written, and answers complete at once while the archive's head is the chain's.
import type { Result } from "../contract/result";
import { ok } from "../contract/result";
import type { Store } from "../db/store";
import { readCheckpoint } from "../lifecycle/retention";
import { ARCHIVE_FORMAT, ARCHIVE_PART_EVENTS, type ArchivePart, auditArchive } from "../storage/audit-archive";
import type { ChainRow } from "./audit-chain";
import { chainRowOf, redactions } from "./audit-log";

/** Parts one call writes before it yields (the deletion sweep calls again). */
const MAX_PARTS_PER_CALL = 20;

function eventsAfter(store: Store, after: number, redacted: Map<number, string>): ChainRow[] {
  return store.sql
    .exec<Record<string, SqlStorageValue>>(
      "SELECT seq, at, actor, action, resource, success, details, prev_hash, hash, ip, user_agent FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?",
      after,
      ARCHIVE_PART_EVENTS,
    )
    .toArray()
    .map((row) => chainRowOf(row, redacted));
}

export async function archiveAuditChain(
  store: Store,
  bucket: R2Bucket,
  maxParts = MAX_PARTS_PER_CALL,
): Promise<Result<{ complete: boolean; events: number }>> {
  const archive = auditArchive(bucket, store.config.id);
  const checkpoint = readCheckpoint(store);
  const last = store.sql
    .exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    .toArray()[0];
  const head = last ?? (checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : null);
  const prior = await archive.manifest();
  if (prior?.complete && prior.head?.seq === head?.seq && prior.head?.hash === head?.hash) {
    return ok({ complete: true, events: prior.count });
  }
  // Full parts written by an earlier call stay; a changed checkpoint means starting over.
  const parts: ArchivePart[] =
    prior && prior.checkpoint?.seq === checkpoint?.seq
      ? prior.parts.filter((p) => p.count === ARCHIVE_PART_EVENTS)
      : [];
  let after = parts.at(-1)?.lastSeq ?? checkpoint?.seq ?? 0;
  const redacted = redactions(store);
  let complete = false;
  for (let i = 0; i < maxParts; i++) {
    const events = eventsAfter(store, after, redacted);
    if (events.length > 0) {
      parts.push(await archive.putPart(events));
      after = events[events.length - 1]?.seq ?? after;
    }
    if (events.length < ARCHIVE_PART_EVENTS) {
      complete = true;
      break;
    }
  }
  const count = parts.reduce((n, p) => n + p.count, 0);
  const tip = parts.at(-1);
  await archive.putManifest({
    format: ARCHIVE_FORMAT,
    tenant: store.config.id,
    archivedAt: new Date().toISOString(),
    retentionDays: store.config.settings.auditRetentionDays,
    checkpoint,
    head: complete ? (tip ? { seq: tip.lastSeq, hash: tip.lastHash } : head) : null,
    count,
    parts,
    complete,
  });
  return ok({ complete, events: count });
}
