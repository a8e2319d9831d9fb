// The job runner: exports, backups, imports and data key rotations are rows in export_jobs, each
// advanced one bounded step per alarm (so a large tenant is never exported in one request); the
// alarm runs the oldest open job and re-arms itself while work remains.
import { and, desc, eq, inArray } from "drizzle-orm";
import { appendAudit } from "../audit/audit-chain";
import type { JobKind, JobView } from "../contract/jobs";
import { legalHoldFailure } from "../contract/legal-hold";
import { fail, ok, type Result } from "../contract/result";
import { exportJobs } from "../db/schema";
import type { Store } from "../db/store";
import { tenantStorage } from "../storage/tenant-storage";
import { DEFAULT_CHUNK_ROWS, type ExportState, exportStep, jobView, newExportState } from "./export-job";
import { type ImportState, importStep, isEmptyTenant } from "./import-job";
import type { JobState } from "./job-state";
import { newRekeyState, type RekeyState, rekeyStep } from "./rekey-job";

/** Parts of an import applied per alarm, and the pause between job steps. */
const IMPORT_PARTS_PER_STEP = 8;
export const JOB_STEP_DELAY_MS = 10;

type NewJob = { id: string; kind: JobKind; location: string; state: JobState };

/** Inserts a pending job and wakes the alarm that runs it. */
async function enqueue(store: Store, job: NewJob, audited: boolean): Promise<Result<JobView>> {
  const now = new Date().toISOString();
  const row = { ...job, status: "pending" as const, error: null, createdAt: now, updatedAt: now, finishedAt: null };
  store.storage.transactionSync(() => {
    store.db.insert(exportJobs).values(row).run();
    if (audited) {
      appendAudit(store.db, {
        actor: "system:control-plane",
        action: `${job.kind}.started`,
        resource: `${job.kind}:${job.id}`,
        success: true,
      });
    }
  });
  await store.storage.setAlarm(Date.now());
  return ok(jobView(row));
}

const openJob = (store: Store, kind: JobKind) =>
  store.db
    .select()
    .from(exportJobs)
    .where(and(eq(exportJobs.kind, kind), inArray(exportJobs.status, ["pending", "running"])))
    .get();

/** An export, or a backup named by its date (one a day: a re-run answers the existing one). */
export async function startExport(store: Store, kind: "export" | "backup", copyFiles: boolean) {
  const now = new Date().toISOString();
  const id =
    kind === "backup"
      ? now.slice(0, 10)
      : `exp-${now.replace(/[-:.TZ]/g, "").slice(0, 14)}-${crypto.randomUUID().slice(0, 8)}`;
  const existing = store.db.select().from(exportJobs).where(eq(exportJobs.id, id)).get();
  if (existing) return ok(jobView(existing));
  const location = kind === "backup" ? "backups" : "exports";
  return enqueue(store, { id, kind, location, state: newExportState(store, copyFiles) }, true);
}

/** Re-encrypts every encrypted value under the current data key; one rotation at a time. */
export async function startRekey(store: Store): Promise<Result<JobView>> {
  const open = openJob(store, "rekey");
  if (open) return ok(jobView(open));
  const id = `key-${crypto.randomUUID().slice(0, 12)}`;
  return enqueue(store, { id, kind: "rekey", location: "tenant", state: newRekeyState(store) }, false);
}

/** The latest data key rotation, if any. */
export function rekeyStatus(store: Store): Result<JobView | null> {
  const job = store.db
    .select()
    .from(exportJobs)
    .where(eq(exportJobs.kind, "rekey"))
    .orderBy(desc(exportJobs.createdAt))
    .get();
  return ok(job ? jobView(job) : null);
}

/** Loads another tenant's export into this tenant, which must be empty. */
export async function startImport(store: Store, fromTenant: string, exportId: string): Promise<Result<JobView>> {
  if (!isEmptyTenant(store)) return fail("conflict", "Imports go into an empty tenant only.");
  if (openJob(store, "import")) return fail("conflict", "An import is already running.");
  const state: ImportState = { source: fromTenant, exportId, manifest: null, index: 0, counts: {} };
  const id = `imp-${crypto.randomUUID().slice(0, 12)}`;
  return enqueue(store, { id, kind: "import", location: `${fromTenant}/${exportId}`, state }, false);
}

export function jobById(store: Store, id: string): Result<JobView> {
  const job = store.db.select().from(exportJobs).where(eq(exportJobs.id, id)).get();
  return job ? ok(jobView(job)) : fail("not_found", `No export '${id}'.`);
}

/** Runs the oldest open job one step; returns whether more work remains. */
export async function stepJobs(store: Store, env: Env): Promise<boolean> {
  // Most alarms only flush usage counts: a plain query, not the query builder, tells them apart.
  const active = store.sql
    .exec("SELECT 1 FROM export_jobs WHERE status IN ('pending', 'running') LIMIT 1")
    .toArray().length;
  if (!active) return false;
  const job = store.db
    .select()
    .from(exportJobs)
    .where(inArray(exportJobs.status, ["pending", "running"]))
    .orderBy(exportJobs.createdAt)
    .get();
  if (!job) return false;
  const chunkRows = Number(env.EXPORT_CHUNK_ROWS) || DEFAULT_CHUNK_ROWS;
  const now = () => new Date().toISOString();
  try {
    // The row's kind says which state it holds.
    const step =
      job.kind === "rekey"
        ? store.storage.transactionSync(() => rekeyStep(store, job.state as RekeyState, chunkRows * 4))
        : job.kind === "import"
          ? await importStep(store, env.FILES, job.state as ImportState, IMPORT_PARTS_PER_STEP)
          : await exportStep(
              store,
              env.FILES,
              job.id,
              job.kind === "backup" ? "backups" : "exports",
              job.state as ExportState,
              chunkRows * 4,
              chunkRows,
            );
    const at = now();
    store.db
      .update(exportJobs)
      .set({
        status: step.finished ? "completed" : "running",
        state: step.state,
        updatedAt: at,
        finishedAt: step.finished ? at : null,
      })
      // An erasure may have expired the export while its step was writing (export-expiry.ts).
      .where(and(eq(exportJobs.id, job.id), inArray(exportJobs.status, ["pending", "running"])))
      .run();
    if (step.finished && job.kind === "backup") await pruneBackups(store, env);
  } catch (err) {
    const at = now();
    store.db
      .update(exportJobs)
      .set({ status: "failed", error: String(err instanceof Error ? err.message : err), updatedAt: at, finishedAt: at })
      .where(eq(exportJobs.id, job.id))
      .run();
  }
  return true;
}

/** Keeps the plan's number of backups (all of them under legal hold); older bundles go from R2. */
export async function pruneBackups(store: Store, env: Env): Promise<void> {
  if (legalHoldFailure(store.config, "Pruning backups")) return;
  const backups = store.db
    .select()
    .from(exportJobs)
    .where(and(eq(exportJobs.kind, "backup"), eq(exportJobs.status, "completed")))
    .orderBy(desc(exportJobs.id))
    .all();
  const archive = tenantStorage(env.FILES, store.config.id);
  for (const old of backups.slice(store.config.limits.maxBackups)) {
    await archive.deleteBundle({ area: "backups", id: old.id });
    store.db.delete(exportJobs).where(eq(exportJobs.id, old.id)).run();
  }
}
