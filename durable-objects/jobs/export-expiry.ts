// Exports written before an erasure still hold the erased subject's data: the erasure marks them
// `expired` (a running one stops: the job runner only advances pending and running jobs) and
// then deletes their bundles from R2. The job row stays, so GET of the export shows `expired`
// and its parts are no longer served. Backups are not touched here (recovery owns them).
import { and, eq, lte } from "drizzle-orm";
import { exportJobs } from "../db/schema";
import type { Store } from "../db/store";
import { tenantStorage } from "../storage/tenant-storage";
import { discardSnapshot } from "./export-snapshot";

/** Marks every export started at or before `at` expired; call inside the erasure's transaction. */
export function expireExports(store: Store, at: string): string[] {
  const rows = store.db
    .select({ id: exportJobs.id, status: exportJobs.status })
    .from(exportJobs)
    .where(and(eq(exportJobs.kind, "export"), lte(exportJobs.createdAt, at)))
    .all()
    .filter((r) => r.status !== "expired");
  for (const { id } of rows) {
    store.db
      .update(exportJobs)
      .set({ status: "expired", updatedAt: at, finishedAt: at, error: "Expired by a data subject erasure." })
      .where(eq(exportJobs.id, id))
      .run();
    discardSnapshot(store, id); // a running export's rows, read before the erasure
  }
  return rows.map((r) => r.id);
}

/** Deletes the bundles of expired exports (idempotent: an empty prefix is nothing to do). */
export async function deleteExpiredBundles(store: Store, bucket: R2Bucket, ids: string[]): Promise<void> {
  const storage = tenantStorage(bucket, store.config.id);
  for (const id of ids) await storage.deleteBundle({ area: "exports", id });
}
