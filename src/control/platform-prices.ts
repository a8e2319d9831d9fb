// What a tenant costs the platform, in Cloudflare's own units and list prices (Workers Paid,
// beyond the included allowances, USD), so a statement shows cost beside price. Sources:
// developers.cloudflare.com/durable-objects/platform/pricing (requests, SQLite rows and storage),
// /workers/platform/pricing (requests), /r2/pricing (storage); read 2026-12-01. Compute duration
// and R2 operations are not metered per tenant and are left out (see README, Cost per tenant).

const GB = 1e9;

export const PLATFORM_PRICES = {
  /** USD per million: a Worker request and the Durable Object request it makes. */
  workerRequestsPerMillion: 0.3,
  durableObjectRequestsPerMillion: 0.15,
  rowsReadPerMillion: 0.001,
  rowsWrittenPerMillion: 1.0,
  /** USD per GB-month (decimal GB, as Cloudflare bills). */
  sqliteStoragePerGbMonth: 0.2,
  r2StandardPerGbMonth: 0.015,
} as const;

export interface PlatformCost {
  units: { requests: number; rowsRead: number; rowsWritten: number; databaseGbMonth: number; r2GbMonth: number };
  /** USD cents, to 1/10,000 of a cent. */
  cents: number;
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

/** One closed period's cost: its counters, and its storage gauges held for the whole month. */
export function platformCost(metrics: Record<string, number>): PlatformCost {
  const p = PLATFORM_PRICES;
  const units = {
    requests: metrics.requests ?? 0,
    rowsRead: metrics.rowsRead ?? 0,
    rowsWritten: metrics.rowsWritten ?? 0,
    databaseGbMonth: round((metrics.databaseBytes ?? 0) / GB, 6),
    r2GbMonth: round((metrics.r2Bytes ?? metrics.storageBytes ?? 0) / GB, 6),
  };
  const usd =
    (units.requests / 1e6) * (p.workerRequestsPerMillion + p.durableObjectRequestsPerMillion) +
    (units.rowsRead / 1e6) * p.rowsReadPerMillion +
    (units.rowsWritten / 1e6) * p.rowsWrittenPerMillion +
    ((metrics.databaseBytes ?? 0) / GB) * p.sqliteStoragePerGbMonth +
    ((metrics.r2Bytes ?? metrics.storageBytes ?? 0) / GB) * p.r2StandardPerGbMonth;
  return { units, cents: round(usd * 100, 4) };
}
