// The audit archive: a hard-deleted tenant's audit chain, kept outside its prefix (under
// "_audit-archive/{id}/", which no tenant prefix "tenant-{id}/" can reach) for auditRetentionDays
// from each event. The tenant's object writes it before its storage is wiped (audit-archiving.ts);
// the Worker lists, verifies and trims it. Only this module builds the archive's keys.
import { createHash } from "node:crypto";
import { type AuditCheckpoint, type ChainRow, ChainVerifier, checkpointSignature } from "../audit/audit-chain";
import { parseAuditQuery } from "../audit/audit-log";
import type { AuditEvent, AuditQuery, Verification } from "../contract/audit";
import { ok, type Result } from "../contract/result";
import { isTenantId } from "../contract/tenant-id";
import { StorageKeyError } from "./tenant-storage";

export const ARCHIVE_FORMAT = "silo-audit-archive/1";
/** Events per part; a part is named by its first sequence number. */
export const ARCHIVE_PART_EVENTS = 1000;

export interface ArchivePart {
  name: string;
  firstSeq: number;
  lastSeq: number;
  firstAt: string;
  lastAt: string;
  lastHash: string;
  count: number;
  sha256: string;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  tenant: string;
  archivedAt: string;
  /** The tenant's auditRetentionDays when it was deleted: each event is kept this long. */
  retentionDays: number;
  /** Where the kept events start: the last event trimmed (live retention or archive trims). */
  checkpoint: AuditCheckpoint | null;
  /** The chain's last event when it was archived. */
  head: { seq: number; hash: string } | null;
  count: number;
  parts: ArchivePart[];
  /** False while the object is still writing parts; the wipe waits for true. */
  complete: boolean;
}

const DAY = 86_400_000;
const PART_NAME = /^events\/\d{12}\.ndjson$/;

export function auditArchive(bucket: R2Bucket, tenantId: string) {
  if (!isTenantId(tenantId)) throw new StorageKeyError(`invalid tenant id ${JSON.stringify(tenantId)}`);
  const root = `_audit-archive/${tenantId}/`;
  const partKey = (name: string) => {
    if (!PART_NAME.test(name)) throw new StorageKeyError(`invalid archive part ${JSON.stringify(name)}`);
    return `${root}${name}`;
  };
  return {
    async manifest(): Promise<ArchiveManifest | null> {
      const object = await bucket.get(`${root}manifest.json`);
      return object ? ((await object.json()) as ArchiveManifest) : null;
    },
    putManifest: (m: ArchiveManifest) =>
      bucket.put(`${root}manifest.json`, JSON.stringify(m), { httpMetadata: { contentType: "application/json" } }),
    /** Writes events (in sequence order, at least one) as one part and describes it. */
    async putPart(events: ChainRow[]): Promise<ArchivePart> {
      const first = events[0] as ChainRow;
      const last = events[events.length - 1] as ChainRow;
      const name = `events/${String(first.seq).padStart(12, "0")}.ndjson`;
      const body = `${events.map((e) => JSON.stringify(e)).join("\n")}\n`;
      await bucket.put(partKey(name), body, { httpMetadata: { contentType: "application/x-ndjson" } });
      return {
        name,
        firstSeq: first.seq,
        lastSeq: last.seq,
        firstAt: first.at,
        lastAt: last.at,
        lastHash: last.hash,
        count: events.length,
        sha256: createHash("sha256").update(body).digest("hex"),
      };
    },
    async readPart(part: ArchivePart): Promise<ChainRow[]> {
      const object = await bucket.get(partKey(part.name));
      if (!object) return [];
      const text = await object.text();
      return text
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as ChainRow);
    },
    deletePart: (part: ArchivePart) => bucket.delete(partKey(part.name)),
  };
}

const view = ({ redaction: _signature, ...event }: ChainRow): AuditEvent => event;

/**
 * A page of the archived events, filtered like the live trail (`null`: no archive). Parts before
 * the cursor are skipped by their sequence range; only the parts a page needs are read.
 */
export async function listArchivedAudit(
  bucket: R2Bucket,
  tenantId: string,
  query: AuditQuery,
): Promise<Result<{ items: AuditEvent[]; nextCursor: string | null }> | null> {
  const archive = auditArchive(bucket, tenantId);
  const manifest = await archive.manifest();
  if (!manifest) return null;
  const filter = parseAuditQuery(query);
  if (!filter.ok) return filter;
  const f = filter.value;
  const matches: AuditEvent[] = [];
  for (const part of manifest.parts) {
    if (part.lastSeq <= f.after || (f.since && part.lastAt < f.since) || (f.until && part.firstAt > f.until)) continue;
    for (const row of await archive.readPart(part)) {
      if (row.seq <= f.after) continue;
      if (f.action && row.action !== f.action) continue;
      if (f.actor && row.actor !== f.actor) continue;
      if ((f.since && row.at < f.since) || (f.until && row.at > f.until)) continue;
      matches.push(view(row));
      if (matches.length > f.limit) break;
    }
    if (matches.length > f.limit) break;
  }
  const items = matches.slice(0, f.limit);
  return ok({ items, nextCursor: matches.length > f.limit ? String(items.at(-1)?.seq) : null });
}

/** Verifies the archived chain from its signed checkpoint, as GET /v1/audit/verify does live. */
export async function verifyArchivedAudit(
  bucket: R2Bucket,
  tenantId: string,
  masterKey: string,
): Promise<Verification | null> {
  const archive = auditArchive(bucket, tenantId);
  const manifest = await archive.manifest();
  if (!manifest) return null;
  const verifier = new ChainVerifier(masterKey, manifest.checkpoint);
  for (const part of manifest.parts) {
    for (const row of await archive.readPart(part)) if (!verifier.push(row)) return verifier.result();
  }
  // A missing part or event breaks the sequence; events missing at the end fall short of the head.
  const result = verifier.result();
  if (result.ok && manifest.head && verifier.nextSeq <= manifest.head.seq) {
    return { ok: false, brokenAt: verifier.nextSeq, count: result.count };
  }
  return result;
}

/**
 * Drops the archived events older than the archive's retention (from each event's time): whole
 * parts, and the older half of the part the cutoff falls in. The checkpoint moves to the last
 * event dropped, signed like the live trail's, so the rest still verifies. Idempotent.
 */
export async function trimAuditArchive(
  bucket: R2Bucket,
  tenantId: string,
  masterKey: string,
  now: Date,
): Promise<{ trimmed: number }> {
  const archive = auditArchive(bucket, tenantId);
  const manifest = await archive.manifest();
  if (!manifest?.complete) return { trimmed: 0 };
  const cutoff = new Date(now.getTime() - manifest.retentionDays * DAY).toISOString();
  const sign = (seq: number, hash: string, at: string): AuditCheckpoint => ({
    seq,
    hash,
    at,
    signature: checkpointSignature(masterKey, seq, hash),
  });
  let checkpoint = manifest.checkpoint;
  let trimmed = 0;
  const kept: ArchivePart[] = [];
  const dropped: ArchivePart[] = [];
  for (const part of manifest.parts) {
    if (kept.length > 0 || part.firstAt >= cutoff) {
      kept.push(part);
    } else if (part.lastAt < cutoff) {
      dropped.push(part);
      checkpoint = sign(part.lastSeq, part.lastHash, part.lastAt);
      trimmed += part.count;
    } else {
      const rows = await archive.readPart(part);
      const old = rows.filter((r) => r.at < cutoff);
      const last = old.at(-1);
      if (!last) {
        kept.push(part);
        continue;
      }
      checkpoint = sign(last.seq, last.hash, last.at);
      trimmed += old.length;
      dropped.push(part);
      kept.push(await archive.putPart(rows.slice(old.length)));
    }
  }
  if (trimmed === 0) return { trimmed: 0 };
  await archive.putManifest({ ...manifest, checkpoint, parts: kept, count: manifest.count - trimmed });
  // The manifest no longer names them; a part rewritten under its new first seq is kept.
  const keptNames = new Set(kept.map((p) => p.name));
  for (const part of dropped) if (!keptNames.has(part.name)) await archive.deletePart(part);
  return { trimmed };
}
