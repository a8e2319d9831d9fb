// Server errors (5xx answers) counted per tenant and minute in D1, where the fleet's alerts read
// them. A 5xx is rare, so one small upsert per error costs little; rows older than a day are
// pruned by the per-minute cron.
import { and, gte, lt, sql, sum } from "drizzle-orm";
import { controlDb } from "./control-db";
import { tenantErrors } from "./schema";

const minuteOf = (ms: number) => new Date(ms).toISOString().slice(0, 16);

export async function recordServerError(env: Env, tenantId: string, status: number, route: string): Promise<void> {
  await controlDb(env)
    .insert(tenantErrors)
    .values({ tenantId, minute: minuteOf(Date.now()), count: 1, lastStatus: status, lastRoute: route })
    .onConflictDoUpdate({
      target: [tenantErrors.tenantId, tenantErrors.minute],
      set: { count: sql`${tenantErrors.count} + 1`, lastStatus: status, lastRoute: route },
    });
}

/** 5xx answers per tenant in the last hour, with the first minute that had one. */
export async function errorsInLastHour(env: Env, now = Date.now()) {
  return controlDb(env)
    .select({
      tenant: tenantErrors.tenantId,
      count: sum(tenantErrors.count).mapWith(Number),
      since: sql<string>`min(${tenantErrors.minute})`,
    })
    .from(tenantErrors)
    .where(gte(tenantErrors.minute, minuteOf(now - 3_600_000)))
    .groupBy(tenantErrors.tenantId);
}

export async function pruneServerErrors(env: Env, now = Date.now()): Promise<void> {
  await controlDb(env)
    .delete(tenantErrors)
    .where(and(lt(tenantErrors.minute, minuteOf(now - 86_400_000))));
}
