// Builds the configuration a tenant's object holds: plan limits with overrides, settings over
// defaults. The control plane pushes it on provision and on every change.
import type { Limits, Settings, TenantConfig } from "../../durable-objects/contract/config";
import { FEATURES } from "../../durable-objects/contract/features";
import type { Plan } from "./plans";
import type { TenantRow } from "./schema";

export const DEFAULT_SETTINGS: Settings = {
  softDeleteDays: 30,
  historyDays: 365,
  auditRetentionDays: 2557,
  changeLogDays: 7,
  allowedFileTypes: [],
  maxFileBytes: 100 * 1024 * 1024,
  branding: {},
  autoJoinRole: null,
  archiveAfterDays: null,
};

export const effectiveLimits = (planLimits: Limits, overrides: Partial<Limits>): Limits => ({
  ...planLimits,
  ...overrides,
});

export const effectiveSettings = (settings: Partial<Settings>): Settings => ({ ...DEFAULT_SETTINGS, ...settings });

/** The features a tenant has: its plan's, and any its subscription adds. */
export const effectiveFeatures = (planFeatures: string[], extra: string[]): string[] =>
  FEATURES.filter((f) => planFeatures.includes(f) || extra.includes(f));

/** The status the API shows: a registry row that is active with a trial end date is on trial. */
export function apiStatus(
  row: Pick<TenantRow, "status" | "trialEndsAt">,
): "active" | "trial" | "suspended" | "cancelled" | "deleted" {
  const live = row.status === "provisioning" ? "active" : row.status;
  return live === "active" && row.trialEndsAt ? "trial" : live;
}

export function tenantConfig(row: TenantRow, plan: Pick<Plan, "limits" | "features">): TenantConfig {
  const status = apiStatus(row);
  return {
    id: row.id,
    name: row.name,
    status: status === "suspended" || status === "cancelled" || status === "trial" ? status : "active",
    tier: row.tier,
    jurisdiction: row.jurisdiction,
    limits: effectiveLimits(plan.limits, row.limitOverrides),
    features: effectiveFeatures(plan.features, row.extraFeatures),
    settings: effectiveSettings(row.settings),
    legalHold: row.legalHold,
    wrappedKey: row.wrappedKey ?? "",
    retiredKeys: row.retiredKeys ?? [],
    revision: row.revision,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
