// Reference data: a collection created with "shared": true is read (never written) by the members
// of descendant tenants. They are no members here, so they read as a reference reader: a principal
// holding records:read only (pii stays masked), clearing `public` and `internal`, owning no record
// and named by no share. In a collection with ACLs it sees the public records of those classes.
import type { Principal } from "../access/authorize";
import { statusFailure } from "../access/authorize";
import { loadDefinition } from "../collections/collections";
import type { ReferenceReader } from "../contract/caller";
import type { ReferenceAnswer } from "../contract/records";
import { fail, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";

/** A sub no member and no share can hold: control characters are refused in every sub. */
export const REFERENCE_SUB = "\u0000reference";

export function referencePrincipal(reader: ReferenceReader): Principal {
  return {
    kind: "reference",
    sub: REFERENCE_SUB,
    actor: `ref:${reader.tenant}:${reader.actor}`,
    roles: [],
    permissions: new Set(["records:read"]),
    owner: false,
    reference: true,
  };
}

/**
 * Runs a read of `name` as a reference reader when it is a shared collection of a serving tenant.
 * A private collection and a missing one answer alike, so nothing tells them apart.
 */
export function readReference<T>(
  store: Store | null,
  reader: ReferenceReader,
  name: string,
  work: (store: Store, p: Principal) => Result<T>,
): Result<ReferenceAnswer<T>> {
  if (!store || statusFailure(store.config)) return ok({ shared: false });
  if (store.restoring) return fail("service_unavailable", "The reference data is being restored; retry shortly.");
  if (!loadDefinition(store, name)?.shared) return ok({ shared: false });
  const read = work(store, referencePrincipal(reader));
  return read.ok ? ok({ shared: true, value: read.value }) : read;
}
