// Recovery of file writes a crash cut in two (found by `npm run soak`: an object in R2 with no
// catalogue row, or a row describing bytes an unanswered overwrite replaced). An object started
// again finds the intents its previous instance left open (file-intents.ts) and settles each path
// to what R2 holds: an uploaded object is recorded (removed instead when over the quota), the
// object of a committed delete is removed, a row whose object is gone is dropped.
import type { Principal } from "../access/authorize";
import { fail } from "../contract/result";
import type { Store } from "../db/store";
import { parseSealing, SEALING_META } from "../storage/object-seal";
import { tenantStorage } from "../storage/tenant-storage";
import { commitUpload, deleteFileRow, fileRow } from "./file-catalog";
import { clearIntent, type Intent, openIntents } from "./file-intents";

const recovery = (sub: string): Principal => ({
  kind: "admin",
  sub,
  actor: "system:recovery",
  roles: [],
  permissions: new Set(),
});

/**
 * Settles every path an earlier instance left in flight. Run when the object starts, before it
 * serves (inside blockConcurrencyWhile), so no request of this instance is in flight. Returns
 * the number of paths settled; a path R2 cannot be asked about now stays open for the next start.
 */
export async function settleFiles(store: Store, bucket: R2Bucket): Promise<number> {
  const open = openIntents(store);
  if (open.size === 0) return 0;
  const files = tenantStorage(bucket, store.config.id);
  let settled = 0;
  for (const [path, { tokens, put }] of open) {
    try {
      await settle(store, files, path, put);
    } catch (err) {
      // R2 unreachable now: the intents stay, and the next start tries again; the object serves.
      console.error(`settling file ${path} failed: ${err instanceof Error ? err.message : err}`);
      continue;
    }
    store.storage.transactionSync(() => {
      for (const token of tokens) clearIntent(store, token);
    });
    settled++;
  }
  return settled;
}

async function settle(store: Store, files: ReturnType<typeof tenantStorage>, path: string, put: Intent | null) {
  const object = await files.headStoredFile(path);
  const row = fileRow(store, path);
  const marker = object?.customMetadata?.[SEALING_META] ?? null;
  // A sealed object is the row's when the descriptor (its salt is new on every write) agrees.
  const agrees =
    object && row && (marker ? row.sealing === marker : row.etag === object.httpEtag && row.size === object.size);
  if (!agrees && object && (put || row)) {
    // The object R2 holds is the outcome of an unanswered upload: record it, quota permitting.
    // A sealed one's plaintext ETag was never told to the object: R2's stands in for it. A
    // multipart one whose layout was never told cannot be opened: it goes.
    const sealing = marker && marker !== "s1" ? parseSealing(marker) : null;
    const sha256 = object.checksums.sha256;
    const recorded =
      marker && !sealing
        ? fail("validation_failed", "a sealed multipart object without its layout")
        : commitUpload(store, recovery(put?.sub ?? row?.uploaded_by ?? "unknown"), {
            path,
            size: sealing ? sealing.size : object.size,
            contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
            etag: object.httpEtag,
            sha256: sha256 && !sealing ? Buffer.from(sha256).toString("hex") : null,
            sealing: marker,
          });
    if (!recorded.ok) {
      await files.deleteStoredFile(path);
      deleteFileRow(store, recovery("system"), path);
    }
  } else if (!agrees && object) {
    await files.deleteStoredFile(path); // a committed delete whose object outlived it
  } else if (!agrees && row) {
    deleteFileRow(store, recovery("system"), path); // bytes gone: the row goes too
  }
}
