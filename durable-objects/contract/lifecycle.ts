// What the control plane's sweeps and lifecycle calls get back from a tenant's object.
import { z } from "zod";
import type { Json } from "./result";

export interface RetentionResult {
  held: boolean;
  recordsPurged: number;
  versionsTrimmed: number;
  auditTrimmed: number;
  idempotencyExpired: number;
  more: boolean;
}

export const ErasureSchema = z.object({
  records: z.number(),
  members: z.number(),
  shares: z.number(),
  files: z.array(z.string()),
});
export type ErasureResult = z.infer<typeof ErasureSchema>;

export type AggregateResult = number | null | { group: Json; value: number | null }[];
