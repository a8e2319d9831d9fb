// Field encryption with the tenant's data key (AES-256-GCM), unwrapped from MASTER_KEY in the
// tenant's object and kept only in memory. Synchronous (node:crypto), so it runs inside the
// write's transaction. Equality filters use a keyed blind index (HMAC-SHA256), never plaintext.
//   ciphertext: "e1.<key id>.<iv b64>.<ciphertext+tag b64>" over the JSON of the value

import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import type { Json } from "../contract/result";
import { deriveObjectKey, keyIdOf, type ObjectKeys } from "../storage/object-seal";

const PREFIX = "e1";

export class FieldCipher {
  readonly keyId: string;
  private readonly indexKey: Buffer;

  constructor(private readonly dataKey: Buffer) {
    this.keyId = keyIdOf(dataKey);
    this.indexKey = createHmac("sha256", dataKey).update("silo blind index v1").digest();
  }

  encrypt(value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.dataKey, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}.${this.keyId}.${iv.toString("base64")}.${body.toString("base64")}`;
  }

  decrypt(sealed: unknown): Json {
    // Anything not sealed is a plain value written before the field was encrypted: JSON already.
    if (typeof sealed !== "string" || !sealed.startsWith(`${PREFIX}.`)) return (sealed ?? null) as Json;
    const [, keyId, iv, body] = sealed.split(".");
    if (keyId !== this.keyId || !iv || !body) throw new Error("ciphertext under another key");
    const data = Buffer.from(body, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.dataKey, Buffer.from(iv, "base64"));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return JSON.parse(
      Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8"),
    );
  }

  /** The own key of one object in R2 (storage/object-seal.ts). */
  objectKey(salt: Buffer, name: string): Buffer {
    return deriveObjectKey(this.dataKey, salt, name);
  }

  /** An erased subject's stable stand-in: without the data key it cannot be linked to the id. */
  pseudonym(sub: string): string {
    return `erased:${createHmac("sha256", this.indexKey).update(`pseudonym:${sub}`).digest("hex").slice(0, 16)}`;
  }

  /** Equal values of one field give equal tokens; nothing else can be learned from them. */
  blindIndex(collection: string, field: string, value: unknown): string {
    return createHmac("sha256", this.indexKey)
      .update(`${collection}.${field}:${JSON.stringify(value)}`)
      .digest("hex");
  }
}

/** The column holding a field's blind index. */
export const blindColumn = (field: string) => `${field}__bi`;

/**
 * The tenant's current data key plus keys being rotated out: new values are sealed with the
 * current key; a value sealed with a retired key still opens until it is re-encrypted.
 */
export class KeyRing implements ObjectKeys {
  constructor(
    readonly current: FieldCipher,
    private readonly retired: FieldCipher[] = [],
  ) {}

  get keyId(): string {
    return this.current.keyId;
  }

  encrypt(value: unknown): string {
    return this.current.encrypt(value);
  }

  decrypt(sealed: unknown): Json {
    if (typeof sealed !== "string" || !sealed.startsWith(`${PREFIX}.`)) return (sealed ?? null) as Json;
    const keyId = sealed.split(".")[1];
    const cipher = [this.current, ...this.retired].find((c) => c.keyId === keyId);
    if (!cipher) throw new Error("ciphertext under an unknown key");
    return cipher.decrypt(sealed);
  }

  /** An object's key under the data key it was sealed with; a destroyed key opens nothing. */
  objectKey(keyId: string, salt: Buffer, name: string): Buffer {
    const cipher = [this.current, ...this.retired].find((c) => c.keyId === keyId);
    if (!cipher) throw new Error("object sealed under an unknown key");
    return cipher.objectKey(salt, name);
  }

  isCurrent(sealed: unknown): boolean {
    return (
      typeof sealed !== "string" || !sealed.startsWith(`${PREFIX}.`) || sealed.startsWith(`${PREFIX}.${this.keyId}.`)
    );
  }

  blindIndex(collection: string, field: string, value: unknown): string {
    return this.current.blindIndex(collection, field, value);
  }

  /** Tokens under every key in the ring: during a rotation a row may still carry an old one. */
  pseudonym(sub: string): string {
    return this.current.pseudonym(sub);
  }

  blindTokens(collection: string, field: string, value: unknown): string[] {
    return [this.current, ...this.retired].map((c) => c.blindIndex(collection, field, value));
  }
}
