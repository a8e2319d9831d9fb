// Erasure of one data subject (GDPR art. 17) across the tenant, leaving no trace of them in any
// answer or later export: pii values of every record that held their data (owned, created or
// changed by them, or with a pii value naming them) blanked in the record and every version
// (under old field names and dropped fields too); their id, wherever it appears (owner,
// created_by, updated_by, version actors and snapshots, share and key creators, audit events),
// replaced by a stable pseudonym `erased:<16 hex>` (HMAC under the tenant's data key); their
// membership, shares, uploads and stored idempotent answers removed; exports written before the
// erasure expired. The audit trail is rewritten in place with signed redactions so it still
// verifies (audit-redaction.ts). Deliberately, the data vault's history is rewritten too: the
// right to erasure outranks immutability for personal data.

import type { Principal } from "../access/authorize";
import { mayTouchMember } from "../access/grants";
import { forgetPrincipals } from "../access/principal-cache";
import { appendAudit } from "../audit/audit-chain";
import { appendChange, scrubChanges } from "../changes/change-log";
import { type CollectionDef, piiNames } from "../collections/collection-schema";
import { legalHoldFailure } from "../contract/legal-hold";
import type { ErasureResult } from "../contract/lifecycle";
import { type Failure, fail, ok, type Result } from "../contract/result";
import { blindColumn } from "../crypto/field-cipher";
import { recordVersions } from "../db/schema";
import { Abort, inTransaction, isFailure, type Store } from "../db/store";
import { clearIntent, deleteToken, noteIntent } from "../files/file-intents";
import { deleteExpiredBundles, expireExports } from "../jobs/export-expiry";
import { encodeFields, type Row, rowToRecord } from "../records/record-codec";
import { actorOf, readRow } from "../records/record-writes";
import { indexRecord } from "../records/search";
import * as ddl from "../sql/ddl";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import { tenantStorage } from "../storage/tenant-storage";
import { redactAudit, type SubjectNames } from "./audit-redaction";

/** Files the subject uploaded: their rows go in the erasure's transaction, their objects after it. */
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

/** The subject's id, pseudonym and emails (the member's, read before the row goes). */
function namesOf(store: Store, sub: string): SubjectNames & { rawEmails: string[] } {
  const member = store.sql.exec<{ email: string | null }>("SELECT email FROM members WHERE sub = ?", sub).toArray()[0];
  const rawEmails = member?.email ? [member.email] : [];
  return {
    sub,
    pseudonym: store.cipher().pseudonym(sub),
    emails: rawEmails.map((e) => e.toLowerCase()),
    rawEmails,
  };
}

function matchIn(store: Store, def: CollectionDef, n: ReturnType<typeof namesOf>): sel.SubjectMatch {
  const identifiers = [n.sub, ...n.rawEmails];
  return {
    sub: n.sub,
    actor: `user:${n.sub}`,
    values: [...new Set(identifiers.map((v) => v.toLowerCase()))],
    piiColumns: def.fields.filter((f) => f.pii && !f.encrypted).map((f) => f.name),
    piiPaths: piiNames(def).map((name) => `$.${name}`),
    sealed: def.fields
      .filter((f) => f.pii && f.encrypted)
      .map((f) => ({
        column: blindColumn(f.name),
        tokens: identifiers.flatMap((v) => store.cipher().blindTokens(def.name, f.name, v)),
      })),
  };
}

/** Blanks the pii of the records that held the subject's data, in the row and every version. */
function blankRecords(store: Store, p: Principal, def: CollectionDef, recordIds: string[], now: string): number {
  const pii = def.fields.filter((f) => f.pii);
  const paths = piiNames(def).map((n) => `$.${n}`);
  if (paths.length === 0) return 0;
  let records = 0;
  for (const id of recordIds) {
    ids.exec(store.sql, sel.scrubVersions(def.name, id, paths));
    scrubChanges(store, def.name, id, paths);
    const row = readRow(store, def.name, id);
    if (!row) continue;
    const blank = encodeFields(store, def, Object.fromEntries(pii.map((f) => [f.name, null])));
    const version = (row.version as number) + 1;
    ids.exec(store.sql, ddl.updateRow(def.name, id, { ...blank, version, updated_at: now, updated_by: actorOf(p) }));
    const rec = rowToRecord(def, readRow(store, def.name, id) as Row);
    appendChange(store.db, {
      type: "record.updated",
      actor: actorOf(p),
      collection: def.name,
      id,
      version,
      record: rec,
    });
    store.db
      .insert(recordVersions)
      .values({ collection: def.name, recordId: id, version, op: "erase", data: rec, actor: actorOf(p), at: now })
      .run();
    if (row.deleted_at === null) indexRecord(store, def, rec);
    records++;
  }
  return records;
}

/** Replaces the subject's id with the pseudonym in every system table that names a person. */
function pseudonymize(store: Store, n: SubjectNames): void {
  const [actor, stand] = [`user:${n.sub}`, `user:${n.pseudonym}`];
  store.sql.exec("UPDATE record_versions SET actor = ? WHERE actor = ?", stand, actor);
  store.sql.exec(
    "UPDATE record_versions SET data = json_set(data, '$.owner', ?) WHERE json_extract(data, '$.owner') = ?",
    n.pseudonym,
    n.sub,
  );
  for (const table of ["shares", "api_keys"]) {
    store.sql.exec(`UPDATE ${table} SET created_by = ? WHERE created_by = ?`, n.pseudonym, n.sub);
    store.sql.exec(`UPDATE ${table} SET created_by = ? WHERE created_by = ?`, stand, actor);
  }
  // The change log names them as actor and owner too.
  store.sql.exec("UPDATE change_events SET actor = ? WHERE actor = ?", stand, actor);
  // Webhooks they registered name them; bodies queued before deliveries were built at send time go.
  store.sql.exec("UPDATE webhooks SET created_by = ? WHERE created_by = ?", stand, actor);
  store.sql.exec("UPDATE webhook_deliveries SET body = '' WHERE body != ''");
  store.sql.exec(
    "UPDATE change_events SET resource_id = ? WHERE type = 'member.changed' AND resource_id = ?",
    n.pseudonym,
    n.sub,
  );
  store.sql.exec(
    "UPDATE change_events SET record = json_set(record, '$.owner', ?) WHERE json_extract(record, '$.owner') = ?",
    n.pseudonym,
    n.sub,
  );
  // Answers stored for the subject's retried POSTs hold what they wrote (scope: their actor).
  const scope = `${actor}:`;
  store.sql.exec("DELETE FROM idempotency_keys WHERE substr(key, 1, length(?)) = ?", scope, scope);
}

export function eraseSubject(
  store: Store,
  p: Principal,
  sub: string,
  files: string[],
  masterKey: string,
): Result<ErasureResult & { expired: string[] }> {
  const result = inTransaction(store, () => {
    // Asked again here: a hold or a new owner's change may have come in since the first check.
    const held = legalHoldFailure(store.config, "Erasure");
    if (held) throw new Abort(held);
    if (lastOwnerProblem(store, sub)) throw new Abort(fail("conflict", "The subject is the tenant's last owner."));
    const now = new Date().toISOString();
    const names = namesOf(store, sub);
    const defs = store.sql
      .exec<{ definition: string }>("SELECT definition FROM collections")
      .toArray()
      .map((r) => JSON.parse(r.definition) as CollectionDef);
    let records = 0;
    for (const def of defs) {
      const held = ids
        .exec<{ id: string }>(store.sql, sel.subjectRecordIds(def.name, matchIn(store, def, names)))
        .toArray()
        .map((r) => r.id);
      // Ids first, so the erase versions written next carry the pseudonym as owner.
      for (const [column, from, to] of [
        ["owner", sub, names.pseudonym],
        ["created_by", `user:${sub}`, `user:${names.pseudonym}`],
        ["updated_by", `user:${sub}`, `user:${names.pseudonym}`],
      ] as const) {
        ids.exec(store.sql, sel.replaceInColumn(def.name, column, from, to));
      }
      records += blankRecords(store, p, def, held, now);
    }
    pseudonymize(store, names);
    const members = store.sql.exec("DELETE FROM members WHERE sub = ?", sub).rowsWritten > 0 ? 1 : 0;
    forgetPrincipals(store.storage);
    // The change feed hears of the member and the files, under the pseudonym (DESIGN §10).
    if (members) appendChange(store.db, { type: "member.changed", actor: actorOf(p), id: names.pseudonym });
    const shares = store.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM shares WHERE principal = ?", `user:${sub}`)
      .one().n;
    store.sql.exec("DELETE FROM shares WHERE principal = ?", `user:${sub}`);
    for (const path of files) {
      store.sql.exec("DELETE FROM files WHERE path = ?", path);
      // The object goes after the commit; a crash before that is settled on the next start.
      noteIntent(store, deleteToken(path), { path, op: "delete", sub: p.sub });
      appendChange(store.db, { type: "file.deleted", actor: actorOf(p), id: path });
    }
    if (files.length) store.sql.exec("DELETE FROM usage_counters WHERE period = 'all' AND metric = 'r2Bytes'");
    const auditRedacted = redactAudit(store, masterKey, names);
    const expired = expireExports(store, now);
    const counts = { records, members, shares, files: files.length, auditRedacted, exportsExpired: expired.length };
    appendAudit(store.db, {
      actor: actorOf(p),
      action: "privacy.erasure",
      resource: "tenant",
      success: true,
      details: { subject: names.pseudonym, ...counts },
    });
    return { ...counts, files, pseudonym: names.pseudonym, expired };
  });
  return isFailure(result) ? result : ok(result);
}

/**
 * The whole erasure of a subject: refused under legal hold or by the grant rule; one transaction
 * (rows, the delete intents of the subject's files, audit and change events), then the files'
 * objects (as a file delete: a row never points at a deleted object, and an object left by a
 * crash is removed on the next start), then the bundles of the exports it expired.
 */
export async function erase(
  store: Store,
  bucket: R2Bucket,
  masterKey: string,
  p: Principal,
  sub: string,
): Promise<Result<ErasureResult>> {
  const refused = legalHoldFailure(store.config, "Erasure") ?? erasureRefusal(store, p, sub);
  if (refused) return refused;
  const files = uploadsOf(store, sub);
  const erased = eraseSubject(store, p, sub, files, masterKey);
  if (!erased.ok) return erased;
  const archive = tenantStorage(bucket, store.config.id);
  for (const path of files) {
    await archive.deleteStoredFile(path);
    clearIntent(store, deleteToken(path));
  }
  const { expired, ...result } = erased.value;
  await deleteExpiredBundles(store, bucket, expired);
  return ok(result);
}
