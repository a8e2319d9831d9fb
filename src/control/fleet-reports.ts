// What the registry keeps of each object's own report (schema, applied configuration, usage), and
// the repair of a create that never finished: the control plane's half of keeping D1 and the
// tenant objects in step.
import { and, asc, count, eq, inArray, isNotNull, sql } from "drizzle-orm";
import { type FleetReport, LATEST_SCHEMA } from "../../durable-objects/contract/fleet";
import { tenantStub } from "../tenant-client";
import { type AdminActor, actorName, adminAuditInsert, controlDb } from "./control-db";
import { requirePlan } from "./plans";
import { type TenantRow, tenants } from "./schema";
import { tenantConfig } from "./tenant-config";

export const RECONCILER: AdminActor = { sub: "reconcile", requestId: "sweep", name: "system:reconcile" };

/** Stores a report: a failed migration keeps the time it first failed; a success clears it. */
export async function recordReport(env: Env, tenantId: string, report: FleetReport): Promise<void> {
  const now = new Date().toISOString();
  await controlDb(env)
    .update(tenants)
    .set({
      schemaTag: report.schema,
      schemaError: report.migrationError,
      schemaFailedAt: report.migrationError ? sql`coalesce(${tenants.schemaFailedAt}, ${now})` : null,
      configApplied: sql`max(${tenants.configApplied}, ${report.applied})`,
      usage: report.usage,
      reportedAt: now,
    })
    .where(eq(tenants.id, tenantId));
}

/**
 * Finishes a create that stopped between the registry insert and activation (a crash, a lost
 * answer): the object is provisioned from the registry row when it was not (owner by `sub`
 * only: an email or display name given at create time was never stored), then the row becomes
 * `active`. Provisioning is all or nothing on the object's side, so repeating this is safe.
 */
export async function finishProvisioning(env: Env, row: TenantRow): Promise<Record<string, number>> {
  const db = controlDb(env);
  const stub = tenantStub(env, row.id);
  let report = await stub.fleetReport();
  const provisioned = report.ok ? 0 : 1;
  if (!report.ok) {
    const plan = await requirePlan(db, row.tier);
    const made = await stub.provision({
      config: tenantConfig(row, plan),
      owner: { sub: row.ownerSub },
      actor: actorName(RECONCILER),
    });
    if (!made.ok) throw new Error(`provisioning failed: ${made.detail}`);
    report = await stub.fleetReport();
    if (!report.ok) throw new Error(`provisioning failed: ${report.detail}`);
  }
  await db.batch([
    db
      .update(tenants)
      .set({ status: "active", configApplied: report.value.applied, schemaTag: report.value.schema })
      .where(eq(tenants.id, row.id)),
    adminAuditInsert(db, RECONCILER, "tenant.create", row.id, { finished: true, provisioned: provisioned === 1 }),
  ]);
  return { provisioningFinished: 1 };
}

const LIVE = inArray(tenants.status, ["active", "suspended", "cancelled"]);

/** GET /v1/fleet/schema: the newest tag, how many tenants are on each, and those whose migration failed. */
export async function fleetSchema(env: Env) {
  const db = controlDb(env);
  const [counts, failed] = await Promise.all([
    db.select({ tag: tenants.schemaTag, n: count() }).from(tenants).where(LIVE).groupBy(tenants.schemaTag),
    db
      .select({ tenant: tenants.id, error: tenants.schemaError, at: tenants.schemaFailedAt, schema: tenants.schemaTag })
      .from(tenants)
      .where(and(LIVE, isNotNull(tenants.schemaError)))
      .orderBy(asc(tenants.id))
      .limit(1000),
  ]);
  return {
    latest: LATEST_SCHEMA,
    // A tenant not reported since this was deployed is "unknown" until the migrate sweep visits it.
    tenants: Object.fromEntries(counts.map((r) => [r.tag ?? "unknown", r.n])),
    failed: failed.map((f) => ({ tenant: f.tenant, error: f.error ?? "", at: f.at ?? "", schema: f.schema })),
  };
}
