// The tenant storage handle: the only code that builds R2 keys. Everything a tenant stores lives
// under "tenant-{id}/" (the trailing "/" keeps tenant "acme" away from "acme-corp"): files/,
// exports/, backups/. Callers pass validated relative paths and bundle names, never keys.
import { isTenantId } from "../contract/tenant-id";
import { type FilePath, unsafeFilePath } from "./file-path";

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

export function tenantStorage(bucket: R2Bucket, tenantId: string) {
  const root = tenantPrefix(tenantId);
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
    putPart: (
      b: BundleRef,
      part: string,
      body: string | ArrayBuffer | ReadableStream,
      contentType = "application/x-ndjson",
    ) => bucket.put(partKey(b, part), body, { httpMetadata: { contentType } }),
    getPart: (b: BundleRef, part: string) => bucket.get(partKey(b, part)),
    async deleteBundle(b: BundleRef): Promise<void> {
      for (;;) {
        const listed = await bucket.list({ prefix: bundlePrefix(b), limit: 1000 });
        if (listed.objects.length) await bucket.delete(listed.objects.map((o) => o.key));
        if (!listed.truncated) return;
      }
    },
    putStoredFile: (
      path: string,
      body: ReadableStream | ArrayBuffer | string,
      contentType: string,
      extra: Pick<R2PutOptions, "storageClass" | "customMetadata" | "onlyIf"> = {},
    ) => bucket.put(fileKey(unsafeFilePath(path)), body, { httpMetadata: { contentType }, ...extra }),
    /** Files recorded in the tenant's own metadata (export, import, erasure), checked again. */
    getStoredFile: (path: string) => bucket.get(fileKey(unsafeFilePath(path))),
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
