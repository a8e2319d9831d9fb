// The tenant's backups: the list (newest first, a page at a time), and pruning to the plan's
// number, which legal hold stops and which never takes a backup an open restore is reading.

import { and, desc, eq, inArray, lt } from "drizzle-orm";
import { appendAudit } from "../audit/audit-chain";
import type { BackupView } from "../contract/jobs";
import { legalHoldFailure } from "../contract/legal-hold";
import { exportJobs } from "../db/schema";
import type { Store } from "../db/store";
import { tenantStorage } from "../storage/tenant-storage";
import type { ExportState } from "./export-job";
import type { RestoreState } from "./restore-job";

type JobRow = typeof exportJobs.$inferSelect;

function backupView(job: JobRow): BackupView {
  const state = job.state as ExportState;
  const counts = state.counts ?? {};
  const records = Object.entries(counts)
    .filter(([k]) => k.startsWith("records:"))
    .reduce((n, [, v]) => n + v, 0);
  return {
    id: job.id,
    at: state.createdAt ?? job.createdAt,
    status: job.status,
    records,
    files: counts.files ?? 0,
    bytes: (state.parts ?? []).reduce((n, p) => n + p.bytes, 0),
  };
}

/** Backups newer first; `before` is the last id of the previous page. */
export function listBackups(store: Store, before: string | null, limit: number) {
  const rows = store.db
    .select()
    .from(exportJobs)
    .where(and(eq(exportJobs.kind, "backup"), before ? lt(exportJobs.id, before) : undefined))
    .orderBy(desc(exportJobs.id))
    .limit(limit + 1)
    .all();
  const page = rows.slice(0, limit);
  return { items: page.map(backupView), next: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
}

/** Backups an open restore is reading: pruning leaves them alone. */
function inUse(store: Store): Set<string> {
  const open = store.db
    .select({ state: exportJobs.state })
    .from(exportJobs)
    .where(and(eq(exportJobs.kind, "restore"), inArray(exportJobs.status, ["pending", "running"])))
    .all();
  return new Set(open.map((r) => (r.state as RestoreState).backupId));
}

/**
 * Keeps the plan's number of backups (all of them under legal hold); older bundles go from R2.
 * Each backup's row goes first, with its audit event, so a listed backup always has its bundle
 * (a crash before the bundle's delete leaves an unlisted bundle, emptied with the tenant).
 */
export async function pruneBackups(store: Store, bucket: R2Bucket): Promise<number> {
  if (legalHoldFailure(store.config, "Pruning backups")) return 0;
  const backups = store.db
    .select()
    .from(exportJobs)
    .where(and(eq(exportJobs.kind, "backup"), eq(exportJobs.status, "completed")))
    .orderBy(desc(exportJobs.id))
    .all();
  const archive = tenantStorage(bucket, store.config.id);
  const keep = inUse(store);
  let pruned = 0;
  for (const old of backups.slice(store.config.limits.maxBackups)) {
    if (keep.has(old.id)) continue;
    store.storage.transactionSync(() => {
      store.db.delete(exportJobs).where(eq(exportJobs.id, old.id)).run();
      appendAudit(store.db, {
        actor: "system:backups",
        action: "backup.pruned",
        resource: `backup:${old.id}`,
        success: true,
        details: { keep: store.config.limits.maxBackups },
      });
    });
    await archive.deleteBundle({ area: "backups", id: old.id });
    pruned++;
  }
  return pruned;
}
