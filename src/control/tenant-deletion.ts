// Hard deletion of a cancelled tenant after its grace period: the object's storage wiped (and
// its alarm), every R2 object under its prefix deleted in pages, the wrapped data key destroyed
// (crypto-shredding), and the registry row kept as a tombstone so the id is never reissued.
// Each step is idempotent; the tombstone is written last, so an interrupted deletion resumes.
import { eq } from "drizzle-orm";
import { purgeTenantObjects } from "../../durable-objects/storage/tenant-storage";
import { tenantStub } from "../tenant-client";
import { adminAuditInsert, controlDb } from "./control-db";
import { forgetExternalId } from "./external-ids";
import { type TenantRow, tenants } from "./schema";

/** R2 pages (of up to 1,000 objects) one sweep call may delete before yielding. */
const MAX_PAGES_PER_CALL = 5;

export async function hardDeleteTenant(env: Env, tenant: TenantRow): Promise<{ complete: boolean; objects: number }> {
  await tenantStub(env, tenant.id).wipe();
  const purge = await purgeTenantObjects(env.FILES, tenant.id, MAX_PAGES_PER_CALL);
  if (!purge.complete) return { complete: false, objects: purge.deleted };
  const db = controlDb(env);
  const now = new Date().toISOString();
  await db.batch([
    db
      .update(tenants)
      .set({
        status: "deleted",
        wrappedKey: null,
        retiredKeys: [],
        settings: {},
        deletedAt: now,
        updatedAt: now,
        revision: tenant.revision + 1,
      })
      .where(eq(tenants.id, tenant.id)),
    adminAuditInsert(db, { sub: "system:retention", requestId: "sweep" }, "tenant.hard_delete", tenant.id, {
      objects: purge.deleted,
      cancelledAt: tenant.cancelledAt,
    }),
  ]);
  // The tombstone keeps the external id (never reissued); the registry lookup skips deleted
  // tenants, and this isolate stops resolving it now (others within their cache time).
  if (tenant.externalId) forgetExternalId(tenant.externalId);
  return { complete: true, objects: purge.deleted };
}
