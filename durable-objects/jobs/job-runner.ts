// The job runner: exports, backups, imports, restores and data key rotations are rows in
// export_jobs, each advanced one bounded step per alarm (so a large tenant is never exported in
// one request); the alarm runs the oldest open job and re-arms itself while work remains.
import { and, desc, eq, inArray } from "drizzle-orm";
import { appendAudit } from "../audit/audit-chain";
import type { ImportSource, JobKind, JobSpec, JobView } from "../contract/jobs";
import { legalHoldFailure } from "../contract/legal-hold";
import { fail, ok, type Result } from "../contract/result";
import { exportJobs } from "../db/schema";
import type { Store } from "../db/store";
import { pruneBackups } from "./backups";
import { DEFAULT_CHUNK_ROWS, type ExportState, exportStep, jobView, newExportState } from "./export-job";
import { discardSnapshot } from "./export-snapshot";
import { type ImportState, importStep, isEmptyTenant, newImportState } from "./import-job";
import type { JobState } from "./job-state";
import { newRekeyState, type RekeyState, rekeyObjectsStep, rekeyStep } from "./rekey-job";
import { discardStaged, newRestoreState, type RestoreState, restoreOpen, restoreStep } from "./restore-job";

// The tenant object reaches recovery through this module: the backup list, point-in-time recovery.
export { listBackups } from "./backups";
export { restoreToTime } from "./restore-point";

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

/**
 * An export, or a backup: the daily one named by its date (a re-run answers the existing one), one
 * taken on demand by its time (ids sort as the backups were taken). Backups always copy the files' bytes: a restore writes them back.
 */
async function startExport(
  store: Store,
  kind: "export" | "backup",
  copyFiles: boolean,
  onDemand: boolean,
  chunkRows: number,
): Promise<Result<JobView>> {
  if (openJob(store, "restore")) return fail("conflict", "A restore is running.");
  const now = new Date().toISOString();
  const id =
    kind === "export"
      ? `exp-${now.replace(/[-:.TZ]/g, "").slice(0, 14)}-${crypto.randomUUID().slice(0, 8)}`
      : onDemand
        ? now.slice(0, 23).replace(/:/g, "")
        : now.slice(0, 10);
  const existing = store.db.select().from(exportJobs).where(eq(exportJobs.id, id)).get();
  if (existing) return ok(jobView(existing));
  const location = kind === "backup" ? "backups" : "exports";
  // The bundle's instant: the rows are read here, and the job recorded with no await between.
  const snapshot = { jobId: id, chunkRows };
  const state = store.storage.transactionSync(() => newExportState(store, kind === "backup" || copyFiles, snapshot));
  return enqueue(store, { id, kind, location, state }, true);
}

/** Restores the tenant to one of its completed backups (refused under legal hold: it destroys later data). */
async function startRestore(store: Store, backupId: string): Promise<Result<JobView>> {
  const held = legalHoldFailure(store.config, "Restoring a backup");
  if (held) return held;
  const backup = store.db.select().from(exportJobs).where(eq(exportJobs.id, backupId)).get();
  if (backup?.kind !== "backup") return fail("not_found", `No backup '${backupId}'.`);
  if (backup.status !== "completed") return fail("conflict", `Backup '${backupId}' is ${backup.status}.`);
  const busy = store.sql.exec("SELECT 1 FROM export_jobs WHERE status IN ('pending', 'running')").toArray().length;
  if (busy) return fail("conflict", "Another job (export, backup, import, key rotation or restore) is running.");
  const id = `rst-${crypto.randomUUID().slice(0, 12)}`;
  const state = newRestoreState(backupId);
  const job = await enqueue(store, { id, kind: "restore", location: `backups/${backupId}`, state }, true);
  store.restoring = true; // from now on the data plane answers 503
  return job;
}

/** Starts the job a spec names. */
export function startJob(store: Store, spec: JobSpec, env?: { EXPORT_CHUNK_ROWS?: string }): Promise<Result<JobView>> {
  const chunkRows = Number(env?.EXPORT_CHUNK_ROWS) || DEFAULT_CHUNK_ROWS;
  switch (spec.kind) {
    case "export":
      return startExport(store, "export", spec.copyFiles, false, chunkRows);
    case "backup":
      return startExport(store, "backup", true, spec.onDemand ?? false, chunkRows);
    case "import":
      return startImport(store, spec.source);
    case "restore":
      return startRestore(store, spec.backupId);
  }
}

/** Re-encrypts every encrypted value under the current data key; one rotation at a time. */
export async function startRekey(store: Store): Promise<Result<JobView>> {
  const open = openJob(store, "rekey");
  if (open) return ok(jobView(open));
  const id = `key-${crypto.randomUUID().slice(0, 12)}`;
  return enqueue(store, { id, kind: "rekey", location: "tenant", state: newRekeyState(store) }, true);
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
async function startImport(store: Store, source: ImportSource): Promise<Result<JobView>> {
  if (!isEmptyTenant(store)) return fail("conflict", "Imports go into an empty tenant only.");
  if (openJob(store, "import")) return fail("conflict", "An import is already running.");
  const id = `imp-${crypto.randomUUID().slice(0, 12)}`;
  const location = `${source.tenant}/${source.area}/${source.id}`;
  return enqueue(store, { id, kind: "import", location, state: newImportState(source) }, true);
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
  const save = (state: JobState) =>
    store.db
      .update(exportJobs)
      .set({ status: "running", state, updatedAt: now() })
      .where(eq(exportJobs.id, job.id))
      .run();
  try {
    // The row's kind says which state it holds.
    const step =
      job.kind === "rekey"
        ? typeof (job.state as RekeyState).objects === "object"
          ? await rekeyObjectsStep(store, env.FILES, job.state as RekeyState, chunkRows)
          : store.storage.transactionSync(() => rekeyStep(store, job.state as RekeyState, chunkRows * 4))
        : job.kind === "import"
          ? await importStep(store, env.FILES, env, job.state as ImportState, IMPORT_PARTS_PER_STEP, save)
          : job.kind === "restore"
            ? await restoreStep(store, env.FILES, job.id, job.state as RestoreState, IMPORT_PARTS_PER_STEP, save)
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
    if (step.finished && job.kind === "backup") await pruneBackups(store, env.FILES);
  } catch (err) {
    if (job.kind === "restore") discardStaged(store, job.id);
    if (job.kind === "export" || job.kind === "backup") discardSnapshot(store, job.id);
    const at = now();
    const error = String(err instanceof Error ? err.message : err);
    // The failure is the job's last word in the audit chain, with its status, in one transaction.
    store.storage.transactionSync(() => {
      store.db
        .update(exportJobs)
        .set({ status: "failed", error, updatedAt: at, finishedAt: at })
        .where(eq(exportJobs.id, job.id))
        .run();
      appendAudit(store.db, {
        actor: "system:jobs",
        action: `${job.kind}.failed`,
        resource: `${job.kind}:${job.id}`,
        success: false,
        details: { error: error.slice(0, 500) },
      });
    });
  }
  if (job.kind === "restore") store.restoring = restoreOpen(store.sql);
  return true;
}
