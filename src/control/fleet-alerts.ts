// Tenants that need an operator, from what the registry holds (no object is woken to answer):
// usage over 80% of a limit (as last reported by the object), 5xx answers in the last hour,
// failures in the newest run of each sweep, failed migrations, configuration not applied, and
// creates that never finished. Each alert clears when its source does.
import { inArray } from "drizzle-orm";
import { LIMIT_OF_METRIC } from "../../durable-objects/contract/usage";
import { STUCK_PROVISIONING_MS } from "../sweeps/sweep-runner";
import { latestFinishedRuns } from "../sweeps/sweep-runs";
import { controlDb } from "./control-db";
import { plans, tenants } from "./schema";
import { effectiveLimits } from "./tenant-config";
import { errorsInLastHour } from "./tenant-errors";

export const ALERT_KINDS = [
  "near_limit",
  "errors",
  "sweep_failed",
  "migration_failed",
  "config_behind",
  "provisioning_stuck",
] as const;

export interface Alert {
  tenant: string;
  kind: (typeof ALERT_KINDS)[number];
  /** What the alert is about: the usage metric, the sweep kind, the schema tag the tenant is on. */
  metric: string | null;
  value: number;
  limit: number | null;
  since: string;
}

/** A share of a limit above this raises `near_limit` (the portal's bars warn at the same point). */
export const NEAR_LIMIT = 0.8;

/** Limits are validated up to this value, which means "no limit". */
const UNLIMITED_LIMIT = Number.MAX_SAFE_INTEGER;

export async function fleetAlerts(env: Env, now = Date.now()): Promise<Alert[]> {
  const db = controlDb(env);
  const [rows, planRows, errors, runs] = await Promise.all([
    db
      .select()
      .from(tenants)
      .where(inArray(tenants.status, ["provisioning", "active", "suspended", "cancelled"])),
    db.select().from(plans),
    errorsInLastHour(env, now),
    latestFinishedRuns(env),
  ]);
  const planLimits = new Map(planRows.map((p) => [p.tier, p.limits]));
  const alerts: Alert[] = [];
  const stuckBefore = new Date(now - STUCK_PROVISIONING_MS).toISOString();
  for (const row of rows) {
    if (row.status === "provisioning") {
      if (row.createdAt < stuckBefore)
        alerts.push({
          tenant: row.id,
          kind: "provisioning_stuck",
          metric: null,
          value: 0,
          limit: null,
          since: row.createdAt,
        });
      continue;
    }
    if (row.configApplied < row.revision) {
      alerts.push({
        tenant: row.id,
        kind: "config_behind",
        metric: "config",
        value: row.configApplied,
        limit: row.revision,
        since: row.updatedAt,
      });
    }
    if (row.schemaError) {
      alerts.push({
        tenant: row.id,
        kind: "migration_failed",
        metric: row.schemaTag,
        value: 1,
        limit: null,
        since: row.schemaFailedAt ?? row.updatedAt,
      });
    }
    const plan = planLimits.get(row.tier);
    if (!plan || !row.reportedAt) continue;
    const limits = effectiveLimits(plan, row.limitOverrides);
    for (const [metric, key] of Object.entries(LIMIT_OF_METRIC)) {
      const used = row.usage[metric] ?? 0;
      const limit = limits[key];
      if (limit >= UNLIMITED_LIMIT || used <= limit * NEAR_LIMIT) continue;
      alerts.push({ tenant: row.id, kind: "near_limit", metric, value: used, limit, since: row.reportedAt });
    }
  }
  for (const e of errors) {
    alerts.push({
      tenant: e.tenant,
      kind: "errors",
      metric: "5xx",
      value: e.count,
      limit: null,
      since: `${e.since}:00.000Z`,
    });
  }
  for (const run of runs) {
    for (const e of run.errors) {
      // A failed migration is its own alert (and clears with the tenant's next good report).
      if (e.error.startsWith("migration failed")) continue;
      alerts.push({
        tenant: e.tenant,
        kind: "sweep_failed",
        metric: run.kind,
        value: 1,
        limit: null,
        since: run.startedAt,
      });
    }
  }
  return alerts;
}
