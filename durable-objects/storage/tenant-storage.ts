// The tenant storage handle: the only code that builds R2 keys. Everything a tenant stores lives
// under "tenant-{id}/" (the trailing "/" keeps tenant "acme" away from "acme-corp"): files/,
// exports/, backups/. Callers pass validated relative paths and bundle names, never keys.
import { createHash } from "node:crypto";
import { isTenantId } from "../contract/tenant-id";
import { type FilePath, unsafeFilePath } from "./file-path";
import {
  chunksOf,
  ETAG_META,
  formatSealing,
  newSalt,
  type ObjectKeys,
  openStream,
  parseSealing,
  SEALING_META,
  SealError,
  type Sealing,
  sealBytes,
  sealStream,
} from "./object-seal";

/** The root of a tenant's keys; an id that is not a tenant id (e.g. "../x", "") never makes one. */
export function tenantPrefix(tenantId: string): string {
  if (!isTenantId(tenantId)) throw new StorageKeyError(`invalid tenant id ${JSON.stringify(tenantId)}`);
  return `tenant-${tenantId}/`;
}

export interface BundleRef {
  area: "exports" | "backups";
  id: string;
}

const PART = /^[a-z0-9][a-z0-9._-]{0,120}(?:\/[a-z0-9][a-z0-9._-]{0,120}){0,3}$/;
const BUNDLE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,80}$/;

export class StorageKeyError extends Error {}

export interface PutOptions {
  contentType: string;
  md5?: string;
  sha256?: string;
  customMetadata?: Record<string, string>;
}

/** An object read back as its plaintext: size, ETag and body are the plaintext's. */
export interface OpenedObject {
  body: ReadableStream<Uint8Array>;
  size: number;
  etag: string;
  contentType: string;
  customMetadata: Record<string, string>;
  uploaded: Date;
  /** Read for a catalogue row, but R2 holds other bytes now (replaced since): not opened. */
  stale: boolean;
  /** R2's own ETag of the stored (sealed) bytes, for conditional rewrites. */
  storedEtag: string;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** What a sealed write left: the descriptor (null: stored in clear), plaintext ETag and SHA-256. */
export interface SealedWrite {
  sealing: string | null;
  etag: string;
  sha256: string;
  size: number;
}

const sizeOf = (body: ReadableStream<Uint8Array> | Uint8Array | string) => {
  if (typeof body === "string") return new TextEncoder().encode(body).byteLength;
  if (body instanceof Uint8Array) return body.byteLength;
  throw new Error("a stream is written with its size");
};

/** User metadata without the sealing's own entries. */
export const userMetadata = (meta: Record<string, string> | undefined) => {
  const { [SEALING_META]: _s, [ETAG_META]: _e, ...rest } = meta ?? {};
  return rest;
};

function opened(
  object: R2Object,
  body: ReadableStream<Uint8Array>,
  size: number,
  etag: string,
  range: { offset: number; length: number } | null = null,
  stale = false,
): OpenedObject {
  const whole = () => new Response(body);
  const arrayBuffer = () => whole().arrayBuffer();
  return {
    body,
    size: range ? range.length : size,
    etag,
    contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
    customMetadata: userMetadata(object.customMetadata),
    uploaded: object.uploaded,
    stale,
    storedEtag: object.etag,
    text: async () => new TextDecoder().decode(await arrayBuffer()),
    arrayBuffer,
  };
}

/**
 * `keys`: the tenant's data keys. With them, parts and stored files are sealed on write and
 * opened on read (storage/object-seal.ts); objects without a sealing descriptor read as plaintext.
 */
export function tenantStorage(bucket: R2Bucket, tenantId: string, keys?: ObjectKeys) {
  const root = tenantPrefix(tenantId);
  const nameOf = (key: string) => key.slice(root.length);
  const keyOf = (sealing: Sealing, key: string) => {
    if (!keys) throw new Error("a sealed object needs the tenant's keys");
    return keys.objectKey(sealing.keyId, Buffer.from(sealing.salt, "base64url"), nameOf(key));
  };
  /** Writes plaintext sealed under a fresh salt (in clear without keys). */
  async function putSealed(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array | string,
    size: number,
    contentType: string,
  ): Promise<SealedWrite> {
    const written = await putSealedIf(key, body, size, contentType);
    if (!written) throw new Error(`the object at ${key} changed meanwhile`);
    return written;
  }
  async function putSealedIf(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array | string,
    size: number,
    contentType: string,
    onlyIf?: R2Conditional,
  ): Promise<SealedWrite | null> {
    if (!keys) {
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
      const object = await bucket.put(key, bytes, { httpMetadata: { contentType }, onlyIf });
      if (!object) return null;
      const sha = object.checksums.sha256;
      return { sealing: null, etag: object.httpEtag, sha256: sha ? Buffer.from(sha).toString("hex") : "", size };
    }
    const sealing: Sealing = { keyId: keys.keyId, salt: newSalt(), chunk: 64 * 1024, partSize: size, parts: 1, size };
    const k = keyOf(sealing, key);
    const descriptor = formatSealing(sealing);
    if (typeof body !== "string" && !(body instanceof Uint8Array)) {
      const sealed = sealStream(k, body, size, { chunk: sealing.chunk });
      // The plaintext ETag is known only at the end: kept in the catalogue, not the object.
      const put = await bucket.put(key, sealed.body, {
        httpMetadata: { contentType },
        customMetadata: { [SEALING_META]: descriptor },
        onlyIf,
      });
      if (!put) return null;
      const d = await sealed.digests;
      return { sealing: descriptor, etag: `"${d.md5}"`, sha256: d.sha256, size };
    }
    const plain = typeof body === "string" ? new TextEncoder().encode(body) : body;
    const md5 = createHash("md5").update(plain).digest("hex");
    const put = await bucket.put(key, sealBytes(k, plain, sealing.chunk), {
      httpMetadata: { contentType },
      customMetadata: { [SEALING_META]: descriptor, [ETAG_META]: `"${md5}"` },
      onlyIf,
    });
    if (!put) return null;
    return { sealing: descriptor, etag: `"${md5}"`, sha256: createHash("sha256").update(plain).digest("hex"), size };
  }
  /** Reads an object as plaintext; `sealing` from a catalogue overrides the object's own. */
  async function getOpened(
    key: string,
    catalogued?: { sealing: string | null; etag: string | null },
  ): Promise<OpenedObject | null> {
    const object = await bucket.get(key);
    if (!object) return null;
    const marker = object.customMetadata?.[SEALING_META] ?? null;
    const sealing = parseSealing(catalogued ? catalogued.sealing : marker);
    // The row's own bytes? A descriptor names one write (its salt); a row in clear predates
    // sealing, so a sealed object there was written since.
    const replaced = catalogued && (sealing ? marker !== "s1" && marker !== catalogued.sealing : marker !== null);
    if (replaced) return opened(object, object.body, object.size, object.httpEtag, null, true);
    if (!sealing) return opened(object, object.body, object.size, catalogued?.etag ?? object.httpEtag);
    let body: ReadableStream<Uint8Array>;
    try {
      body = await openStream(keyOf(sealing, key), sealing, object.body, null);
    } catch (err) {
      // A multipart object names no salt: a newer one does not open with the row's key.
      if (!(catalogued && marker === "s1" && err instanceof SealError)) throw err;
      return opened(object, object.body, object.size, object.httpEtag, null, true);
    }
    // A streamed part's plaintext ETag is known only after the write: R2's own stands in for it.
    const etag = catalogued?.etag ?? object.customMetadata?.[ETAG_META] ?? object.httpEtag;
    return opened(object, body, sealing.size, etag);
  }
  const fileKey = (path: FilePath) => `${root}files/${path}`;
  const bundlePrefix = (b: BundleRef) => {
    if (!BUNDLE_ID.test(b.id)) throw new StorageKeyError(`invalid bundle id ${JSON.stringify(b.id)}`);
    return `${root}${b.area}/${b.id}/`;
  };
  const partKey = (b: BundleRef, part: string) => {
    if (!PART.test(part) || part.includes("..")) throw new StorageKeyError(`invalid part ${JSON.stringify(part)}`);
    return `${bundlePrefix(b)}${part}`;
  };
  return {
    // ---- files ----
    putFile: (path: FilePath, body: ReadableStream | ArrayBuffer | string, opts: PutOptions) =>
      bucket.put(fileKey(path), body, {
        httpMetadata: { contentType: opts.contentType },
        customMetadata: opts.customMetadata,
        ...(opts.md5 ? { md5: opts.md5 } : {}),
        ...(opts.sha256 ? { sha256: opts.sha256 } : {}),
      }),
    getFile: (path: FilePath, options?: R2GetOptions) => bucket.get(fileKey(path), options),
    headFile: (path: FilePath) => bucket.head(fileKey(path)),
    deleteFile: (path: FilePath) => bucket.delete(fileKey(path)),
    createMultipart: (path: FilePath, opts: PutOptions) =>
      bucket.createMultipartUpload(fileKey(path), {
        httpMetadata: { contentType: opts.contentType },
        customMetadata: opts.customMetadata,
      }),
    /** Upload ids are only ever resumed against this tenant's own key. */
    resumeMultipart: (path: FilePath, uploadId: string) => bucket.resumeMultipartUpload(fileKey(path), uploadId),

    // ---- export and backup bundles ----
    /** A part written whole (sealed with keys); a stream needs its plaintext `size`. */
    putPart: (
      b: BundleRef,
      part: string,
      body: string | Uint8Array | ReadableStream<Uint8Array>,
      contentType = "application/x-ndjson",
      size?: number,
    ) => putSealed(partKey(b, part), body, size ?? sizeOf(body), contentType),
    getPart: (b: BundleRef, part: string) => getOpened(partKey(b, part)),
    /** A page of every export and backup part, with its sealing (a key rotation re-seals them). */
    async listBundleParts(cursor: string | null, limit: number) {
      const parts: { ref: BundleRef; part: string; sealing: string | null }[] = [];
      let next: string | null = cursor;
      for (const area of ["exports", "backups"] as const) {
        if (next && !next.startsWith(`${area}:`)) continue;
        const listed = await bucket.list({
          prefix: `${root}${area}/`,
          limit,
          include: ["customMetadata"],
          ...(next?.slice(area.length + 1) ? { cursor: next.slice(area.length + 1) } : {}),
        });
        for (const o of listed.objects) {
          const [, id, ...rest] = nameOf(o.key).split("/");
          parts.push({
            ref: { area, id: id as string },
            part: rest.join("/"),
            sealing: o.customMetadata?.[SEALING_META] ?? null,
          });
        }
        if (listed.truncated) return { parts, cursor: `${area}:${listed.cursor}` };
        next = null;
        if (area === "exports") return { parts, cursor: "backups:" };
      }
      return { parts, cursor: null };
    },
    /** The part exactly as R2 holds it (tests and crypto checks). */
    rawPart: (b: BundleRef, part: string) => bucket.get(partKey(b, part)),
    async deleteBundle(b: BundleRef): Promise<void> {
      for (;;) {
        const listed = await bucket.list({ prefix: bundlePrefix(b), limit: 1000 });
        if (listed.objects.length) await bucket.delete(listed.objects.map((o) => o.key));
        if (!listed.truncated) return;
      }
    },
    /** A copy of a catalogued file (restore, import): sealed anew; its row takes the new sealing. */
    putStoredFile: (
      path: string,
      body: ReadableStream<Uint8Array> | Uint8Array | string,
      contentType: string,
      size?: number,
    ) => putSealed(fileKey(unsafeFilePath(path)), body, size ?? sizeOf(body), contentType),
    /** Seals a stored file anew only if R2 still holds `storedEtag` there (null: it changed). */
    rewriteStoredFile: (path: string, opened: OpenedObject, contentType: string) =>
      putSealedIf(fileKey(unsafeFilePath(path)), opened.body, opened.size, contentType, {
        etagMatches: opened.storedEtag,
      }),
    /** Moves a stored file's bytes as they are (sealed) to another storage class; null: changed meanwhile. */
    moveStoredFile: async (path: string, storageClass: string) => {
      const key = fileKey(unsafeFilePath(path));
      const object = await bucket.get(key);
      if (!object) return null;
      return bucket.put(key, object.body.pipeThrough(new FixedLengthStream(object.size)), {
        httpMetadata: object.httpMetadata,
        customMetadata: object.customMetadata,
        storageClass,
        onlyIf: { etagMatches: object.etag },
      });
    },
    /** Files recorded in the tenant's own metadata (export, import, erasure), checked again. */
    getStoredFile: (path: string, row: { sealing: string | null; etag: string } | null = null) =>
      getOpened(fileKey(unsafeFilePath(path)), row ?? undefined),
    /** Where the sealed bytes of a plaintext range sit (the Worker's ranged reads). */
    sealedRange: (sealing: Sealing, range: { offset: number; length: number } | null) => chunksOf(sealing, range),
    deleteStoredFile: (path: string) => bucket.delete(fileKey(unsafeFilePath(path))),
    headStoredFile: (path: string) => bucket.head(fileKey(unsafeFilePath(path))),
    /** A page of the paths R2 holds under files/ (a restore removes those its catalogue lacks). */
    async listStoredFiles(cursor: string | null): Promise<{ paths: string[]; cursor: string | null }> {
      const listed = await bucket.list({ prefix: `${root}files/`, limit: 500, ...(cursor ? { cursor } : {}) });
      return {
        paths: listed.objects.map((o) => o.key.slice(`${root}files/`.length)),
        cursor: listed.truncated ? listed.cursor : null,
      };
    },
  };
}

export type TenantStorage = ReturnType<typeof tenantStorage>;

/** Empties a tenant's whole prefix in pages, for hard deletion. */
export async function purgeTenantObjects(
  bucket: R2Bucket,
  tenantId: string,
  maxPages: number,
): Promise<{ complete: boolean; deleted: number }> {
  let deleted = 0;
  for (let pageNo = 0; pageNo < maxPages; pageNo++) {
    const listed = await bucket.list({ prefix: tenantPrefix(tenantId), limit: 1000 });
    if (listed.objects.length > 0) {
      await bucket.delete(listed.objects.map((o) => o.key));
      deleted += listed.objects.length;
    }
    if (!listed.truncated) return { complete: true, deleted };
  }
  return { complete: false, deleted };
}
