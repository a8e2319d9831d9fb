// Tenant management: provisioning, listing, updates and status transitions. D1 is the registry;
// every change is pushed to the tenant's object at once so the request path never reads D1.
import { and, asc, eq, gt, isNotNull, isNull, like, ne, or, type SQL, sql } from "drizzle-orm";
import type { Limits, Settings } from "../../durable-objects/contract/config";
import { LATEST_SCHEMA } from "../../durable-objects/contract/fleet";
import type { Result } from "../../durable-objects/contract/result";
import { generateTenantId } from "../../durable-objects/contract/tenant-id";
import { wrapNewDataKey } from "../../durable-objects/contract/wrapped-key";
import { ApiError, notFound } from "../errors";
import { rememberJurisdiction } from "../jurisdiction";
import { tenantStub } from "../tenant-client";
import { type AdminActor, actorName, adminAuditInsert, type ControlDb, controlDb } from "./control-db";
import { forgetExternalId } from "./external-ids";
import { checkParent, noCycle } from "./org-tree";
import { requirePlan } from "./plans";
import { type RegistryStatus, type TenantRow, tenants } from "./schema";
import { isoOrNull, type SubscriptionPatch, subscriptionChanges, trialEnd } from "./subscriptions";
import { tenantConfig } from "./tenant-config";
import { graceDays, graceOver } from "./tenant-deletion";

export interface CreateTenantInput {
  id?: string;
  name: string;
  tier: string;
  jurisdiction?: string | null;
  /** The identity provider's organisation id whose tokens reach this tenant. */
  externalId?: string;
  /** The tenant this one belongs to (an organisation of at most three levels). */
  parent?: string;
  owner: { sub: string; email?: string | null; displayName?: string | null };
  settings?: Partial<Settings>;
  limits?: Partial<Limits>;
  /** `trial` (or a trialDays) starts the tenant on a trial ending after trialDays (default 14). */
  status?: "active" | "trial";
  trialDays?: number;
  subscription?: SubscriptionPatch;
}

export async function createTenant(env: Env, actor: AdminActor, input: CreateTenantInput): Promise<TenantRow> {
  const db = controlDb(env);
  const id = input.id ?? generateTenantId();
  const plan = await requirePlan(db, input.tier);
  if (input.parent) await checkParent(env, id, input.parent);
  const now = new Date().toISOString();
  const trialEndsAt = trialEnd(input, Date.parse(now));
  // The registry row is the claim on the id: of concurrent creates exactly one inserts it.
  const [row] = await db
    .insert(tenants)
    .values({
      id,
      name: input.name,
      status: "provisioning",
      tier: input.tier,
      jurisdiction: input.jurisdiction ?? null,
      settings: input.settings ?? {},
      limitOverrides: input.limits ?? {},
      legalHold: false,
      wrappedKey: wrapNewDataKey(env),
      ownerSub: input.owner.sub,
      externalId: input.externalId ?? null,
      trialEndsAt,
      subscriptionStart: isoOrNull(input.subscription?.startDate) ?? now,
      subscriptionEnd: isoOrNull(input.subscription?.endDate),
      extraFeatures: input.subscription?.extraFeatures ?? [],
      parent: input.parent ?? null,
      revision: 1,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (row) rememberJurisdiction(row.id, row.jurisdiction);
  if (!row) {
    // Either unique key can refuse the row; say which one.
    const idTaken = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id)).get();
    const reason = idTaken ? "id taken" : "externalId taken";
    await adminAuditInsert(db, actor, "tenant.create", id, { reason }, false);
    throw new ApiError(
      "conflict",
      idTaken
        ? `Tenant id '${id}' is taken (ids are never reissued).`
        : `External id '${input.externalId}' belongs to another tenant (external ids are never reissued).`,
    );
  }
  let provisioned: Result<unknown>;
  try {
    provisioned = await tenantStub(env, id).provision({
      config: tenantConfig(row, plan),
      owner: input.owner,
      actor: actorName(actor),
    });
  } catch (err) {
    // No answer: the object may or may not be provisioned. Removing the row could orphan an
    // object that was, so the row stays and the reconcile sweep finishes the create.
    console.error(JSON.stringify({ msg: "provision failed", tenant: id, error: String(err) }));
    throw new ApiError(
      "service_unavailable",
      `Tenant '${id}' is saved but its database did not answer; the reconcile sweep finishes creating it within a few minutes (GET /v1/tenants/${id} answers once it is active).`,
      {},
      { "Retry-After": String(RECONCILE_RETRY_AFTER_S * 3) },
    );
  }
  if (!provisioned.ok) {
    // All or nothing: a tenant whose object refused to initialise leaves no registry row.
    await db.delete(tenants).where(and(eq(tenants.id, id), eq(tenants.status, "provisioning")));
    throw new ApiError("service_unavailable", provisioned.detail);
  }
  const [updated] = await db.batch([
    db
      .update(tenants)
      .set({ status: "active", configApplied: row.revision, schemaTag: LATEST_SCHEMA })
      .where(eq(tenants.id, id))
      .returning(),
    adminAuditInsert(db, actor, "tenant.create", id, {
      tier: input.tier,
      owner: input.owner.sub,
      externalId: input.externalId ?? null,
      trialEndsAt,
      parent: input.parent ?? null,
    }),
  ]);
  // This isolate may remember the external id as unknown: let it reach the new tenant at once.
  if (input.externalId) forgetExternalId(input.externalId);
  return updated[0] as TenantRow;
}

export interface ListQuery {
  status?: RegistryStatus | "trial";
  tier?: string;
  q?: string;
  /** Only the children of this tenant. */
  parent?: string;
  after?: string;
  limit: number;
}

export async function listTenants(env: Env, query: ListQuery): Promise<TenantRow[]> {
  // A row still provisioning is no tenant yet (the reconcile sweep finishes or rolls it back).
  const where: SQL[] = [ne(tenants.status, "provisioning")];
  if (query.status === "trial") where.push(eq(tenants.status, "active"), isNotNull(tenants.trialEndsAt));
  else if (query.status === "active") where.push(eq(tenants.status, "active"), isNull(tenants.trialEndsAt));
  else if (query.status) where.push(eq(tenants.status, query.status));
  if (query.tier) where.push(eq(tenants.tier, query.tier));
  if (query.parent) where.push(eq(tenants.parent, query.parent));
  if (query.after) where.push(gt(tenants.id, query.after));
  if (query.q) {
    const pattern = `%${query.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    const byName = sql`${tenants.name} LIKE ${pattern} ESCAPE '\\'`;
    const byExternalId = sql`${tenants.externalId} LIKE ${pattern} ESCAPE '\\'`;
    where.push(or(like(tenants.id, pattern), byName, byExternalId) as SQL);
  }
  const rows = await controlDb(env)
    .select()
    .from(tenants)
    .where(and(...where))
    .orderBy(asc(tenants.id))
    .limit(query.limit);
  for (const row of rows) rememberJurisdiction(row.id, row.jurisdiction);
  return rows;
}

export async function getTenant(env: Env, id: string): Promise<TenantRow> {
  const row = await controlDb(env).select().from(tenants).where(eq(tenants.id, id)).get();
  if (!row || row.status === "provisioning") throw notFound(`Tenant '${id}' not found.`);
  rememberJurisdiction(row.id, row.jurisdiction);
  return row;
}

export interface TenantPatch {
  name?: string;
  tier?: string;
  settings?: Partial<Settings>;
  legalHold?: boolean;
  /** Overrides of the plan's limits; null removes an override. */
  limits?: Partial<Record<keyof Limits, number | null>>;
  /** Set once: while the tenant has none; the same value again changes nothing. */
  externalId?: string;
  /** null converts a trial; a time moves its end (a past one ends it at the next reconcile sweep). */
  trialEndsAt?: string | null;
  subscription?: SubscriptionPatch;
  /** Moves the tenant (with its subtree) under another tenant; null makes it a root. */
  parent?: string | null;
}

export async function updateTenant(env: Env, actor: AdminActor, id: string, patch: TenantPatch): Promise<TenantRow> {
  const db = controlDb(env);
  const row = await getTenant(env, id);
  if (row.status === "deleted") throw new ApiError("conflict", `Tenant '${id}' has been deleted.`);
  if (patch.tier) await requirePlan(db, patch.tier);
  const overrides: Partial<Limits> = { ...row.limitOverrides };
  for (const [key, value] of Object.entries(patch.limits ?? {})) {
    if (value === null) delete overrides[key as keyof Limits];
    else overrides[key as keyof Limits] = value;
  }
  const externalId = patch.externalId ?? row.externalId;
  if (row.externalId && externalId !== row.externalId) {
    throw new ApiError("conflict", `Tenant '${id}' already has external id '${row.externalId}'; it is set once.`);
  }
  if (externalId && externalId !== row.externalId) await requireFreeExternalId(db, externalId);
  const parent = patch.parent === undefined ? row.parent : patch.parent;
  if (parent && parent !== row.parent) await checkParent(env, id, parent);
  const changes = {
    parent,
    name: patch.name ?? row.name,
    externalId,
    tier: patch.tier ?? row.tier,
    settings: { ...row.settings, ...patch.settings },
    legalHold: patch.legalHold ?? row.legalHold,
    limitOverrides: overrides,
    ...subscriptionChanges(row, patch),
  };
  const guard = parent && parent !== row.parent ? noCycle(id, parent) : undefined;
  return commit(db, env, actor, row, changes, "tenant.update", { fields: Object.keys(patch) }, guard);
}

async function requireFreeExternalId(db: ControlDb, externalId: string): Promise<void> {
  // Deleted tenants keep theirs (a tombstone), so this also refuses reissuing a retired one. The
  // unique index decides a race; this check gives the usual answer.
  const holder = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.externalId, externalId)).get();
  if (holder) {
    throw new ApiError("conflict", `External id '${externalId}' belongs to another tenant (never reissued).`);
  }
}

type Transition = "suspend" | "resume" | "cancel" | "restore";

const TRANSITIONS: Record<Transition, { from: RegistryStatus[]; to: RegistryStatus }> = {
  suspend: { from: ["active"], to: "suspended" },
  resume: { from: ["suspended"], to: "active" },
  cancel: { from: ["active", "suspended"], to: "cancelled" },
  restore: { from: ["cancelled"], to: "active" },
};

export async function transitionTenant(
  env: Env,
  actor: AdminActor,
  id: string,
  action: Transition,
): Promise<TenantRow> {
  const db = controlDb(env);
  const row = await getTenant(env, id);
  const rule = TRANSITIONS[action];
  // Asked again while the object has not applied it yet: push it again instead of refusing.
  if (row.status === rule.to && row.configApplied < row.revision) return pushConfig(env, db, actor, row);
  if (!rule.from.includes(row.status)) {
    throw new ApiError("conflict", `Cannot ${action} a tenant that is ${row.status}.`, { status: row.status });
  }
  const now = new Date();
  if (action === "resume" && row.trialEndsAt && Date.parse(row.trialEndsAt) <= now.getTime()) {
    throw new ApiError(
      "conflict",
      `The trial of tenant '${id}' ended ${row.trialEndsAt}: convert it (PUT {"trialEndsAt":null}) or move its end first.`,
    );
  }
  if (action === "restore" && graceOver(env, row, now.getTime())) {
    throw new ApiError("conflict", `The ${graceDays(env)}-day grace period for restoring '${id}' has passed.`);
  }
  const cancelledAt = rule.to === "cancelled" ? now.toISOString() : rule.to === "active" ? null : row.cancelledAt;
  return commit(db, env, actor, row, { status: rule.to, cancelledAt }, `tenant.${action}`, { from: row.status });
}

/**
 * Writes a change with its admin audit row in one D1 batch (guarded by the row's revision, so a
 * concurrent change makes this one fail instead of overwriting it), then pushes the new
 * configuration to the tenant's object.
 */
export async function commit(
  db: ControlDb,
  env: Env,
  actor: AdminActor,
  row: TenantRow,
  changes: Partial<TenantRow>,
  action: string,
  details: Record<string, unknown>,
  /** A further condition the row must meet at the moment of the write (organisations: no cycle). */
  guard?: SQL,
): Promise<TenantRow> {
  const [updated] = await db
    .batch([
      db
        .update(tenants)
        .set({ ...changes, revision: row.revision + 1, updatedAt: new Date().toISOString() })
        .where(and(eq(tenants.id, row.id), eq(tenants.revision, row.revision), guard))
        .returning(),
      adminAuditInsert(db, actor, action, row.id, details),
    ])
    .catch((err: unknown) => {
      if (String(err).includes("tenants.external_id")) {
        throw new ApiError(
          "conflict",
          `External id '${changes.externalId}' belongs to another tenant (never reissued).`,
        );
      }
      throw err;
    });
  const next = updated[0];
  // A newly assigned external id may be remembered here as unknown: let it work at once.
  if (next?.externalId && next.externalId !== row.externalId) forgetExternalId(next.externalId);
  if (!next) throw new ApiError("conflict", `Tenant '${row.id}' changed concurrently; retry.`);
  return pushConfig(env, db, actor, next);
}

/** Seconds a caller is told to wait for the reconcile sweep (the per-minute cron) to apply a change. */
export const RECONCILE_RETRY_AFTER_S = 60;

/**
 * Pushes a registry row's configuration to the tenant's object and records the revision the
 * object answers it holds. A push that fails leaves the change saved and pending: the answer
 * says so (503, never "done"), and the reconcile sweep pushes it again within a minute.
 */
export async function pushConfig(env: Env, db: ControlDb, actor: AdminActor, row: TenantRow): Promise<TenantRow> {
  rememberJurisdiction(row.id, row.jurisdiction);
  const plan = await requirePlan(db, row.tier);
  let pushed: Result<{ revision: number }>;
  try {
    pushed = await tenantStub(env, row.id).configure(tenantConfig(row, plan), actorName(actor));
  } catch (err) {
    console.error(JSON.stringify({ msg: "config push failed", tenant: row.id, error: String(err) }));
    pushed = { ok: false, code: "service_unavailable", detail: String(err) };
  }
  if (!pushed.ok) {
    throw new ApiError(
      "service_unavailable",
      `The change is saved (version ${row.revision}) but the tenant's object has not applied it yet; the reconcile sweep applies it within a minute. GET /v1/tenants/${row.id} shows config.applied.`,
      { config: { version: row.revision, applied: row.configApplied } },
      { "Retry-After": String(RECONCILE_RETRY_AFTER_S) },
    );
  }
  const applied = Math.max(row.configApplied, pushed.value.revision);
  if (applied !== row.configApplied) {
    await db
      .update(tenants)
      .set({ configApplied: sql`max(${tenants.configApplied}, ${applied})` })
      .where(eq(tenants.id, row.id));
  }
  return { ...row, configApplied: applied };
}
