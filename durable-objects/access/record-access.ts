// Who may see which record in a collection with ACLs. Admins (collections:manage) see all; others
// see their own records, public ones and shared ones granted to them or their roles, up to the
// classification clearance of their roles. A record the caller may not see answers 404.
// readableRecord is the one rule for reading a record: reads, history and the change feed call it.

import type { CollectionDef } from "../collections/collection-schema";
import { CLASSIFICATIONS } from "../contract/access";
import type { ApiRecord } from "../contract/records";
import type { Store } from "../db/store";
import { present, type ViewOptions } from "../records/record-codec";
import { exec } from "../sql/identifiers";
import { shareCount } from "../sql/select";
import type { Principal } from "./authorize";
import { clearanceLevelOf, shareRolesOf } from "./role-definitions";

/** What a reference reader (org/reference.ts) clears, whatever the tenant's roles say. */
const REFERENCE_CLEARANCE = ["public", "internal"];

export const seesAll = (p: Principal) => p.permissions.has("collections:manage");

/** Classifications the caller's roles clear (custom roles carry their own clearance). */
export function allowedClassifications(store: Store, p: Principal): string[] {
  if (p.reference) return REFERENCE_CLEARANCE;
  return CLASSIFICATIONS.slice(0, clearanceLevelOf(store.sql, p) + 1);
}

/** Whom a share must name to reach `p`; a reference reader is named by none. */
export const granteesOf = (p: Principal) =>
  p.reference ? [] : [`user:${p.sub}`, ...shareRolesOf(p).map((r) => `role:${r}`)];

export function canSee(store: Store, p: Principal, def: CollectionDef, rec: ApiRecord): boolean {
  if (!def.acl || seesAll(p) || rec.owner === p.sub) return true;
  if (!allowedClassifications(store, p).includes(rec.classification as string)) return false;
  if (rec.visibility === "public") return true;
  if (rec.visibility !== "shared") return false;
  return exec<{ n: number }>(store.sql, shareCount(def.name, rec.id as string, granteesOf(p), false)).one().n > 0;
}

/** Whether the caller may write this record (owner, admin, or a write share). */
export function canWrite(store: Store, p: Principal, def: CollectionDef, rec: ApiRecord): boolean {
  if (!def.acl || seesAll(p) || rec.owner === p.sub) return true;
  if (!canSee(store, p, def, rec)) return false;
  return exec<{ n: number }>(store.sql, shareCount(def.name, rec.id as string, granteesOf(p), true)).one().n > 0;
}

/** How `p` sees record values: pii masked without pii:read, encrypted fields decrypted. */
export function viewFor(store: Store, p: Principal, fields?: string[] | null): ViewOptions {
  return { maskPii: !p.permissions.has("pii:read"), fields, decrypt: (v: unknown) => store.cipher().decrypt(v) };
}

/**
 * `shown` as `p` may read it, or null when `p` may not see the record. Whether it may is judged
 * on `current` (the record as it stands now, as a read judges it); `shown` is what is returned,
 * masked exactly as in reads (a version snapshot, a change event's record, or `current` itself).
 */
export function readableRecord(
  store: Store,
  p: Principal,
  def: CollectionDef,
  current: ApiRecord,
  shown: ApiRecord = current,
  fields?: string[] | null,
): ApiRecord | null {
  return canSee(store, p, def, current) ? present(def, shown, viewFor(store, p, fields)) : null;
}
