// Advances open sweep runs across the tenant registry: a page of tenants at a time (progress
// saved after each page), a bounded number of tenant calls in flight, and a budget per
// invocation so a sweep over more tenants than one invocation can reach continues next tick.
import { and, asc, count, eq, gt, inArray, lt, lte, or, type SQL } from "drizzle-orm";
import { controlDb } from "../control/control-db";
import { type SweepKind, type SweepRun, type TenantRow, tenants } from "../control/schema";
import { rememberJurisdiction } from "../jurisdiction";
import { claim, createRun, getRun, openRuns, type PageOutcome, recordPage, release } from "./sweep-runs";
import { TENANT_TASKS } from "./tenant-tasks";

export interface SweepBudget {
  /** Tenants one invocation may process (each costs a few subrequests). */
  maxTenants: number;
  pageSize: number;
  concurrency: number;
  /** Wall-clock budget of one invocation. */
  maxMillis: number;
}

export const DEFAULT_BUDGET: SweepBudget = { maxTenants: 200, pageSize: 50, concurrency: 6, maxMillis: 20_000 };

/** A registry row left in `provisioning` this long is stuck (a create takes well under a second). */
export const STUCK_PROVISIONING_MS = 2 * 60_000;

const LIVE = inArray(tenants.status, ["active", "suspended", "cancelled"]);

/**
 * Which registry rows each kind visits. Reconcile visits only the rows that need it: a
 * configuration the object has not applied, a trial that has ended, or a create that never finished.
 */
function visits(kind: SweepKind): SQL {
  if (kind === "backup") return inArray(tenants.status, ["active"]);
  // Deleted tenants too: their audit archive is trimmed as its events pass retention.
  if (kind === "retention") return inArray(tenants.status, ["active", "suspended", "cancelled", "deleted"]);
  if (kind !== "reconcile") return LIVE;
  const stuckBefore = new Date(Date.now() - STUCK_PROVISIONING_MS).toISOString();
  return or(
    and(LIVE, lt(tenants.configApplied, tenants.revision)),
    // Trials whose end has passed: suspended now (a converted trial has no end date).
    and(eq(tenants.status, "active"), lte(tenants.trialEndsAt, new Date().toISOString())),
    and(inArray(tenants.status, ["provisioning"]), lt(tenants.createdAt, stuckBefore)),
  ) as SQL;
}

/** How many rows a run of this kind would visit now (a run's `total`, and whether reconcile has work). */
export async function visitCount(env: Env, kind: SweepKind): Promise<number> {
  const [row] = await controlDb(env).select({ n: count() }).from(tenants).where(visits(kind));
  return row?.n ?? 0;
}

/** Starts a run, its `total` count holding how many tenants it is to visit (progress is tenants/total). */
export async function startRun(env: Env, kind: SweepKind, trigger: "cron" | "manual"): Promise<SweepRun> {
  return createRun(env, kind, trigger, { total: await visitCount(env, kind) });
}

async function page(env: Env, kind: SweepKind, after: string | null, size: number): Promise<TenantRow[]> {
  const where = [visits(kind)];
  if (after) where.push(gt(tenants.id, after));
  const rows = await controlDb(env)
    .select()
    .from(tenants)
    .where(and(...where))
    .orderBy(asc(tenants.id))
    .limit(size);
  for (const row of rows) rememberJurisdiction(row.id, row.jurisdiction);
  return rows;
}

/** Runs `fn` over items with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

async function processPage(
  env: Env,
  run: SweepRun,
  rows: TenantRow[],
  done: boolean,
  concurrency: number,
): Promise<PageOutcome> {
  const task = TENANT_TASKS[run.kind];
  const outcome: PageOutcome = {
    cursor: rows.at(-1)?.id ?? null,
    done,
    tenants: 0,
    failures: 0,
    counts: {},
    errors: [],
  };
  const results = await pool(rows, concurrency, async (row) => {
    try {
      return { row, counts: await task(env, row) };
    } catch (err) {
      return { row, error: String(err instanceof Error ? err.message : err) };
    }
  });
  for (const r of results) {
    outcome.tenants++;
    if ("error" in r) {
      outcome.failures++;
      outcome.errors.push({ tenant: r.row.id, error: r.error ?? "failed" });
      continue;
    }
    for (const [k, v] of Object.entries(r.counts)) outcome.counts[k] = (outcome.counts[k] ?? 0) + v;
  }
  return outcome;
}

/** Advances one run until it completes or the budget is spent; returns the run as saved. */
export async function advanceRun(
  env: Env,
  run: SweepRun,
  budget: SweepBudget,
  started = Date.now(),
): Promise<SweepRun> {
  const claimed = await claim(env, run.id);
  if (!claimed) return run; // another invocation is advancing it
  let current = claimed;
  let processed = 0;
  try {
    while (current.status === "pending" || current.status === "running") {
      if (processed >= budget.maxTenants || Date.now() - started > budget.maxMillis) break;
      const size = Math.min(budget.pageSize, budget.maxTenants - processed);
      const rows = await page(env, current.kind, current.cursor, size);
      const done = rows.length < size;
      current = await recordPage(env, current, await processPage(env, current, rows, done, budget.concurrency));
      processed += rows.length;
    }
  } finally {
    await release(env, run.id);
  }
  return { ...current, leaseUntil: null };
}

/** Advances every open run (oldest first) within one invocation's budget. */
export async function advanceSweeps(env: Env, budget: SweepBudget = DEFAULT_BUDGET): Promise<SweepRun[]> {
  const started = Date.now();
  const advanced: SweepRun[] = [];
  for (const run of await openRuns(env)) {
    if (Date.now() - started > budget.maxMillis) break;
    advanced.push(await advanceRun(env, run, budget, started));
  }
  return advanced;
}

export async function advanceById(env: Env, id: string, budget: SweepBudget = DEFAULT_BUDGET) {
  const run = await getRun(env, id);
  return run ? advanceRun(env, run, budget) : undefined;
}
