// Erasure of one data subject's personal data across the tenant: pii fields of the records they
// own or created are blanked in the records and in every version of them (under the fields' old
// names too, and fields since dropped), their membership and shares are removed, and the files
// they uploaded are deleted. The audit event names the subject only by a hash. Deliberately, the
// data vault's history is rewritten here: the right to erasure outranks immutability for
// personal data.

import { createHash } from "node:crypto";
import type { Principal } from "../access/authorize";
import { mayTouchMember } from "../access/grants";
import { forgetPrincipals } from "../access/principal-cache";
import { appendAudit } from "../audit/audit-chain";
import { type CollectionDef, piiNames } from "../collections/collection-schema";
import { legalHoldFailure } from "../contract/legal-hold";
import type { ErasureResult } from "../contract/lifecycle";
import { type Failure, fail, ok, type Result } from "../contract/result";
import { recordVersions } from "../db/schema";
import { Abort, inTransaction, isFailure, type Store } from "../db/store";
import { encodeFields, type Row, rowToRecord } from "../records/record-codec";
import { actorOf, readRow } from "../records/record-writes";
import * as ddl from "../sql/ddl";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import { tenantStorage } from "../storage/tenant-storage";

export const subjectHash = (sub: string) => createHash("sha256").update(`subject:${sub}`).digest("hex");

/** Files the subject uploaded: their objects are deleted before the rows (never a row without object). */
export function uploadsOf(store: Store, sub: string): string[] {
  return store.sql
    .exec<{ path: string }>("SELECT path FROM files WHERE uploaded_by IN (?, ?)", sub, `user:${sub}`)
    .toArray()
    .map((r) => r.path);
}

export function lastOwnerProblem(store: Store, sub: string): boolean {
  const owners = store.sql
    .exec<{ sub: string }>(
      "SELECT sub FROM members WHERE EXISTS (SELECT 1 FROM json_each(members.roles) WHERE value = 'owner')",
    )
    .toArray();
  return owners.length === 1 && owners[0]?.sub === sub;
}

/**
 * Why `p` may not erase `sub`, or null. Erasing a member removes them, so it takes what removing
 * them takes (grants.ts); the last owner is never erased.
 */
export function erasureRefusal(store: Store, p: Principal, sub: string): Failure | null {
  const member = store.sql.exec<{ roles: string }>("SELECT roles FROM members WHERE sub = ?", sub).toArray()[0];
  const refused = member ? mayTouchMember(store, p, sub, JSON.parse(member.roles), "erase") : null;
  if (refused) return refused;
  return lastOwnerProblem(store, sub) ? fail("conflict", "The subject is the tenant's last owner.") : null;
}

export function eraseSubject(store: Store, p: Principal, sub: string, files: string[]): Result<ErasureResult> {
  const result = inTransaction(store, () => {
    if (lastOwnerProblem(store, sub)) throw new Abort(fail("conflict", "The subject is the tenant's last owner."));
    let records = 0;
    const now = new Date().toISOString();
    const defs = store.sql
      .exec<{ definition: string }>("SELECT definition FROM collections")
      .toArray()
      .map((r) => JSON.parse(r.definition) as CollectionDef);
    for (const def of defs) {
      const pii = def.fields.filter((f) => f.pii);
      // Every name a pii value may be stored under: current fields, their old names, dropped fields.
      const paths = piiNames(def).map((n) => `$.${n}`);
      if (paths.length === 0) continue;
      for (const { id } of ids.exec<{ id: string }>(store.sql, sel.subjectRecordIds(def.name, sub)).toArray()) {
        const row = readRow(store, def.name, id) as Row;
        const blank = encodeFields(store, def, Object.fromEntries(pii.map((f) => [f.name, null])));
        const version = (row.version as number) + 1;
        ids.exec(
          store.sql,
          ddl.updateRow(def.name, id, { ...blank, version, updated_at: now, updated_by: actorOf(p) }),
        );
        ids.exec(store.sql, sel.scrubVersions(def.name, id, paths));
        const rec = rowToRecord(def, readRow(store, def.name, id) as Row);
        store.db
          .insert(recordVersions)
          .values({ collection: def.name, recordId: id, version, op: "erase", data: rec, actor: actorOf(p), at: now })
          .run();
        records++;
      }
    }
    const members = store.sql.exec("DELETE FROM members WHERE sub = ?", sub).rowsWritten > 0 ? 1 : 0;
    forgetPrincipals(store.storage);
    const shares = store.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM shares WHERE principal = ?", `user:${sub}`)
      .one().n;
    store.sql.exec("DELETE FROM shares WHERE principal = ?", `user:${sub}`);
    for (const path of files) store.sql.exec("DELETE FROM files WHERE path = ?", path);
    appendAudit(store.db, {
      actor: actorOf(p),
      action: "privacy.erasure",
      resource: "tenant",
      success: true,
      details: { subjectHash: subjectHash(sub), records, members, shares, files: files.length },
    });
    return { records, members, shares, files };
  });
  return isFailure(result) ? result : ok(result);
}

/**
 * The whole erasure of a subject: refused under legal hold or by the grant rule; the subject's
 * files go first (so no file row ever points at a deleted object), then one transaction.
 */
export async function erase(store: Store, bucket: R2Bucket, p: Principal, sub: string): Promise<Result<ErasureResult>> {
  const refused = legalHoldFailure(store.config, "Erasure") ?? erasureRefusal(store, p, sub);
  if (refused) return refused;
  const files = uploadsOf(store, sub);
  const archive = tenantStorage(bucket, store.config.id);
  for (const path of files) await archive.deleteStoredFile(path);
  return eraseSubject(store, p, sub, files);
}
