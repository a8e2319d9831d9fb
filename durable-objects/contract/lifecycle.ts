// What the control plane's sweeps and lifecycle calls get back from a tenant's object.
import { z } from "zod";
import { IDENTIFIER } from "../sql/identifiers";
import type { Json } from "./result";

export interface RetentionResult {
  held: boolean;
  recordsPurged: number;
  versionsTrimmed: number;
  auditTrimmed: number;
  idempotencyExpired: number;
  /** Change-log events older than changeLogDays (DESIGN §10). */
  changesTrimmed: number;
  more: boolean;
}

export const ErasureSchema = z.object({
  records: z.number(),
  members: z.number(),
  shares: z.number(),
  files: z.array(z.string()),
  /** What the subject's id became wherever it appeared. */
  pseudonym: z.string(),
  auditRedacted: z.number(),
  exportsExpired: z.number(),
});
export type ErasureResult = z.infer<typeof ErasureSchema>;

export type AggregateResult = number | null | { group: Json; value: number | null }[];

/** One tenant's part of a platform admin's cross-tenant aggregate query. */
export const AggregateSchema = z.strictObject({
  collection: z.string().regex(IDENTIFIER),
  aggregate: z.enum(["count", "sum", "min", "max"]),
  field: z.string().regex(IDENTIFIER).nullable().default(null),
  groupBy: z.string().regex(IDENTIFIER).nullable().default(null),
  tenants: z.array(z.string()).max(1000).nullable().default(null),
});
export type AggregateSpec = z.infer<typeof AggregateSchema>;
