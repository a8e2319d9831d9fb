// Views of a tenant's usage: `GET /v1/me` and the usage report of the current and past periods.
import { z } from "zod";
import { LimitsSchema } from "./config";

export const MeSchema = z.object({
  tenant: z.object({
    id: z.string(),
    name: z.string(),
    status: z.enum(["active", "trial", "suspended", "cancelled"]),
    tier: z.string(),
  }),
  principal: z.object({
    sub: z.string(),
    kind: z.enum(["user", "admin", "apikey", "org", "reference"]),
    roles: z.array(z.string()),
    permissions: z.array(z.string()),
  }),
  limits: LimitsSchema,
  usage: z.record(z.string(), z.number()),
});
export type MeView = z.infer<typeof MeSchema>;

/** The usage metrics that a limit bounds, each with its limit (the portal's bars, the fleet's alerts). */
export const LIMIT_OF_METRIC = {
  storageBytes: "maxStorageBytes",
  records: "maxRecords",
  members: "maxMembers",
  collections: "maxCollections",
  requests: "maxRequestsPerMonth",
} as const;

const PeriodSchema = z.object({ period: z.string(), metrics: z.record(z.string(), z.number()) });
export type PeriodUsage = z.infer<typeof PeriodSchema>;

export const UsageSchema = z.object({
  period: z.string(),
  limits: LimitsSchema,
  current: z.record(z.string(), z.number()),
  periods: z.array(PeriodSchema),
});
export type UsageReport = z.infer<typeof UsageSchema>;

/** What the billing rollup reads: every closed period of the tenant. */
export interface ClosedUsage {
  tier: string;
  periods: PeriodUsage[];
}
