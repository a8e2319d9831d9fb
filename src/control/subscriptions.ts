// Trials and subscriptions: when a trial asked for at creation ends, and what a tenant update's
// status, trialEndsAt and subscription parts change in the registry (DESIGN §13).
import { ApiError } from "../errors";
import type { TenantRow } from "./schema";
import type { CreateTenantInput, TenantPatch } from "./tenant-service";

/** The subscription an admin sets: its dates and features granted beyond the plan's. */
export interface SubscriptionPatch {
  startDate?: string | null;
  endDate?: string | null;
  extraFeatures?: string[];
}

/** Times as the registry keeps them: UTC ISO 8601 with milliseconds. */
export const isoOrNull = (t: string | null | undefined): string | null => (t ? new Date(t).toISOString() : null);

export const DEFAULT_TRIAL_DAYS = 14;
const DAY_MS = 86_400_000;

/** When a trial asked for at creation ends, or null for a tenant that starts active. */
export function trialEnd(input: Pick<CreateTenantInput, "status" | "trialDays">, now: number): string | null {
  if (input.status === "active" && input.trialDays !== undefined) {
    throw new ApiError("validation_failed", "trialDays starts a trial: leave status out or set it to trial.", {
      field: "trialDays",
    });
  }
  if (input.status !== "trial" && input.trialDays === undefined) return null;
  return new Date(now + (input.trialDays ?? DEFAULT_TRIAL_DAYS) * DAY_MS).toISOString();
}

/** The registry changes of a patch's trial and subscription parts. */
export function subscriptionChanges(row: TenantRow, patch: TenantPatch): Partial<TenantRow> {
  const changes: Partial<TenantRow> = {};
  const sub = patch.subscription;
  if (sub?.startDate !== undefined) changes.subscriptionStart = isoOrNull(sub.startDate);
  if (sub?.endDate !== undefined) changes.subscriptionEnd = isoOrNull(sub.endDate);
  if (sub?.extraFeatures !== undefined) changes.extraFeatures = [...new Set(sub.extraFeatures)];
  if (patch.trialEndsAt === undefined) return changes;
  if (!row.trialEndsAt) {
    // Converting a tenant that is not (or no longer) on trial changes nothing; a new end has nothing to move.
    if (patch.trialEndsAt === null) return changes;
    throw new ApiError("conflict", `Tenant '${row.id}' is not on a trial.`);
  }
  if (patch.trialEndsAt === null) {
    // Converted: the trial is over for good and the paid subscription starts now.
    changes.trialEndsAt = null;
    changes.subscriptionStart = isoOrNull(sub?.startDate) ?? new Date().toISOString();
  } else {
    changes.trialEndsAt = new Date(patch.trialEndsAt).toISOString();
  }
  return changes;
}

/** Whether a tenant is on a trial whose end has passed (the reconcile sweep suspends it). */
export const trialEnded = (row: TenantRow, now: number): boolean =>
  row.status === "active" && row.trialEndsAt !== null && Date.parse(row.trialEndsAt) <= now;
