// The audit trail's floor: auditRetentionDays is at least 2557 days (7 years). Tenant members can
// never go below it (PATCH /v1/settings); a platform admin lowers it for one tenant only by saying
// why in X-Silo-Reason on POST or PUT /v1/tenants, and the reason goes to the admin audit.
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { invalid } from "../errors";
import { adminAuditInsert, controlDb } from "./control-db";

export const AUDIT_RETENTION_FLOOR_DAYS = 2557;
const MAX_REASON_LENGTH = 500;

/** The stated reason for going below the floor (null when the change does not); 400 without one. */
export function belowFloorReason(c: Context<AppEnv>, settings: { auditRetentionDays?: number } | undefined) {
  const days = settings?.auditRetentionDays;
  if (days === undefined || days >= AUDIT_RETENTION_FLOOR_DAYS) return null;
  const reason = c.req.header("x-silo-reason")?.trim();
  if (!reason || reason.length > MAX_REASON_LENGTH) {
    throw invalid(
      `Invalid json field 'settings.auditRetentionDays': below the ${AUDIT_RETENTION_FLOOR_DAYS}-day (7 year) floor; a platform admin lowers it for a tenant by stating why in X-Silo-Reason (up to ${MAX_REASON_LENGTH} characters).`,
      { field: "settings.auditRetentionDays" },
    );
  }
  return { days, reason };
}

/** Records a lowered floor in the admin audit, beside the tenant change itself. */
export async function auditFloorLowered(
  env: Env,
  actor: { sub: string; requestId: string },
  tenantId: string,
  lowered: { days: number; reason: string } | null,
) {
  if (!lowered) return;
  await adminAuditInsert(controlDb(env), actor, "tenant.audit_floor_lowered", tenantId, {
    auditRetentionDays: lowered.days,
    reason: lowered.reason,
  });
}
