// The cron triggers: each one starts a run of its kind (unless one is still open) and then
// advances every open run, so an unfinished sweep continues on whichever tick comes next.
import type { SweepKind } from "../control/schema";
import { expireIdempotencyKeys } from "../middleware/idempotency";
import { advanceSweeps, type SweepBudget } from "./sweep-runner";
import { createRun, openRuns } from "./sweep-runs";

/** Must match [triggers] crons in wrangler.toml; any other cron (the per-minute one) only continues open runs. */
export const CRON_KINDS: Record<string, SweepKind> = {
  "17 3 * * *": "retention",
  "7 * * * *": "billing",
  "47 2 * * *": "backup",
};

export async function runCron(env: Env, cron: string, budget?: SweepBudget) {
  const kind = CRON_KINDS[cron];
  if (kind && (await openRuns(env, kind)).length === 0) await createRun(env, kind, "cron");
  if (kind === "retention") await expireIdempotencyKeys(env);
  return advanceSweeps(env, budget);
}
