// Key rotation for one tenant. "rewrap" (master key rotation): the data keys are re-wrapped
// under the current MASTER_KEY, no data changes. "data" (data key rotation): a new data key
// becomes current, the old one is kept as retired while the tenant's object re-encrypts every
// value a chunk per alarm, and is destroyed (finalized) once that has finished.
import type { JobView } from "../../durable-objects/contract/jobs";
import { legalHoldFailure } from "../../durable-objects/contract/legal-hold";
import { rewrapDataKey, wrapNewDataKey } from "../../durable-objects/contract/wrapped-key";
import { ApiError } from "../errors";
import { platformClient } from "../tenant-client";
import { type AdminActor, controlDb } from "./control-db";
import type { TenantRow } from "./schema";
import { commit } from "./tenant-service";

const save = (env: Env, actor: AdminActor, row: TenantRow, changes: Partial<TenantRow>, action: string, details = {}) =>
  commit(controlDb(env), env, actor, row, changes, action, details);

export async function rewrapKeys(env: Env, actor: AdminActor, row: TenantRow): Promise<TenantRow> {
  if (!row.wrappedKey) throw new ApiError("conflict", `Tenant '${row.id}' has no data key.`);
  const wrappedKey = rewrapDataKey(env, row.wrappedKey);
  const retiredKeys = row.retiredKeys.map((k) => rewrapDataKey(env, k));
  return save(env, actor, row, { wrappedKey, retiredKeys }, "tenant.rotate_key", { mode: "rewrap" });
}

export async function rotateDataKey(
  env: Env,
  actor: AdminActor,
  row: TenantRow,
): Promise<{ row: TenantRow; job: JobView }> {
  if (!row.wrappedKey) throw new ApiError("conflict", `Tenant '${row.id}' has no data key.`);
  if (row.retiredKeys.length > 0) {
    throw new ApiError("conflict", "A data key rotation is still re-encrypting; finish it before starting another.");
  }
  const next = await save(
    env,
    actor,
    row,
    { wrappedKey: wrapNewDataKey(env), retiredKeys: [row.wrappedKey] },
    "tenant.rotate_key",
    { mode: "data" },
  );
  const job = await platformClient(env, row.id).call((s) => s.startRekey());
  return { row: next, job };
}

/**
 * Destroys the retired keys once the tenant reports its re-encryption finished. Returns the job
 * (or null when no rotation ever ran) and whether the rotation is now complete.
 */
export async function finalizeRotation(env: Env, actor: AdminActor, row: TenantRow) {
  const job = await platformClient(env, row.id).call((s) => s.rekeyStatus(), { retry: true });
  if (row.retiredKeys.length > 0 && job?.status === "completed") {
    // Destroying a key makes whatever it sealed unreadable for good: not under legal hold.
    const held = legalHoldFailure(row, "Destroying a retired data key");
    if (held) throw ApiError.from(held);
    await save(env, actor, row, { retiredKeys: [] }, "tenant.rotate_key.finalized", { mode: "data", job: job.id });
    return { job, complete: true };
  }
  return { job, complete: row.retiredKeys.length === 0 };
}
