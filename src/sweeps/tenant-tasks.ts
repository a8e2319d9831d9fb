// What each sweep does for one tenant. Every task is idempotent: running it twice changes
// nothing the second time.
import { sql } from "drizzle-orm";
import { legalHoldFailure } from "../../durable-objects/contract/legal-hold";
import { trimAuditArchive } from "../../durable-objects/storage/audit-archive";
import { controlDb } from "../control/control-db";
import { finishProvisioning, RECONCILER, recordReport } from "../control/fleet-reports";
import { finalizeRotation } from "../control/key-rotation";
import { type SweepKind, type TenantRow, usageRollups } from "../control/schema";
import { trialEnded } from "../control/subscriptions";
import { graceOver, hardDeleteTenant } from "../control/tenant-deletion";
import { commit, pushConfig } from "../control/tenant-service";
import { tenantStub } from "../tenant-client";

type Task = (env: Env, tenant: TenantRow) => Promise<Record<string, number>>;

function expect<T>(result: { ok: true; value: T } | { ok: false; detail: string }): T {
  if (!result.ok) throw new Error(result.detail);
  return result.value;
}

const retention: Task = async (env, tenant): Promise<Record<string, number>> => {
  // A held tenant is neither purged nor hard-deleted, and keeps its retired keys.
  if (legalHoldFailure(tenant, "Retention")) return { held: 1 };
  const now = Date.now();
  if (tenant.status === "deleted") {
    const archive = await trimAuditArchive(env.FILES, tenant.id, env.MASTER_KEY ?? "", new Date(now));
    return { archiveTrimmed: archive.trimmed };
  }
  if (tenant.status === "cancelled" && graceOver(env, tenant, now)) {
    const deleted = await hardDeleteTenant(env, tenant);
    return { tenantsDeleted: deleted.complete ? 1 : 0, objectsDeleted: deleted.objects };
  }
  // A finished data key rotation has its retired key destroyed here at the latest.
  if (tenant.retiredKeys.length > 0)
    await finalizeRotation(env, { sub: "system:retention", requestId: "sweep" }, tenant);
  const r = expect(await tenantStub(env, tenant.id).retention(new Date(now).toISOString()));
  // Files not read for settings.archiveAfterDays move to R2 Infrequent Access (a batch a day).
  const archival = expect(await tenantStub(env, tenant.id).archiveFiles(new Date(now).toISOString()));
  return {
    filesArchived: archival.archived,
    recordsPurged: r.recordsPurged,
    versionsTrimmed: r.versionsTrimmed,
    auditTrimmed: r.auditTrimmed,
    idempotencyExpired: r.idempotencyExpired,
    continuing: r.more ? 1 : 0,
  };
};

const billing: Task = async (env, tenant) => {
  // The hourly pass also refreshes the registry's copy of the object's report (usage for alerts).
  await recordReport(env, tenant.id, expect(await tenantStub(env, tenant.id).fleetReport()));
  const usage = expect(await tenantStub(env, tenant.id).closedUsage());
  if (usage.periods.length === 0) return { periods: 0 };
  const db = controlDb(env);
  const now = new Date().toISOString();
  await db.batch(
    usage.periods.map((p) =>
      db
        .insert(usageRollups)
        .values({ tenantId: tenant.id, period: p.period, tier: usage.tier, metrics: p.metrics, rolledAt: now })
        .onConflictDoUpdate({
          target: [usageRollups.tenantId, usageRollups.period],
          // A re-run writes the same counters: the rollup is idempotent.
          set: { metrics: sql`excluded.metrics`, tier: sql`excluded.tier` },
        }),
    ) as [never, ...never[]],
  );
  return { periods: usage.periods.length };
};

/** Starts today's backup (an export under backups/{date}/); the tenant prunes old ones. */
const backup: Task = async (env, tenant) => {
  const job = expect(await tenantStub(env, tenant.id).startJob({ kind: "backup", onDemand: false }));
  return { backupsStarted: job.status === "pending" ? 1 : 0 };
};

/**
 * Wakes the object, which applies any bundled migration it lacks, and records its report. A
 * tenant whose migration failed is listed in the run's errors (and in GET /v1/fleet/schema); it
 * stays on its old schema and serves, and the others go on.
 */
const migrate: Task = async (env, tenant): Promise<Record<string, number>> => {
  const report = expect(await tenantStub(env, tenant.id).fleetReport());
  await recordReport(env, tenant.id, report);
  if (report.migrationError) throw new Error(`migration failed: ${report.migrationError}`);
  return report.schema === tenant.schemaTag ? { current: 1 } : { migrated: 1 };
};

/** Pushes a configuration the object has not applied, suspends an ended trial, or finishes a create that never did. */
const reconcile: Task = async (env, tenant) => {
  if (tenant.status === "provisioning") return finishProvisioning(env, tenant);
  if (trialEnded(tenant, Date.now())) {
    const details = { from: "trial", trialEndsAt: tenant.trialEndsAt };
    await commit(controlDb(env), env, RECONCILER, tenant, { status: "suspended" }, "tenant.trial_expired", details);
    return { trialsExpired: 1 };
  }
  await pushConfig(env, controlDb(env), RECONCILER, tenant);
  return { configPushed: 1 };
};

export const TENANT_TASKS: Record<SweepKind, Task> = { retention, billing, backup, migrate, reconcile };
