// Job views: exports, backups, imports and data key rotations, run a chunk per alarm.
import { z } from "zod";

export const PartSchema = z.object({ name: z.string(), rows: z.number(), bytes: z.number(), sha256: z.string() });
export type PartInfo = z.infer<typeof PartSchema>;

export const JobSchema = z.object({
  id: z.string(),
  kind: z.enum(["export", "backup", "import", "rekey"]),
  /** `expired`: an export written before a data subject erasure, its bundle deleted. */
  status: z.enum(["pending", "running", "completed", "failed", "expired"]),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  counts: z.record(z.string(), z.number()),
  parts: z.array(PartSchema),
});
export type JobView = z.infer<typeof JobSchema>;
export type JobKind = JobView["kind"];
