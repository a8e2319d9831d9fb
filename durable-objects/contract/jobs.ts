// Job views: exports, backups, imports, restores and data key rotations, run a chunk per alarm.
import { z } from "zod";

export const PartSchema = z.object({
  name: z.string(),
  rows: z.number(),
  bytes: z.number(),
  sha256: z.string(),
  /** A copied file's path (blobs/... parts of backups and exports with files). */
  path: z.string().optional(),
});
export type PartInfo = z.infer<typeof PartSchema>;

export const JobSchema = z.object({
  id: z.string(),
  kind: z.enum(["export", "backup", "import", "rekey", "restore"]),
  /** `expired`: an export written before a data subject erasure, its bundle deleted. */
  status: z.enum(["pending", "running", "completed", "failed", "expired"]),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  counts: z.record(z.string(), z.number()),
  parts: z.array(PartSchema),
  /** A restore: the backup it restores. */
  backupId: z.string().optional(),
});
export type JobView = z.infer<typeof JobSchema>;
export type JobKind = JobView["kind"];

/** One backup in the tenant's list (DESIGN §11). */
export const BackupSchema = z.object({
  id: z.string(),
  at: z.string(),
  status: z.enum(["pending", "running", "completed", "failed", "expired"]),
  records: z.number(),
  files: z.number(),
  bytes: z.number(),
});
export type BackupView = z.infer<typeof BackupSchema>;

/** Where an import reads its bundle: another tenant's export or backup, and that tenant's wrapped data keys. */
export interface ImportSource {
  tenant: string;
  area: "exports" | "backups";
  id: string;
  /** The source's wrapped data keys (current first): encrypted values are re-sealed under this tenant's. */
  wrappedKeys: string[];
}

/** A job the control plane starts in a tenant's object (key rotations have their own call). */
export type JobSpec =
  | { kind: "export"; copyFiles: boolean }
  /** The daily backup (one a day), or one taken on demand (named to the second). */
  | { kind: "backup"; onDemand: boolean }
  | { kind: "import"; source: ImportSource }
  | { kind: "restore"; backupId: string };
