// Usage reports: the current period's counters with the gauges (members, collections, records,
// stored bytes) against the limits, past periods, and the closed periods the billing rollup reads.
import type { Principal } from "../access/authorize";
import type { ClosedUsage, MeView, UsageReport } from "../contract/usage";
import type { Store } from "../db/store";
import { r2Bytes } from "../files/file-catalog";
import { recordCount } from "../records/record-writes";
import { currentPeriod, periods, type UsageMeter } from "./usage-meter";

export function usageNow(store: Store, meter: UsageMeter): Record<string, number> & GaugeCounts {
  const one = (query: string) => store.sql.exec<{ n: number | null }>(query).one().n ?? 0;
  return {
    ...meter.read(store.sql, currentPeriod()),
    members: one("SELECT count(*) AS n FROM members"),
    collections: one("SELECT count(*) AS n FROM collections"),
    records: recordCount(store),
    storageBytes: one("SELECT sum(size) AS n FROM files"),
    databaseBytes: store.sql.databaseSize,
    r2Bytes: r2Bytes(store),
  };
}

interface GaugeCounts {
  members: number;
  collections: number;
  records: number;
  storageBytes: number;
  databaseBytes: number;
  r2Bytes: number;
}

export function usageReport(store: Store, meter: UsageMeter): UsageReport {
  const current = currentPeriod();
  return {
    period: current,
    limits: store.config.limits,
    current: usageNow(store, meter),
    periods: periods(store).filter((p) => p.period !== current),
  };
}

/** Every closed period (before the current month), with its gauges snapshotted once. */
export function closedUsage(store: Store, meter: UsageMeter): ClosedUsage {
  const current = currentPeriod();
  store.storage.transactionSync(() => {
    meter.flush(store.sql);
    // Gauges (records, storage) are snapshotted into a closed period once, at its first
    // rollup, so every later rollup of that period reads the same figures.
    const gauges = usageNow(store, meter);
    for (const { period, metrics } of periods(store)) {
      if (period >= current || "records" in metrics) continue;
      for (const metric of ["records", "storageBytes", "databaseBytes", "r2Bytes"] as const) {
        store.sql.exec(
          "INSERT INTO usage_counters (period, metric, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
          period,
          metric,
          gauges[metric],
        );
      }
    }
  });
  return { tier: store.config.tier, periods: periods(store).filter((p) => p.period < current) };
}

/** GET /v1/me: the caller in their tenant, with the tenant's limits and usage. */
export function meView(store: Store, meter: UsageMeter, p: Principal): MeView {
  const { id, name, status, tier, limits } = store.config;
  return {
    tenant: { id, name, status, tier },
    principal: { sub: p.sub, kind: p.kind, roles: p.roles, permissions: [...p.permissions].sort() },
    limits,
    usage: usageNow(store, meter),
  };
}
