// A tenant's archive area in R2: export and backup bundles, and the purge of the whole prefix
// on hard deletion. Keys are built here only, always under "tenant-{id}/" (the trailing "/"
// keeps tenant "acme" away from "acme-corp"); callers name bundles and parts, never keys.

export const tenantPrefix = (tenantId: string) => `tenant-${tenantId}/`;

export interface BundleRef {
  area: "exports" | "backups";
  id: string;
}

const PART = /^[a-z0-9][a-z0-9._-]{0,120}(?:\/[a-z0-9][a-z0-9._-]{0,120}){0,3}$/;
const BUNDLE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,80}$/;

export class ArchiveKeyError extends Error {}

/** File paths reach this module from the tenant's own metadata; still, nothing escapes files/. */
function filePath(path: string): string {
  const segments = path.split("/");
  const control = [...path].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  if (
    !path ||
    path.startsWith("/") ||
    path.includes("\\") ||
    control ||
    segments.some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new ArchiveKeyError(`invalid file path ${JSON.stringify(path)}`);
  }
  return path;
}

export function tenantArchive(bucket: R2Bucket, tenantId: string) {
  const root = tenantPrefix(tenantId);
  const bundlePrefix = (b: BundleRef) => {
    if (!BUNDLE_ID.test(b.id)) throw new ArchiveKeyError(`invalid bundle id ${JSON.stringify(b.id)}`);
    return `${root}${b.area}/${b.id}/`;
  };
  const partKey = (b: BundleRef, part: string) => {
    if (!PART.test(part) || part.includes("..")) throw new ArchiveKeyError(`invalid part ${JSON.stringify(part)}`);
    return `${bundlePrefix(b)}${part}`;
  };
  return {
    putPart: (
      b: BundleRef,
      part: string,
      body: string | ArrayBuffer | ReadableStream,
      contentType = "application/x-ndjson",
    ) => bucket.put(partKey(b, part), body, { httpMetadata: { contentType } }),
    getPart: (b: BundleRef, part: string) => bucket.get(partKey(b, part)),
    /** Deletes a whole bundle (e.g. a backup past the plan's retention). */
    async deleteBundle(b: BundleRef): Promise<void> {
      for (;;) {
        const listed = await bucket.list({ prefix: bundlePrefix(b), limit: 1000 });
        if (listed.objects.length) await bucket.delete(listed.objects.map((o) => o.key));
        if (!listed.truncated) return;
      }
    },
    /** A stored file of this tenant, by its relative path (for exports that copy files). */
    getFile: (path: string) => bucket.get(`${root}files/${filePath(path)}`),
    putFile: (path: string, body: ReadableStream | ArrayBuffer | string, contentType: string) =>
      bucket.put(`${root}files/${filePath(path)}`, body, { httpMetadata: { contentType } }),
    deleteFile: (path: string) => bucket.delete(`${root}files/${filePath(path)}`),
  };
}

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
