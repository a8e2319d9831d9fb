// The export bundle format shared by export, backup, import and restore: its parts, its manifest
// and their checksums, and reading them back.
import { createHash } from "node:crypto";
import type { PartInfo } from "../contract/jobs";
import type { ObjectKeys } from "../storage/object-seal";
import { tenantStorage } from "../storage/tenant-storage";

export const BUNDLE_FORMAT = "silo-export/1";

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  tenant: string;
  exportId: string;
  kind: "export" | "backup";
  /** Number of tenant schema migrations applied when the bundle was written. */
  schemaVersion: number;
  createdAt: string;
  completedAt: string;
  collections: { name: string; records: number; versions: number }[];
  counts: Record<string, number>;
  /** The audit chain's head when the audit section was read. */
  auditHead: { seq: number; hash: string } | null;
  /** The instant every part is consistent as of, and the last change-log seq it covers. */
  asOf?: string;
  changeSeq?: number;
  parts: PartInfo[];
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function ndjson(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
}

export function partInfo(name: string, body: string, rows: number): PartInfo {
  return { name, rows, bytes: new TextEncoder().encode(body).length, sha256: sha256(body) };
}

export const sha256Bytes = (bytes: ArrayBuffer) => createHash("sha256").update(new Uint8Array(bytes)).digest("hex");

/** A bundle to read: whose, which area, which id. */
export interface BundleSource {
  tenant: string;
  area: "exports" | "backups";
  id: string;
}

/** `keys`: the bundle's tenant's data keys (its parts are sealed under them). */
export async function readPart(bucket: R2Bucket, src: BundleSource, name: string, keys: ObjectKeys): Promise<string> {
  const object = await tenantStorage(bucket, src.tenant, keys).getPart({ area: src.area, id: src.id }, name);
  if (!object) throw new Error(`part ${name} is missing from the bundle`);
  return object.text();
}

/** The bundle's manifest, checked for its format. */
export async function readManifest(bucket: R2Bucket, src: BundleSource, keys: ObjectKeys): Promise<Manifest> {
  const manifest = JSON.parse(await readPart(bucket, src, "manifest.json", keys)) as Manifest;
  if (manifest.format !== BUNDLE_FORMAT) throw new Error(`unknown bundle format ${String(manifest.format)}`);
  return manifest;
}

/** The copied file of each path (blobs/... parts), for imports and restores. */
export const blobsByPath = (manifest: Manifest) =>
  new Map(manifest.parts.filter((p) => p.name.startsWith("blobs/") && p.path).map((p) => [p.path as string, p]));

export const ndjsonLines = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, SqlStorageValue>);
