// Plans: tiers with their limits and prices.
import { eq } from "drizzle-orm";
import { invalid } from "../errors";
import type { ControlDb } from "./control-db";
import { plans } from "./schema";

export type Plan = typeof plans.$inferSelect;

export async function requirePlan(db: ControlDb, tier: string): Promise<Plan> {
  const plan = await db.select().from(plans).where(eq(plans.tier, tier)).get();
  if (!plan) throw invalid(`Unknown tier '${tier}'.`, { field: "tier" });
  return plan;
}
