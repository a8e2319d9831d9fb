// Archival: files not read or written for settings.archiveAfterDays are rewritten in place with
// R2's Infrequent Access storage class (same key, bytes and metadata), so a download still reads
// them as before. The put is conditional on the object's etag: an upload racing the sweep wins,
// and the file is simply left for the next run. The last-read day moves at most once a day per
// file (file-catalog.ts readForDownload), so reads cost no write of their own.
import { ok, type Result } from "../contract/result";
import type { Store } from "../db/store";
import { tenantStorage } from "../storage/tenant-storage";

export const INFREQUENT_ACCESS = "InfrequentAccess";
/** Files moved per call; the daily sweep continues the next day. */
export const ARCHIVE_BATCH = 50;

interface StaleFile extends Record<string, SqlStorageValue> {
  path: string;
  etag: string;
}

/** The UTC day before which a file counts as stale, or null when archival is off. */
export function staleBefore(store: Store, now: Date): string | null {
  const days = store.config.settings.archiveAfterDays;
  if (!days) return null;
  return new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10);
}

/** Standard-class files whose last read (or, never read, whose last write) is before the cutoff. */
export function staleFiles(store: Store, before: string, limit = ARCHIVE_BATCH): StaleFile[] {
  return store.sql
    .exec<StaleFile>(
      `SELECT path, etag FROM files WHERE storage_class = 'Standard'
         AND coalesce(last_read, substr(updated_at, 1, 10)) < ? ORDER BY path LIMIT ?`,
      before,
      limit,
    )
    .toArray();
}

export async function archiveStaleFiles(
  store: Store,
  bucket: R2Bucket,
  now: Date,
): Promise<Result<{ archived: number; skipped: number }>> {
  const before = staleBefore(store, now);
  if (!before) return ok({ archived: 0, skipped: 0 });
  const storage = tenantStorage(bucket, store.config.id);
  let archived = 0;
  let skipped = 0;
  for (const file of staleFiles(store, before)) {
    const moved = await storage.moveStoredFile(file.path, INFREQUENT_ACCESS);
    if (!moved) {
      skipped++;
      continue;
    }
    // The same (sealed) bytes: the catalogue's plaintext etag and sealing still describe them.
    const changed = store.sql.exec(
      "UPDATE files SET storage_class = ? WHERE path = ? AND etag = ?",
      INFREQUENT_ACCESS,
      file.path,
      file.etag,
    ).rowsWritten;
    if (changed > 0) archived++;
    else skipped++;
  }
  return ok({ archived, skipped });
}
