// Sweep runs in D1: created by cron or an admin, advanced page by page from a stored cursor.
import { and, asc, desc, eq, inArray, isNull, lt, or } from "drizzle-orm";
import { controlDb } from "../control/control-db";
import { type SweepKind, type SweepRun, sweepRuns } from "../control/schema";

const MAX_ERRORS_KEPT = 20;

export async function createRun(
  env: Env,
  kind: SweepKind,
  trigger: "cron" | "manual",
  counts: Record<string, number> = {},
): Promise<SweepRun> {
  const now = new Date().toISOString();
  const [run] = await controlDb(env)
    .insert(sweepRuns)
    .values({
      id: crypto.randomUUID(),
      kind,
      status: "pending",
      trigger,
      cursor: null,
      tenants: 0,
      failures: 0,
      counts,
      errors: [],
      startedAt: now,
      updatedAt: now,
      leaseUntil: null,
    })
    .returning();
  return run as SweepRun;
}

export async function openRuns(env: Env, kind?: SweepKind): Promise<SweepRun[]> {
  const open = inArray(sweepRuns.status, ["pending", "running"]);
  return controlDb(env)
    .select()
    .from(sweepRuns)
    .where(kind ? and(open, eq(sweepRuns.kind, kind)) : open)
    .orderBy(asc(sweepRuns.startedAt));
}

/** Runs newest first (by start, then id), after `before` — the last run of the previous page. */
export async function listRuns(
  env: Env,
  limit: number,
  before: { startedAt: string; id: string } | null = null,
): Promise<SweepRun[]> {
  const older = before
    ? or(
        lt(sweepRuns.startedAt, before.startedAt),
        and(eq(sweepRuns.startedAt, before.startedAt), lt(sweepRuns.id, before.id)),
      )
    : undefined;
  return controlDb(env)
    .select()
    .from(sweepRuns)
    .where(older)
    .orderBy(desc(sweepRuns.startedAt), desc(sweepRuns.id))
    .limit(limit);
}

export async function getRun(env: Env, id: string): Promise<SweepRun | undefined> {
  return controlDb(env).select().from(sweepRuns).where(eq(sweepRuns.id, id)).get();
}

export interface PageOutcome {
  cursor: string | null;
  done: boolean;
  tenants: number;
  failures: number;
  counts: Record<string, number>;
  errors: { tenant: string; error: string }[];
}

/** Records one processed page: progress is saved after every page, so a run resumes from it. */
export async function recordPage(env: Env, run: SweepRun, page: PageOutcome): Promise<SweepRun> {
  const counts = { ...run.counts };
  for (const [k, v] of Object.entries(page.counts)) counts[k] = (counts[k] ?? 0) + v;
  const now = new Date().toISOString();
  const next: SweepRun = {
    ...run,
    status: page.done ? "completed" : "running",
    cursor: page.cursor ?? run.cursor,
    tenants: run.tenants + page.tenants,
    failures: run.failures + page.failures,
    counts,
    errors: [...run.errors, ...page.errors].slice(0, MAX_ERRORS_KEPT),
    updatedAt: now,
    finishedAt: page.done ? now : null,
  };
  await controlDb(env).update(sweepRuns).set(next).where(eq(sweepRuns.id, run.id));
  return next;
}

const LEASE_MS = 60_000;

/** Claims a run for one invocation, so two invocations never advance the same run at once. */
export async function claim(env: Env, id: string): Promise<SweepRun | undefined> {
  const now = new Date();
  const [run] = await controlDb(env)
    .update(sweepRuns)
    .set({ leaseUntil: new Date(now.getTime() + LEASE_MS).toISOString() })
    .where(
      and(
        eq(sweepRuns.id, id),
        inArray(sweepRuns.status, ["pending", "running"]),
        or(isNull(sweepRuns.leaseUntil), lt(sweepRuns.leaseUntil, now.toISOString())),
      ),
    )
    .returning();
  return run;
}

export async function release(env: Env, id: string): Promise<void> {
  await controlDb(env).update(sweepRuns).set({ leaseUntil: null }).where(eq(sweepRuns.id, id));
}

/** The newest finished run of each kind (what the alerts read for failed sweeps). */
export async function latestFinishedRuns(env: Env): Promise<SweepRun[]> {
  const runs = await controlDb(env)
    .select()
    .from(sweepRuns)
    .where(inArray(sweepRuns.status, ["completed", "failed"]))
    .orderBy(desc(sweepRuns.startedAt))
    .limit(100);
  const seen = new Set<string>();
  return runs.filter((r) => !seen.has(r.kind) && seen.add(r.kind));
}
