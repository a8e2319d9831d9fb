// Recovery of file writes a crash cut in two (found by `npm run soak`: an object in R2 with no
// catalogue row, or a row describing bytes an unanswered overwrite replaced). An object started
// again finds the intents its previous instance left open (file-intents.ts) and settles each path
// to what R2 holds: an uploaded object is recorded (removed instead when over the quota), the
// object of a committed delete is removed, a row whose object is gone is dropped.

import { createHash } from "node:crypto";
import type { Principal } from "../access/authorize";
import { fail } from "../contract/result";
import type { Store } from "../db/store";
import { multipartEtag, parseSealing, SEALING_META, type Sealing } from "../storage/object-seal";
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
  // With the tenant's keys: a sealed upload's digests are read through its seal.
  const files = tenantStorage(bucket, store.config.id, store.cipher());
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

type Files = ReturnType<typeof tenantStorage>;

/**
 * The plaintext's ETag (its MD5; for several parts the MD5 of the parts' MD5s, "-n", as R2 gives
 * plaintext) and SHA-256 (single-part only, as an upload records it), read through the seal.
 */
async function plaintextDigests(files: Files, path: string, sealing: Sealing) {
  const opened = await files.getStoredFile(path);
  if (!opened) throw new Error(`the object of ${path} went while it was settled`);
  const whole = createHash("sha256");
  const partMd5s: string[] = [];
  let part = createHash("md5");
  let inPart = 0;
  const reader = opened.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    whole.update(value);
    for (let at = 0; at < value.byteLength; ) {
      const take = Math.min(value.byteLength - at, sealing.partSize - inPart);
      part.update(value.subarray(at, at + take));
      at += take;
      inPart += take;
      if (inPart === sealing.partSize) {
        partMd5s.push(part.digest("hex"));
        part = createHash("md5");
        inPart = 0;
      }
    }
  }
  if (inPart > 0 || partMd5s.length === 0) partMd5s.push(part.digest("hex"));
  const single = sealing.parts === 1;
  return {
    etag: single ? `"${partMd5s[0]}"` : multipartEtag(partMd5s),
    sha256: single ? whole.digest("hex") : null,
  };
}

async function settle(store: Store, files: Files, path: string, put: Intent | null) {
  const object = await files.headStoredFile(path);
  const row = fileRow(store, path);
  const marker = object?.customMetadata?.[SEALING_META] ?? null;
  // A sealed object is the row's when the descriptor (its salt is new on every write) agrees.
  const agrees =
    object && row && (marker ? row.sealing === marker : row.etag === object.httpEtag && row.size === object.size);
  if (!agrees && object && (put || row)) {
    // The object R2 holds is the outcome of an unanswered upload: record it, quota permitting.
    // A sealed one's plaintext ETag and SHA-256 were never told to the object: they are taken
    // from its opened bytes, as an answered upload would have recorded them. A multipart one
    // whose layout was never told cannot be opened: it goes.
    const sealing = marker && marker !== "s1" ? parseSealing(marker) : null;
    const sha256 = object.checksums.sha256;
    const plain = sealing ? await plaintextDigests(files, path, sealing) : null;
    const recorded =
      marker && !sealing
        ? fail("validation_failed", "a sealed multipart object without its layout")
        : commitUpload(store, recovery(put?.sub ?? row?.uploaded_by ?? "unknown"), {
            path,
            size: sealing ? sealing.size : object.size,
            contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
            etag: plain?.etag ?? object.httpEtag,
            sha256: plain ? plain.sha256 : sha256 ? Buffer.from(sha256).toString("hex") : null,
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
