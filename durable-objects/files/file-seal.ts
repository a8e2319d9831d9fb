// The keys of the Worker's file streams: each upload gets its object's own key under a fresh salt
// (a multipart upload's salt comes from its upload id), each read the key its bytes were sealed
// with. The tenant's data key never leaves the object.
import { createHash } from "node:crypto";
import type { ObjectSeal } from "../contract/files";
import type { KeyRing } from "../crypto/field-cipher";
import { newSalt, parseSealing } from "../storage/object-seal";

/** The name an object key is derived for: the file's key below the tenant's prefix. */
const nameOf = (path: string) => `files/${path}`;

export function sealFor(ring: KeyRing, path: string, salt = newSalt(), keyId = ring.keyId): ObjectSeal {
  const key = ring.objectKey(keyId, Buffer.from(salt, "base64url"), nameOf(path));
  return { keyId, salt, key: key.toString("base64") };
}

export const uploadSalt = (uploadId: string) =>
  createHash("sha256").update(`mpu:${uploadId}`).digest().subarray(0, 16).toString("base64url");

/** The key that opens a catalogued file (null: stored in clear, before sealing). */
export function openerFor(ring: KeyRing, path: string, sealing: string | null): string | null {
  const s = parseSealing(sealing);
  return s ? ring.objectKey(s.keyId, Buffer.from(s.salt, "base64url"), nameOf(path)).toString("base64") : null;
}
