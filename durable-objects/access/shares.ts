// Shares of a record in a collection with ACLs: a user or a role gets read or write. Only the
// record's owner or an admin shares and unshares; a record the caller cannot see is 404.
import { z } from "zod";
import { appendAudit } from "../audit/audit-chain";
import { loadDefinition } from "../collections/collections";
import { fail, ok, type Result } from "../contract/rpc-contract";
import type { Store } from "../db/store";
import { rowToRecord } from "../records/record-codec";
import { readRow } from "../records/record-writes";
import type { Principal } from "./authorize";
import { canSee, seesAll } from "./record-access";

export const ShareSchema = z.strictObject({
  principal: z.string().regex(/^(user:\P{Cc}{1,255}|role:[a-z][a-z0-9_-]{0,39})$/u),
  permission: z.enum(["read", "write"]),
});

export interface ShareView {
  id: string;
  principal: string;
  permission: "read" | "write";
  createdBy: string;
  createdAt: string;
}

type Guard = Result<{ owner: boolean }>;

/** The record as the caller sees it: 404 unseen, 400 without ACLs; `owner` says who may share. */
function guard(store: Store, p: Principal, collection: string, id: string): Guard {
  const def = loadDefinition(store, collection);
  if (!def) return fail("not_found", `Collection '${collection}' not found.`);
  if (!def.acl) return fail("validation_failed", `Collection '${collection}' has no ACLs; create it with "acl": true.`);
  const row = readRow(store, collection, id);
  if (!row || row.deleted_at !== null) return fail("not_found", `Record '${id}' not found.`);
  const rec = rowToRecord(def, row);
  if (!canSee(store, p, def, rec)) return fail("not_found", `Record '${id}' not found.`);
  return ok({ owner: seesAll(p) || rec.owner === p.sub });
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
  const share: ShareView = {
    id: crypto.randomUUID(),
    ...parsed.data,
    createdBy: p.sub,
    createdAt: new Date().toISOString(),
  };
  store.storage.transactionSync(() => {
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
      details: { principal: share.principal, permission: share.permission },
    });
  });
  return ok(share);
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
