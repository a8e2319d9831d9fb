// A member of a tenant holding org:manage enters a descendant tenant's data plane the way platform
// admins enter any tenant: X-Silo-Tenant names it, X-Silo-Reason says why. Recorded in the
// managing tenant's chain (here) and the descendant's (its object, on admission). Anything outside
// the subtree, and any tenant for a caller without org:manage, answers 404 as it always did.
import type { Context } from "hono";
import type { Caller } from "../durable-objects/contract/caller";
import type { Failure } from "../durable-objects/contract/result";
import { isTenantId } from "../durable-objects/contract/tenant-id";
import type { AppEnv } from "./context";
import { isDescendant } from "./control/org-tree";
import { ApiError, invalid, notFound } from "./errors";
import { resolveJurisdiction } from "./jurisdiction";
import { tenantStub } from "./tenant-stub";

export const MAX_REASON_LENGTH = 500;

/** A refusal by the managing tenant: lacking org:manage looks like no such tenant. */
const refusal = (f: Failure) => (f.code === "forbidden" ? notFound() : new ApiError(f.code, f.detail, f.extras));

export async function orgCall(
  c: Context<AppEnv>,
  own: string,
  caller: Caller,
  target: string,
): Promise<{ tenantId: string; caller: Caller }> {
  if (!isTenantId(target) || !(await isDescendant(c.env, own, target))) throw notFound();
  await resolveJurisdiction(c.env, own);
  const managing = tenantStub(c.env, own);
  const reason = c.req.header("x-silo-reason")?.trim();
  if (!reason || reason.length > MAX_REASON_LENGTH) {
    // Only an org:manage holder learns that the reason is what is missing.
    const held = await managing.check(caller, "org:manage");
    if (!held.ok) throw refusal(held);
    throw invalid(
      reason
        ? `X-Silo-Reason is limited to ${MAX_REASON_LENGTH} characters.`
        : "State why you act inside a descendant tenant with the X-Silo-Reason header.",
    );
  }
  const recorded = await managing.orgAction(caller, "org.data_access", target, {
    reason,
    method: c.req.method,
    path: c.req.path,
  });
  if (!recorded.ok) throw refusal(recorded);
  await resolveJurisdiction(c.env, target);
  return {
    tenantId: target,
    caller: { kind: "org", org: own, sub: caller.sub, tokenRoles: null, reason, requestId: caller.requestId },
  };
}
