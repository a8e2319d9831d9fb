// Settings changed by a tenant's own members (PATCH /v1/settings). Settings live in the registry
// row with the rest of the tenant's configuration, so a tenant's change is one more control-plane
// update: the D1 row (revision bumped) with its admin-audit row in one batch, then pushed to the
// tenant's object, which stores it with its audit event in one transaction. Every later push (a
// tier or limits change, the reconcile sweep) carries the row's settings, so none can undo it.
import { actorOf, type Caller } from "../../durable-objects/contract/caller";
import type { Settings } from "../../durable-objects/contract/config";
import type { TenantClient } from "../tenant-client";
import { controlDb } from "./control-db";
import { effectiveSettings } from "./tenant-config";
import { commit, getTenant } from "./tenant-service";

/**
 * autoJoinRole hands a role to anyone who signs in: like any grant, only a role that exists and
 * lies within the caller's own permissions and clearance (DESIGN §4: no one grants what they do
 * not hold). The tenant's object judges it by the rule every grant goes through.
 */
export async function checkJoinRole(t: TenantClient, name: string): Promise<void> {
  await t.call((s, caller) => s.mayAutoJoin(caller, name));
}

/** Applies a validated change for a caller whose settings:manage the tenant's object has confirmed. */
export async function changeTenantSettings(
  env: Env,
  tenantId: string,
  caller: Caller,
  patch: Partial<Settings>,
): Promise<Settings> {
  const row = await getTenant(env, tenantId);
  const actor = { sub: caller.sub, requestId: caller.requestId, name: actorOf(caller) };
  const next = await commit(
    controlDb(env),
    env,
    actor,
    row,
    { settings: { ...row.settings, ...patch } },
    "tenant.settings.update",
    { fields: Object.keys(patch).sort() },
  );
  return effectiveSettings(next.settings);
}
