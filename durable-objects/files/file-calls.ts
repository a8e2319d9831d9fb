// The object's side of each file call the Worker makes around its R2 writes: admitting an upload
// (with the intent that settles a crash), multipart begin and checks, and a delete's completion.
import type { Principal } from "../access/authorize";
import { fail, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";
import {
  beginUpload,
  forgetUpload,
  overwriteFailure,
  type Reservations,
  rememberUpload,
  uploadPath,
} from "./file-catalog";
import { clearIntent, deleteToken, noteIntent } from "./file-intents";
import { sealFor, uploadSalt } from "./file-seal";

export interface UploadInput {
  path: string;
  contentType: string;
  size: number;
}

/** Admits an upload and notes its intent before the Worker writes to R2; the commit clears it. */
export function admitUpload(store: Store, reservations: Reservations, p: Principal, input: UploadInput) {
  const admitted = beginUpload(store, reservations, input);
  if (!admitted.ok) return admitted;
  noteIntent(store, admitted.value.reservation, { path: input.path, op: "put", sub: p.sub });
  return ok({ ...admitted.value, seal: sealFor(store.cipher(), input.path) });
}

/** The same rules as a single upload, before R2 hands out an upload id (then remembered). */
export function beginMultipart(
  store: Store,
  reservations: Reservations,
  p: Principal,
  path: string,
  contentType: string,
  uploadId: string | null,
): Result<{ allowed: true }> {
  const check = beginUpload(store, reservations, { path, contentType, size: 0 });
  if (!check.ok) return check;
  reservations.release(check.value.reservation);
  if (uploadId) rememberUpload(store, uploadId, path, p.sub, store.cipher().keyId, contentType);
  return ok({ allowed: true });
}

/** A multipart upload id is usable only by the tenant that created it, for its own path. */
export function checkMultipart(store: Store, path: string, uploadId: string, finished: boolean) {
  const upload = uploadPath(store, uploadId);
  if (upload?.path !== path) return fail("not_found", "No such upload.");
  const held = finished ? null : overwriteFailure(store, path);
  if (held) return held;
  if (finished) forgetUpload(store, uploadId);
  // Every part is sealed under the key the upload began with, its salt from the upload id.
  return ok({
    path,
    // Uploads begun before the type was remembered complete as the catch-all type.
    contentType: upload.contentType ?? "application/octet-stream",
    seal: sealFor(store.cipher(), path, uploadSalt(uploadId), upload.keyId ?? store.cipher().keyId),
  });
}

/** The Worker deleted a file's object from R2 after its row: the delete's intent is done. */
export function deleteSettled(store: Store, path: string): Result<{ settled: true }> {
  clearIntent(store, deleteToken(path));
  return ok({ settled: true });
}
