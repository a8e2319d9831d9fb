// Loading another tenant's export or backup bundle into an empty tenant (a migration, or a fork
// for staging), a few parts per alarm: every part's checksum is verified against the manifest
// before it is applied; records keep their ids, versions and history; encrypted values are
// re-sealed under this tenant's key; files are copied under the new tenant's prefix (from the
// bundle's copies when it has them); the target's own audit chain records the import with the
// source chain's head.

import { appendAudit } from "../audit/audit-chain";
import type { ImportSource } from "../contract/jobs";
import type { MasterKeys } from "../contract/wrapped-key";
import { unwrapDataKey } from "../contract/wrapped-key";
import { FieldCipher, KeyRing } from "../crypto/field-cipher";
import type { Store } from "../db/store";
import { fileRow, resealed } from "../files/file-catalog";
import { tenantStorage } from "../storage/tenant-storage";
import { blobsByPath, type Manifest, ndjsonLines, readManifest, readPart, sha256 } from "./bundle";
import { applyPart, Resealer } from "./bundle-apply";

export interface ImportState {
  source: string;
  exportId: string;
  /** Absent in imports started before backups could be imported: an export. */
  area?: "exports" | "backups";
  /** The source's wrapped data keys (current first), to open its encrypted values. */
  sourceKeys?: string[];
  manifest: Manifest | null;
  index: number;
  counts: Record<string, number>;
}

export const newImportState = (src: ImportSource): ImportState => ({
  source: src.tenant,
  exportId: src.id,
  area: src.area,
  sourceKeys: src.wrappedKeys,
  manifest: null,
  index: 0,
  counts: {},
});

/** A key ring of wrapped data keys (the current one first). */
export function ringOf(keys: MasterKeys, wrapped: string[]): KeyRing {
  const [current, ...retired] = wrapped.map((w) => new FieldCipher(unwrapDataKey(keys, w)));
  if (!current) throw new Error("no data key for the bundle's encrypted values");
  return new KeyRing(current, retired);
}

/** The source tenant's keys (its wrapped keys, passed by the control plane), else this tenant's. */
const sourceRing = (store: Store, keys: MasterKeys, s: ImportState): KeyRing =>
  s.sourceKeys?.length ? ringOf(keys, s.sourceKeys) : store.cipher();

export const isEmptyTenant = (store: Store) =>
  store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM collections").one().n === 0 &&
  store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM files").one().n === 0 &&
  store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM members").one().n <= 1;

const sourceOf = (s: ImportState) => ({ tenant: s.source, area: s.area ?? "exports", id: s.exportId }) as const;

/** Applies up to `maxParts` parts; throws (failing the import) on a checksum mismatch. */
export async function importStep(
  store: Store,
  bucket: R2Bucket,
  keys: MasterKeys,
  state: ImportState,
  maxParts: number,
  save: (s: ImportState) => void = () => {},
): Promise<{ state: ImportState; finished: boolean }> {
  const s: ImportState = { ...state, counts: { ...state.counts } };
  const bundle = sourceOf(s);
  if (!s.manifest) {
    s.manifest = await readManifest(bucket, bundle, sourceRing(store, keys, s));
    return { state: s, finished: false };
  }
  const manifest = s.manifest;
  const target = tenantStorage(bucket, store.config.id, store.cipher());
  const sourceKeys = sourceRing(store, keys, s);
  const source = tenantStorage(bucket, s.source, sourceKeys);
  const blobs = blobsByPath(manifest);
  const reseal = new Resealer(sourceKeys, store.cipher(), false);
  for (let n = 0; n < maxParts && s.index < manifest.parts.length; n++, s.index++) {
    const part = manifest.parts[s.index] as Manifest["parts"][number];
    if (part.name.startsWith("blobs/")) continue; // files are copied from their source below
    const text = await readPart(bucket, bundle, part.name, sourceKeys);
    if (sha256(text) !== part.sha256) throw new Error(`checksum mismatch in ${part.name}`);
    const section = part.name.split("/")[0];
    const sealings = new Map<string, string | null>();
    if (section === "files") {
      // Objects first, rows after: a row never points at a missing object. Each is opened with
      // the source's key and sealed anew under this tenant's (its row takes the new sealing).
      for (const row of ndjsonLines(text)) {
        const path = row.path as string;
        // A file written here while the import ran is never overwritten: the import fails instead.
        if (fileRow(store, path)) throw new Error(`file ${path} was written in this tenant during the import`);
        const blob = blobs.get(path);
        const object = blob
          ? await source.getPart({ area: bundle.area, id: bundle.id }, blob.name)
          : await source.getStoredFile(path, {
              sealing: (row.sealing as string | null) ?? null,
              etag: row.etag as string,
            });
        if (!object || object.stale) throw new Error(`file ${row.path} is missing or changed in ${s.source}`);
        sealings.set(
          path,
          (await target.putStoredFile(path, object.body, row.content_type as string, object.size)).sealing,
        );
      }
    }
    if (section === "audit") {
      // The target keeps its own chain; the import event records the source chain's head.
      s.counts.auditEvents = (s.counts.auditEvents ?? 0) + ndjsonLines(text).length;
      save({ ...s, index: s.index + 1 });
      continue;
    }
    // Each part commits on its own, with the job's progress (a reset never applies it twice) and
    // its audit event: a failed import's trail names every part it left applied.
    store.storage.transactionSync(() => {
      applyPart(store, part.name, text, s.counts, reseal);
      for (const [path, sealing] of sealings) resealed(store, path, sealing);
      save({ ...s, index: s.index + 1 });
      appendAudit(store.db, {
        actor: "system:import",
        action: "import.part_applied",
        resource: `part:${part.name}`,
        success: true,
        details: { fromTenant: s.source, exportId: s.exportId },
      });
    });
  }
  const finished = s.index >= manifest.parts.length;
  if (finished) {
    store.storage.transactionSync(() =>
      appendAudit(store.db, {
        actor: "system:import",
        action: "tenant.imported",
        resource: "tenant",
        success: true,
        details: {
          fromTenant: s.source,
          ...(bundle.area === "backups" ? { backupId: s.exportId } : { exportId: s.exportId }),
          counts: s.counts,
          sourceAuditHead: manifest.auditHead,
          manifestParts: manifest.parts.length,
        },
      }),
    );
  }
  return { state: s, finished };
}
