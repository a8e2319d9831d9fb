// Builds the configuration a tenant's object holds: plan limits with overrides, settings over
// defaults. The control plane pushes it on provision and on every change.
import type { Limits, Settings, TenantConfig } from "../../durable-objects/contract/config";
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

export function tenantConfig(row: TenantRow, planLimits: Limits): TenantConfig {
  return {
    id: row.id,
    name: row.name,
    status: row.status === "suspended" || row.status === "cancelled" ? row.status : "active",
    tier: row.tier,
    jurisdiction: row.jurisdiction,
    limits: effectiveLimits(planLimits, row.limitOverrides),
    settings: effectiveSettings(row.settings),
    legalHold: row.legalHold,
    wrappedKey: row.wrappedKey ?? "",
    retiredKeys: row.retiredKeys ?? [],
    revision: row.revision,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
