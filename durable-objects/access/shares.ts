// Shares of a record in a collection with ACLs: a user or a role gets read or write. Only the
// record's owner or an admin shares and unshares; a record the caller cannot see is 404. A share
// always takes effect or is refused: a private record becomes shared in the same transaction, and
// a grantee who would still not reach the record (not a member, no such role, missing the
// permission or the clearance) is refused, so a 201 means the grantee can now do what it says.

import { appendAudit } from "../audit/audit-chain";
import type { CollectionDef } from "../collections/collection-schema";
import { loadDefinition } from "../collections/collections";
import type { Permission, ShareView } from "../contract/access";
import { CLASSIFICATIONS, ShareSchema } from "../contract/access";
import type { ApiRecord } from "../contract/records";
import { type Failure, fail, ok, type Result } from "../contract/result";
import { inTransaction, isFailure, type Store } from "../db/store";
import { rowToRecord } from "../records/record-codec";
import { readRow, updateRow } from "../records/record-writes";
import type { Principal } from "./authorize";
import { canSee, seesAll } from "./record-access";
import { clearanceLevel, roleGrant, rolesGrant } from "./role-definitions";

type Guard = Result<{ owner: boolean; def: CollectionDef; rec: ApiRecord }>;

/** The record as the caller sees it: 404 unseen, 400 without ACLs; `owner` says who may share. */
function guard(store: Store, p: Principal, collection: string, id: string): Guard {
  const def = loadDefinition(store, collection);
  if (!def) return fail("not_found", `Collection '${collection}' not found.`);
  if (!def.acl) return fail("validation_failed", `Collection '${collection}' has no ACLs; create it with "acl": true.`);
  const row = readRow(store, collection, id);
  if (!row || row.deleted_at !== null) return fail("not_found", `Record '${id}' not found.`);
  const rec = rowToRecord(def, row);
  if (!canSee(store, p, def, rec)) return fail("not_found", `Record '${id}' not found.`);
  return ok({ owner: seesAll(p) || rec.owner === p.sub, def, rec });
}

export function listShares(store: Store, p: Principal, collection: string, id: string): Result<ShareView[]> {
  const g = guard(store, p, collection, id);
  if (!g.ok) return g;
  return ok(
    store.sql
      .exec<{ id: string; principal: string; permission: "read" | "write"; created_by: string; created_at: string }>(
        "SELECT id, principal, permission, created_by, created_at FROM shares WHERE collection = ? AND record_id = ? ORDER BY created_at, id",
        collection,
        id,
      )
      .toArray()
      .map((r) => ({
        id: r.id,
        principal: r.principal,
        permission: r.permission,
        createdBy: r.created_by,
        createdAt: r.created_at,
      })),
  );
}

export function addShare(store: Store, p: Principal, collection: string, id: string, body: unknown): Result<ShareView> {
  const g = guard(store, p, collection, id);
  if (!g.ok) return g;
  if (!g.value.owner) return fail("forbidden", "Only the record's owner or an admin shares it.");
  const parsed = ShareSchema.safeParse(body);
  if (!parsed.success) {
    return fail(
      "validation_failed",
      'A share is {"principal":"user:<sub>"|"role:<name>","permission":"read"|"write"}.',
    );
  }
  const refused = granteeProblem(store, g.value.rec, parsed.data);
  if (refused) return refused;
  const share: ShareView = {
    id: crypto.randomUUID(),
    ...parsed.data,
    createdBy: p.sub,
    createdAt: new Date().toISOString(),
  };
  const opened = g.value.rec.visibility === "private";
  const result = inTransaction(store, () => {
    // Shares reach only shared (or public) records: sharing a private one opens it to its shares,
    // as a new version of the record (audited like any update).
    if (opened) updateRow(store, p, g.value.def, id, { visibility: "shared" }, "patch", null, () => true);
    store.sql.exec(
      "DELETE FROM shares WHERE collection = ? AND record_id = ? AND principal = ?",
      collection,
      id,
      share.principal,
    );
    store.sql.exec(
      "INSERT INTO shares (id, collection, record_id, principal, permission, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      share.id,
      collection,
      id,
      share.principal,
      share.permission,
      share.createdBy,
      share.createdAt,
    );
    appendAudit(store.db, {
      actor: p.actor,
      action: "share.add",
      resource: `record:${collection}/${id}`,
      success: true,
      details: {
        principal: share.principal,
        permission: share.permission,
        ...(opened ? { visibility: "shared" } : {}),
      },
    });
    return share;
  });
  return isFailure(result) ? result : ok(result);
}

/**
 * Why the grantee would still not reach the record, or null: 400 for a user who is not a member
 * or a role that does not exist; 409 when its roles lack the permission the share is for or the
 * clearance of the record's classification.
 */
function granteeProblem(
  store: Store,
  rec: ApiRecord,
  share: { principal: string; permission: "read" | "write" },
): Failure | null {
  const name = share.principal.slice(5);
  let grant: { permissions: Set<Permission>; level: number };
  if (share.principal.startsWith("user:")) {
    const member = store.sql.exec<{ roles: string }>("SELECT roles FROM members WHERE sub = ?", name).toArray()[0];
    if (!member) return fail("validation_failed", `'${name}' is not a member of this tenant.`, { field: "principal" });
    grant = rolesGrant(store.sql, JSON.parse(member.roles));
  } else {
    const role = roleGrant(store.sql, name);
    if (!role) return fail("validation_failed", `Unknown role '${name}'.`, { field: "principal" });
    grant = { permissions: role.permissions, level: clearanceLevel(role.clearance) };
  }
  const needed: Permission[] = share.permission === "write" ? ["records:read", "records:write"] : ["records:read"];
  const lacking = needed.filter((x) => !grant.permissions.has(x));
  if (lacking.length) {
    return fail("conflict", `${share.principal} lacks ${lacking.join(", ")}: the share would grant nothing.`, {
      field: "principal",
    });
  }
  const level = CLASSIFICATIONS.indexOf(rec.classification as (typeof CLASSIFICATIONS)[number]);
  if (!grant.permissions.has("collections:manage") && level > grant.level) {
    return fail(
      "conflict",
      `${share.principal} is not cleared for '${rec.classification}' records: the share would grant nothing.`,
      { field: "principal" },
    );
  }
  return null;
}

export function removeShare(
  store: Store,
  p: Principal,
  collection: string,
  id: string,
  shareId: string,
): Result<{ deleted: true }> {
  const g = guard(store, p, collection, id);
  if (!g.ok) return g;
  if (!g.value.owner) return fail("forbidden", "Only the record's owner or an admin unshares it.");
  const found = store.sql
    .exec<{ n: number }>(
      "SELECT count(*) AS n FROM shares WHERE id = ? AND collection = ? AND record_id = ?",
      shareId,
      collection,
      id,
    )
    .one().n;
  if (!found) return fail("not_found", `No share '${shareId}'.`);
  store.storage.transactionSync(() => {
    store.sql.exec("DELETE FROM shares WHERE id = ?", shareId);
    appendAudit(store.db, {
      actor: p.actor,
      action: "share.remove",
      resource: `record:${collection}/${id}`,
      success: true,
      details: { share: shareId },
    });
  });
  return ok({ deleted: true });
}
