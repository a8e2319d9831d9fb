// The cron triggers: each one starts a run of its kind (unless one is still open) and then
// advances every open run, so an unfinished sweep continues on whichever tick comes next.
import type { SweepKind } from "../control/schema";
import { pruneServerErrors } from "../control/tenant-errors";
import { expireIdempotencyKeys } from "../middleware/idempotency";
import { advanceSweeps, type SweepBudget, startRun, visitCount } from "./sweep-runner";
import { openRuns } from "./sweep-runs";

/** Must match [triggers] crons in wrangler.toml. */
export const CRON_KINDS: Record<string, SweepKind> = {
  "17 3 * * *": "retention",
  "7 * * * *": "billing",
  "47 2 * * *": "backup",
  // Every minute: re-push configurations the objects have not applied, finish stuck creates.
  "* * * * *": "reconcile",
};

/** Kinds that start a run only when some tenant needs it (no empty run recorded every minute). */
const ONLY_WHEN_NEEDED = new Set<SweepKind>(["reconcile"]);

export async function runCron(env: Env, cron: string, budget?: SweepBudget) {
  const kind = CRON_KINDS[cron];
  // Hourly: server-error counts older than a day are no alert's source any more.
  if (kind === "billing") await pruneServerErrors(env);
  if (kind && (await openRuns(env, kind)).length === 0) {
    if (!ONLY_WHEN_NEEDED.has(kind) || (await visitCount(env, kind)) > 0) await startRun(env, kind, "cron");
  }
  if (kind === "retention") await expireIdempotencyKeys(env);
  return advanceSweeps(env, budget);
}
