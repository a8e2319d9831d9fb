// The export bundle format shared by export, backup and import: its parts, its manifest and
// their checksums.
import { createHash } from "node:crypto";
import type { PartInfo } from "../contract/jobs";

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
  parts: PartInfo[];
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function ndjson(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
}

export function partInfo(name: string, body: string, rows: number): PartInfo {
  return { name, rows, bytes: new TextEncoder().encode(body).length, sha256: sha256(body) };
}
