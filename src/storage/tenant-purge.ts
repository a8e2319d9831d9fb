// Empties a tenant's whole R2 prefix (files, exports, backups) in pages, for hard deletion.
// The prefix always ends in "/" so tenant "acme" never touches "acme-corp".

export const tenantPrefix = (tenantId: string) => `tenant-${tenantId}/`;

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
