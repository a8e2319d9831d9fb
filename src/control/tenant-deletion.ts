// Hard deletion of a cancelled tenant after its grace period: the object's storage wiped (and
// its alarm), every R2 object under its prefix deleted in pages, the wrapped data key destroyed
// (crypto-shredding), and the registry row kept as a tombstone so the id is never reissued.
// First of all the audit chain is archived outside the tenant's prefix (it outlives the data).
// Each step is idempotent; the tombstone is written last, so an interrupted deletion resumes.
import { eq } from "drizzle-orm";
import { legalHoldFailure } from "../../durable-objects/contract/legal-hold";
import { auditArchive } from "../../durable-objects/storage/audit-archive";
import { purgeTenantObjects } from "../../durable-objects/storage/tenant-storage";
import { ApiError } from "../errors";
import { tenantStub } from "../tenant-client";
import { adminAuditInsert, controlDb } from "./control-db";
import { forgetExternalId } from "./external-ids";
import { type TenantRow, tenants } from "./schema";

/** R2 pages (of up to 1,000 objects) one sweep call may delete before yielding. */
const MAX_PAGES_PER_CALL = 5;

const DEFAULT_GRACE_DAYS = 30;
const DAY = 86_400_000;

/** Days a cancelled tenant is kept (TENANT_GRACE_DAYS; 0 means "delete at the next sweep"). */
export function graceDays(env: Env): number {
  const raw = String(env.TENANT_GRACE_DAYS ?? "").trim();
  const days = raw === "" ? Number.NaN : Number(raw);
  return Number.isFinite(days) && days >= 0 ? days : DEFAULT_GRACE_DAYS;
}

/** Whether a cancelled tenant's grace period has run out at `now` (ms). */
export function graceOver(env: Env, tenant: Pick<TenantRow, "cancelledAt">, now: number): boolean {
  return tenant.cancelledAt !== null && now - Date.parse(tenant.cancelledAt) >= graceDays(env) * DAY;
}

/**
 * Whether the tenant's audit chain is in the archive (the object writes it, a bounded number of
 * parts per call). An object already wiped by an interrupted deletion has nothing left to add.
 */
async function archiveAudit(env: Env, tenantId: string): Promise<boolean> {
  const answer = await tenantStub(env, tenantId).archiveAudit();
  if (answer.ok) return answer.value.complete;
  if (answer.code === "not_found") return (await auditArchive(env.FILES, tenantId).manifest())?.complete ?? true;
  throw ApiError.from(answer);
}

export async function hardDeleteTenant(env: Env, tenant: TenantRow): Promise<{ complete: boolean; objects: number }> {
  const held = legalHoldFailure(tenant, "Deleting the tenant");
  if (held) throw ApiError.from(held);
  if (!(await archiveAudit(env, tenant.id))) return { complete: false, objects: 0 };
  // The object refuses too if it holds a hold the registry row has not caught up with, and
  // answers conflict while events it gained since the archive above are still being archived.
  const wiped = await tenantStub(env, tenant.id).wipe();
  if (!wiped.ok && wiped.code === "conflict") return { complete: false, objects: 0 };
  if (!wiped.ok) throw ApiError.from(wiped);
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
