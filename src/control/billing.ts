// Billing statements: per tenant and closed period, the usage rolled up from its object, what
// the plan includes, the overage and the amount, all in integer cents.
import { eq } from "drizzle-orm";
import type { ControlDb } from "./control-db";
import { type PlatformCost, platformCost } from "./platform-prices";
import { type PlanPrices, plans, usageRollups } from "./schema";

const GIB = 1024 ** 3;

export interface StatementLine {
  tenant: string;
  tier: string;
  period: string;
  usage: { requests: number; records: number; storageBytes: number };
  included: PlanPrices["included"];
  overage: { requests: number; records: number; storageBytes: number };
  amountCents: { base: number; overage: number; total: number };
  /** What the tenant cost the platform that period (platform-prices.ts) and the price less it. */
  platformCost: PlatformCost;
  marginCents: number;
}

export function statementLine(
  tenant: string,
  period: string,
  tier: string,
  metrics: Record<string, number>,
  prices: PlanPrices,
): StatementLine {
  const usage = {
    requests: metrics.requests ?? 0,
    records: metrics.records ?? 0,
    storageBytes: metrics.storageBytes ?? 0,
  };
  const over = (used: number, included: number) => Math.max(0, used - included);
  const overage = {
    requests: over(usage.requests, prices.included.requests),
    records: over(usage.records, prices.included.records),
    storageBytes: over(usage.storageBytes, prices.included.storageBytes),
  };
  const cost = platformCost(metrics);
  // Overage is billed per started unit: 1,000 requests, 1,000 records, 1 GiB.
  const overageCents =
    Math.ceil(overage.requests / 1000) * prices.overageCents.per1kRequests +
    Math.ceil(overage.records / 1000) * prices.overageCents.per1kRecords +
    Math.ceil(overage.storageBytes / GIB) * prices.overageCents.perGbStorage;
  return {
    tenant,
    tier,
    period,
    usage,
    included: prices.included,
    overage,
    amountCents: { base: prices.baseCents, overage: overageCents, total: prices.baseCents + overageCents },
    platformCost: cost,
    marginCents: Math.round((prices.baseCents + overageCents - cost.cents) * 10_000) / 10_000,
  };
}

export async function statements(db: ControlDb, period: string): Promise<StatementLine[]> {
  const [rollups, allPlans] = await Promise.all([
    db.select().from(usageRollups).where(eq(usageRollups.period, period)).orderBy(usageRollups.tenantId),
    db.select().from(plans),
  ]);
  const pricesOf = new Map(allPlans.map((p) => [p.tier, p.prices]));
  return rollups.flatMap((r) => {
    const prices = pricesOf.get(r.tier);
    return prices ? [statementLine(r.tenantId, r.period, r.tier, r.metrics, prices)] : [];
  });
}
