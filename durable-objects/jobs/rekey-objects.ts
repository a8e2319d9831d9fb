// Data key rotation, second half: every object the tenant keeps in R2 (its files, then its export
// and backup parts) sealed under a retired key is opened and sealed again under the current one,
// a few per alarm, before the control plane destroys the retired key. A file is rewritten only
// if R2 still holds the bytes that were read (a conditional put), so a concurrent upload wins.

import type { Store } from "../db/store";
import { resealed } from "../files/file-catalog";
import { parseSealing } from "../storage/object-seal";
import { tenantStorage } from "../storage/tenant-storage";

export interface ObjectsRekey {
  stage: "files" | "parts";
  /** Files: the last path done; parts: R2's listing cursor. */
  after: string | null;
  objects: number;
}

const stale = (sealing: string | null, keyId: string) => parseSealing(sealing)?.keyId !== keyId;

/** Re-seals up to `limit` objects; returns the next position, or null when every object is done. */
export async function rekeyObjects(
  store: Store,
  bucket: R2Bucket,
  at: ObjectsRekey,
  limit: number,
): Promise<ObjectsRekey | null> {
  const keys = store.cipher();
  const storage = tenantStorage(bucket, store.config.id, keys);
  const s = { ...at };
  if (s.stage === "files") {
    const rows = store.sql
      .exec<{ path: string; sealing: string | null; etag: string; content_type: string }>(
        "SELECT path, sealing, etag, content_type FROM files WHERE path > ? ORDER BY path LIMIT ?",
        s.after ?? "",
        limit,
      )
      .toArray();
    for (const row of rows) {
      if (row.sealing && !stale(row.sealing, keys.keyId)) continue;
      const object = await storage.getStoredFile(row.path, row);
      if (!object || object.stale) {
        await object?.body.cancel().catch(() => {});
        continue;
      }
      const written = await storage.rewriteStoredFile(row.path, object, row.content_type);
      // Sealed anew only if nothing replaced the file meanwhile (then its row is the newer one's).
      if (written) store.storage.transactionSync(() => resealed(store, row.path, written.sealing, row.sealing));
      s.objects++;
    }
    if (rows.length < limit) return { stage: "parts", after: null, objects: s.objects };
    return { ...s, after: rows.at(-1)?.path ?? s.after };
  }
  const page = await storage.listBundleParts(s.after, limit);
  for (const p of page.parts) {
    if (!p.sealing || !stale(p.sealing, keys.keyId)) continue; // in clear from before, or current
    const object = await storage.getPart(p.ref, p.part);
    if (!object) continue;
    await storage.putPart(p.ref, p.part, object.body, object.contentType, object.size);
    s.objects++;
  }
  return page.cursor ? { ...s, after: page.cursor } : null;
}
