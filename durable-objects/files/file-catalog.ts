// The tenant's file metadata (path, size, type, checksum, uploader, times): listings and storage
// usage need no R2 scan. Uploads are checked (permission, type, size, quota) before the Worker
// streams the body to R2 and committed after, with their audit event; bytes in flight are
// reserved so concurrent uploads cannot overshoot the storage quota together.

import type { Principal } from "../access/authorize";
import { noteAccess } from "../audit/access-audit";
import { appendAudit } from "../audit/audit-chain";
import { appendChange } from "../changes/change-log";
import type { FileListing, FileOpen, FileView, StoredObject } from "../contract/files";
import { legalHoldFailure } from "../contract/legal-hold";
import { fail, ok, type Result } from "../contract/result";
import { Abort, inTransaction, isFailure, type Store } from "../db/store";
import { clearIntent, deleteToken, noteIntent } from "./file-intents";
import { openerFor } from "./file-seal";

interface FileRow extends Record<string, SqlStorageValue> {
  path: string;
  size: number;
  content_type: string;
  etag: string;
  sha256: string | null;
  sealing: string | null;
  uploaded_by: string;
  created_at: string;
  updated_at: string;
  audit_reads: number;
  last_read: string | null;
  storage_class: string;
}

const view = (r: FileRow): FileView => ({
  path: r.path,
  size: r.size,
  contentType: r.content_type,
  etag: r.etag,
  sha256: r.sha256,
  uploadedBy: r.uploaded_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  auditReads: r.audit_reads === 1,
  storageClass: r.storage_class,
});

export function fileRow(store: Store, path: string): FileRow | null {
  return store.sql.exec<FileRow>("SELECT * FROM files WHERE path = ?", path).toArray()[0] ?? null;
}

export const storedBytes = (store: Store) =>
  store.sql.exec<{ n: number | null }>("SELECT sum(size) AS n FROM files").one().n ?? 0;

export function typeAllowed(allowed: string[], contentType: string): boolean {
  if (allowed.length === 0) return true;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.endsWith("/*") ? type.startsWith(p.slice(0, -1)) : type === p;
  });
}

/** Bytes reserved by uploads in flight, per object (lost on eviction: they are transient). */
export class Reservations {
  private held = new Map<string, { bytes: number; path: string | null }>();
  get total(): number {
    let sum = 0;
    for (const r of this.held.values()) sum += r.bytes;
    return sum;
  }
  hold(bytes: number, path: string | null = null): string {
    const id = crypto.randomUUID();
    this.held.set(id, { bytes, path });
    return id;
  }
  /** Whether an upload to `path` is in flight (admitted, not yet committed or aborted). */
  uploading(path: string): boolean {
    for (const r of this.held.values()) if (r.path === path) return true;
    return false;
  }
  release(id: string): void {
    this.held.delete(id);
  }
}

/**
 * Under legal hold a path that holds a file (or is being uploaded) cannot be written again: R2
 * replaces the object at once, so the refusal must come before any byte is sent.
 */
export function overwriteFailure(store: Store, path: string, reservations?: Reservations) {
  if (!store.config.legalHold) return null;
  const exists = fileRow(store, path) !== null || Boolean(reservations?.uploading(path));
  return exists ? legalHoldFailure(store.config, "Overwriting a file") : null;
}

function quotaFailure(store: Store, needed: number, reserved: number) {
  const limit = store.config.limits.maxStorageBytes;
  const current = storedBytes(store) + reserved;
  if (current + needed <= limit) return null;
  return fail("quota_exceeded", `This tenant may store ${limit} bytes.`, { limit, current });
}

export function beginUpload(
  store: Store,
  reservations: Reservations,
  input: { path: string; contentType: string; size: number },
): Result<{ reservation: string }> {
  const { allowedFileTypes, maxFileBytes } = store.config.settings;
  if (!typeAllowed(allowedFileTypes, input.contentType)) {
    return fail("validation_failed", `Files of type '${input.contentType}' are not allowed here.`, {
      field: "content-type",
      allowed: allowedFileTypes,
    });
  }
  if (input.size > maxFileBytes) {
    return fail("payload_too_large", `Files are limited to ${maxFileBytes} bytes here.`, { limit: maxFileBytes });
  }
  const held = overwriteFailure(store, input.path, reservations);
  if (held) return held;
  const replaced = fileRow(store, input.path)?.size ?? 0;
  const over = quotaFailure(store, input.size - replaced, reservations.total);
  if (over) return over;
  return ok({ reservation: reservations.hold(input.size, input.path) });
}

/**
 * Records an object R2 now holds; refuses (so the Worker deletes it) when over the quota. The
 * upload's intent (file-intents.ts) is cleared with the row.
 */
export function commitUpload(
  store: Store,
  p: Principal,
  object: StoredObject,
  intent: string | null = null,
): Result<FileView> {
  const now = new Date().toISOString();
  const result = inTransaction(store, () => {
    const previous = fileRow(store, object.path);
    const over = quotaFailure(store, object.size - (previous?.size ?? 0), 0);
    if (over) throw new Abort(over);
    bumpR2Bytes(store, object.size - (previous?.size ?? 0));
    // auditReads is sticky: a file once marked stays audited when it is replaced.
    store.sql.exec(
      `INSERT INTO files (path, size, content_type, etag, sha256, sealing, uploaded_by, created_at, updated_at,
         audit_reads, last_read, storage_class)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'Standard')
       ON CONFLICT (path) DO UPDATE SET size = excluded.size, content_type = excluded.content_type,
         etag = excluded.etag, sha256 = excluded.sha256, sealing = excluded.sealing,
         uploaded_by = excluded.uploaded_by, updated_at = excluded.updated_at,
         audit_reads = max(audit_reads, excluded.audit_reads), last_read = excluded.last_read,
         storage_class = 'Standard'`,
      object.path,
      object.size,
      object.contentType,
      object.etag,
      object.sha256,
      object.sealing ?? null,
      p.sub,
      now,
      now,
      object.auditReads ? 1 : 0,
      now.slice(0, 10),
    );
    appendAudit(store.db, {
      actor: p.actor,
      action: "file.upload",
      resource: `file:${object.path}`,
      success: true,
      details: { size: object.size, contentType: object.contentType, replaced: previous !== null },
    });
    appendChange(store.db, { type: "file.put", actor: p.actor, id: object.path });
    if (intent) clearIntent(store, intent);
    return view(fileRow(store, object.path) as FileRow);
  });
  return isFailure(result) ? result : ok(result);
}

export function readFile(store: Store, path: string): Result<FileView> {
  const row = fileRow(store, path);
  return row ? ok(view(row)) : fail("not_found", `No file '${path}'.`);
}

/** A restored or imported file's bytes were sealed anew: its row says how. */
export function resealed(store: Store, path: string, sealing: string | null, was?: string | null): void {
  if (was === undefined) store.sql.exec("UPDATE files SET sealing = ? WHERE path = ?", sealing, path);
  else store.sql.exec("UPDATE files SET sealing = ? WHERE path = ? AND sealing IS ?", sealing, path, was);
}

/** A file with the key that opens its bytes, for the Worker's download. */
export function openFile(store: Store, path: string): Result<FileOpen> {
  const row = fileRow(store, path);
  if (!row) return fail("not_found", `No file '${path}'.`);
  return ok({ file: view(row), sealing: row.sealing, key: openerFor(store.cipher(), path, row.sealing) });
}

/**
 * A download the gate admitted: the file's last-read day moves (one write per file per day at
 * most, for archival) and a file marked auditReads gets a buffered file.downloaded event.
 */
export function readForDownload(store: Store, p: Principal, path: string): Result<FileOpen> {
  const row = fileRow(store, path);
  if (!row) return fail("not_found", `No file '${path}'.`);
  const today = new Date().toISOString().slice(0, 10);
  if (row.last_read !== today) store.sql.exec("UPDATE files SET last_read = ? WHERE path = ?", today, path);
  if (row.audit_reads === 1) {
    const details = { size: row.size, storageClass: row.storage_class };
    noteAccess(store.storage, {
      actor: p.actor,
      action: "file.downloaded",
      resource: `file:${path}`,
      success: true,
      details,
    });
  }
  return ok({ file: view(row), sealing: row.sealing, key: openerFor(store.cipher(), path, row.sealing) });
}

/**
 * The tenant's R2 bytes gauge, usage_counters' ('all', 'r2Bytes'): moved with every file row
 * put or deleted, started from the catalogue when absent (an older database, after a restore).
 */
export function bumpR2Bytes(store: Store, delta: number): void {
  r2Bytes(store);
  store.sql.exec(
    "UPDATE usage_counters SET value = max(value + ?, 0) WHERE period = 'all' AND metric = 'r2Bytes'",
    delta,
  );
}

export function r2Bytes(store: Store): number {
  const row = store.sql
    .exec<{ value: number }>("SELECT value FROM usage_counters WHERE period = 'all' AND metric = 'r2Bytes'")
    .toArray()[0];
  if (row) return row.value;
  const total = storedBytes(store);
  store.sql.exec("INSERT INTO usage_counters (period, metric, value) VALUES ('all', 'r2Bytes', ?)", total);
  return total;
}

/**
 * Deletes the row (with its audit event) first: an object without a row is never counted. With
 * `intent`, the delete's intent is noted in the same transaction, so a crash before R2's delete
 * is finished when the object starts again.
 */
export function deleteFileRow(store: Store, p: Principal, path: string, intent = false): Result<FileView> {
  const held = legalHoldFailure(store.config, "Deleting a file");
  if (held) return held;
  const result = inTransaction(store, () => {
    const row = fileRow(store, path);
    if (!row) throw new Abort(fail("not_found", `No file '${path}'.`));
    bumpR2Bytes(store, -row.size);
    store.sql.exec("DELETE FROM files WHERE path = ?", path);
    if (intent) noteIntent(store, deleteToken(path), { path, op: "delete", sub: p.sub });
    appendAudit(store.db, {
      actor: p.actor,
      action: "file.delete",
      resource: `file:${path}`,
      success: true,
      details: { size: row.size },
    });
    appendChange(store.db, { type: "file.deleted", actor: p.actor, id: path });
    return view(row);
  });
  return isFailure(result) ? result : ok(result);
}

/**
 * Files under `prefix` in path order. Without a delimiter every file below it, flat (as S3
 * ListObjectsV2); with "/" only those directly under it, plus the next level's folders.
 */
export function listFiles(
  store: Store,
  prefix: string,
  cursor: string | null,
  limit: number,
  delimiter: "/" | null = null,
): FileListing {
  if (delimiter === null) {
    const rows = store.sql
      .exec<FileRow>(
        "SELECT * FROM files WHERE path > ? AND substr(path, 1, length(?)) = ? ORDER BY path LIMIT ?",
        cursor ?? "",
        prefix,
        prefix,
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit);
    return {
      items: page.map(view),
      folders: [],
      nextCursor: rows.length > limit ? (page.at(-1)?.path ?? null) : null,
    };
  }
  const items: FileView[] = [];
  const folders: string[] = [];
  let after = cursor ?? "";
  let more = false;
  while (items.length + folders.length < limit) {
    const row = store.sql
      .exec<FileRow>(
        "SELECT * FROM files WHERE path > ? AND substr(path, 1, length(?)) = ? ORDER BY path LIMIT 1",
        after,
        prefix,
        prefix,
      )
      .toArray()[0];
    if (!row) break;
    const rest = row.path.slice(prefix.length);
    const slash = rest.indexOf(delimiter);
    if (slash >= 0) {
      const folder = `${prefix}${rest.slice(0, slash + 1)}`;
      folders.push(folder);
      after = `${folder}\u{10FFFF}`; // skip everything inside the folder
    } else {
      items.push(view(row));
      after = row.path;
    }
    more = true;
  }
  const hasNext =
    more &&
    store.sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM (SELECT 1 FROM files WHERE path > ? AND substr(path, 1, length(?)) = ? LIMIT 1)",
        after,
        prefix,
        prefix,
      )
      .one().n > 0;
  return { items, folders, nextCursor: hasNext ? after : null };
}

// ---- multipart uploads: ids are recorded per tenant, so a foreign id is simply unknown ----

export function rememberUpload(
  store: Store,
  uploadId: string,
  path: string,
  sub: string,
  keyId: string,
  contentType: string,
): void {
  store.sql.exec(
    "INSERT INTO meta (key, value) VALUES (?, ?)",
    `mpu:${uploadId}`,
    JSON.stringify({ path, sub, keyId, contentType, createdAt: new Date().toISOString() }),
  );
}

/** The upload's path, the data key its parts are sealed under and the type it began with. */
export function uploadPath(
  store: Store,
  uploadId: string,
): { path: string; keyId?: string; contentType?: string } | null {
  const row = store.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", `mpu:${uploadId}`).toArray()[0];
  return row ? (JSON.parse(row.value) as { path: string; keyId?: string; contentType?: string }) : null;
}

export function forgetUpload(store: Store, uploadId: string): void {
  store.sql.exec("DELETE FROM meta WHERE key = ?", `mpu:${uploadId}`);
}
