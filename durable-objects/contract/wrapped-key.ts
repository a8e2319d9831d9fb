// The one format of a wrapped data key, for both sides: the control plane makes and re-wraps
// tenants' data keys, the tenant's object unwraps its own. A data key is 32 random bytes, kept
// only sealed by MASTER_KEY (AES-256-GCM): "v1.<base64 iv>.<base64 ciphertext+tag>". Synchronous
// (node:crypto), so the object can unwrap inside a transaction.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export interface MasterKeys {
  MASTER_KEY?: string;
  /** The previous master key while tenants are re-wrapped under a new MASTER_KEY. */
  MASTER_KEY_PREVIOUS?: string;
}

function masterKey(masterKeyB64: string | undefined): Buffer {
  const raw = Buffer.from(masterKeyB64 ?? "", "base64");
  if (raw.length !== 32) throw new Error("MASTER_KEY must be 32 bytes, base64-encoded");
  return raw;
}

function wrap(masterKeyB64: string | undefined, dataKey: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", masterKey(masterKeyB64), iv);
  const sealed = Buffer.concat([cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
  return `v1.${iv.toString("base64")}.${sealed.toString("base64")}`;
}

function unwrap(masterKeyB64: string | undefined, wrapped: string): Buffer {
  const [version, iv, sealed] = wrapped.split(".");
  if (version !== "v1" || !iv || !sealed) throw new Error("unknown wrapped key format");
  const data = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", masterKey(masterKeyB64), Buffer.from(iv, "base64"));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]);
}

/** A fresh data key, wrapped by MASTER_KEY. */
export const wrapNewDataKey = (keys: MasterKeys): string => wrap(keys.MASTER_KEY, randomBytes(32));

/** Unwraps with MASTER_KEY, or MASTER_KEY_PREVIOUS while a master key rotation is under way. */
export function unwrapDataKey(keys: MasterKeys, wrapped: string): Buffer {
  try {
    return unwrap(keys.MASTER_KEY, wrapped);
  } catch (err) {
    if (!keys.MASTER_KEY_PREVIOUS) throw err;
    return unwrap(keys.MASTER_KEY_PREVIOUS, wrapped);
  }
}

/** The same data key wrapped by the current MASTER_KEY: every ciphertext stays as it is. */
export const rewrapDataKey = (keys: MasterKeys, wrapped: string): string =>
  wrap(keys.MASTER_KEY, unwrapDataKey(keys, wrapped));
