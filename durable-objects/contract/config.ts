// The tenant's configuration as the control plane pushes it into the object (status, effective
// limits, settings, wrapped data keys): what lets one RPC decide a request without D1.
import { z } from "zod";
import type { Json } from "./result";

/** A trial tenant serves exactly as an active one does (the control plane suspends it when the trial ends). */
export type TenantStatus = "active" | "trial" | "suspended" | "cancelled";

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const LimitsSchema = z.object({
  requestsPerSecond: count,
  burst: count,
  maxRecords: count,
  maxStorageBytes: count,
  maxMembers: count,
  maxCollections: count,
  maxRequestsPerMonth: count,
  maxBackups: count,
});

export type Limits = z.infer<typeof LimitsSchema>;

export interface Settings {
  softDeleteDays: number;
  historyDays: number;
  auditRetentionDays: number;
  /** Days the change log keeps its events. */
  changeLogDays: number;
  allowedFileTypes: string[];
  maxFileBytes: number;
  branding: { [key: string]: Json };
  autoJoinRole: string | null;
  /** Files not read for this many days move to R2 Infrequent Access (null or absent: never). */
  archiveAfterDays?: number | null;
}

/** The tenant's configuration as the control plane pushes it (effective limits, not overrides). */
export interface TenantConfig {
  id: string;
  name: string;
  status: TenantStatus;
  tier: string;
  jurisdiction: string | null;
  limits: Limits;
  settings: Settings;
  legalHold: boolean;
  /** Features the plan and subscription grant (contract/features.ts); absent in configs pushed before features existed: all. */
  features?: string[];
  wrappedKey: string;
  /** Earlier wrapped data keys still needed to read values not yet re-encrypted. */
  retiredKeys?: string[];
  /** Monotonic; a push older than what the object holds is ignored. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}
