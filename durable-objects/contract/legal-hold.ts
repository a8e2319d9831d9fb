// Legal hold: while a tenant is held, nothing that destroys or irreversibly changes its data may
// run (drops, hard deletes, file deletes and overwrites, erasure, trims, backup pruning, tenant
// hard delete, key destruction). New writes and soft deletes go on: they are recoverable. Every
// such path asks this one function, on either side of the RPC boundary.
import { type Failure, fail } from "./result";

/** The refusal for `action` when the tenant is under legal hold, or null when it may go ahead. */
export function legalHoldFailure(tenant: { legalHold: boolean }, action: string): Failure | null {
  if (!tenant.legalHold) return null;
  return fail("legal_hold", `${action} is not allowed while this tenant is under legal hold.`);
}
