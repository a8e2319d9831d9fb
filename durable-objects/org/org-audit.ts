// The managing tenant's record of what its org:manage holders do to descendant tenants: creating,
// suspending and resuming them, and entering one's data plane with a reason. The descendant's own
// chain records the entry too (access/authorize.ts), so both trails have it.
import type { Principal } from "../access/authorize";
import { appendAudit } from "../audit/audit-chain";
import type { OrgAction } from "../contract/access";
import { type Json, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";

export function recordOrgAction(
  store: Store,
  p: Principal,
  action: OrgAction,
  target: string,
  details: { [key: string]: Json },
  requestId: string,
): Result<{ recorded: true }> {
  store.storage.transactionSync(() =>
    appendAudit(store.db, {
      actor: p.actor,
      action,
      resource: `tenant:${target}`,
      success: true,
      details: { ...details, requestId },
    }),
  );
  return ok({ recorded: true });
}
