// The four record mutations. Each runs inside the caller's transaction and writes, together:
// the row change, its immutable version row, the search index, the usage counter and the audit
// event. Expected failures throw Abort so the whole transaction rolls back.
import type { Principal } from "../access/authorize";
import { appendAudit } from "../audit/audit-chain";
import { appendChange, RECORD_CHANGE } from "../changes/change-log";
import type { CollectionDef } from "../collections/collection-schema";
import type { ApiRecord } from "../contract/records";
import { fail } from "../contract/result";
import { Abort, type Store } from "../db/store";
import * as ddl from "../sql/ddl";
import * as ids from "../sql/identifiers";
import { encodeFields, type Row, rowToRecord } from "./record-codec";
import { indexRecord, unindexRecord } from "./search";

export const actorOf = (p: Principal) => p.actor;

export function newRecordId(): string {
  const time = Date.now().toString(36).padStart(9, "0");
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(11)), (b) => (b % 36).toString(36)).join("");
  return `${time}${rand}`;
}

export function readRow(store: Store, collection: string, id: string): Row | null {
  return ids.exec<Row>(store.sql, ddl.selectById(collection, id)).toArray()[0] ?? null;
}

/** The tenant's record-count gauge: the only writer of usage_counters' ('all', 'records'). Returns the new count. */
export function bumpRecords(store: Store, delta: number): number {
  return store.sql
    .exec<{ value: number }>(
      `INSERT INTO usage_counters (period, metric, value) VALUES ('all', 'records', ?)
       ON CONFLICT (period, metric) DO UPDATE SET value = max(value + excluded.value, 0) RETURNING value`,
      delta,
    )
    .one().value;
}

export function recordCount(store: Store): number {
  return (
    store.sql
      .exec<{ value: number }>("SELECT value FROM usage_counters WHERE period = 'all' AND metric = 'records'")
      .toArray()[0]?.value ?? 0
  );
}

/** The immutable version row (a plain statement: every record write runs it). */
function writeVersion(store: Store, def: CollectionDef, rec: ApiRecord, op: string, actor: string, at: string) {
  store.sql.exec(
    "INSERT INTO record_versions (collection, record_id, version, op, data, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    def.name,
    rec.id as string,
    rec.version as number,
    op,
    JSON.stringify(rec),
    actor,
    at,
  );
}

/** The audit event and the change event of a record write: both in the write's transaction. */
function audit(store: Store, p: Principal, action: string, def: CollectionDef, rec: ApiRecord, details = {}) {
  const id = rec.id as string;
  appendAudit(store.db, {
    actor: actorOf(p),
    action,
    resource: `record:${def.name}/${id}`,
    success: true,
    details,
  });
  const type = RECORD_CHANGE[action];
  if (!type) throw new Error(`no change event for ${action}`);
  appendChange(store.db, {
    type,
    actor: actorOf(p),
    collection: def.name,
    id,
    version: rec.version as number,
    record: rec,
  });
}

function checkRefs(store: Store, def: CollectionDef, data: Record<string, unknown>) {
  for (const f of def.fields) {
    const value = data[f.name];
    if (f.type !== "ref" || value === null || value === undefined) continue;
    const target = f.collection as string;
    const exists =
      store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM collections WHERE name = ?", target).one().n > 0 &&
      readRow(store, target, value as string)?.deleted_at === null;
    if (!exists)
      throw new Abort(
        fail("validation_failed", `Field '${f.name}' refers to a missing ${target} record.`, { field: f.name }),
      );
  }
}

function runWrite(store: Store, s: ids.Statement): Row | undefined {
  try {
    return ids.exec<Row>(store.sql, s).toArray()[0];
  } catch (err) {
    const message = String(err);
    const unique = /UNIQUE constraint failed: [^.]+\.(\w+)/.exec(message);
    if (unique)
      throw new Abort(fail("conflict", `Another record has this '${unique[1]}'.`, { field: unique[1] ?? null }));
    throw err;
  }
}

export function createRow(store: Store, p: Principal, def: CollectionDef, data: Record<string, unknown>): ApiRecord {
  // The gauge counted up first and checked in the same statement: one statement, not a read and
  // a write. Over the limit, the Abort rolls the count back with the rest of the write (every
  // caller runs this inside inTransaction).
  const count = bumpRecords(store, 1) - 1;
  const max = store.config.limits.maxRecords;
  if (count >= max) {
    throw new Abort(fail("quota_exceeded", `This tenant may hold ${max} records.`, { limit: max, current: count }));
  }
  checkRefs(store, def, data);
  const now = new Date().toISOString();
  const id = newRecordId();
  const row: Record<string, SqlStorageValue> = {
    id,
    version: 1,
    created_at: now,
    updated_at: now,
    created_by: actorOf(p),
    updated_by: actorOf(p),
    ...encodeFields(store, def, data),
  };
  if (def.acl) {
    row.owner = p.sub;
    row.visibility = (data.visibility as string) ?? "private";
    row.classification = (data.classification as string) ?? "internal";
  }
  // The stored row as SQLite keeps it (RETURNING *): the same row a read would give, without the read.
  const rec = rowToRecord(def, runWrite(store, ddl.insertRow(def.name, row, true)) as Row);
  writeVersion(store, def, rec, "create", actorOf(p), now);
  indexRecord(store, def, rec, true);
  audit(store, p, "record.create", def, rec);
  return rec;
}

/** The live row, or an Abort: 404 when missing or deleted, 412 when If-Match does not hold. */
function liveRow(store: Store, def: CollectionDef, id: string, ifMatch: number | null): Row {
  const row = readRow(store, def.name, id);
  if (!row || row.deleted_at !== null) throw new Abort(fail("not_found", `Record '${id}' not found.`));
  if (ifMatch !== null && row.version !== ifMatch) {
    throw new Abort(
      fail("precondition_failed", `Record '${id}' is at version ${row.version}, not ${ifMatch}.`, {
        version: Number(row.version),
      }),
    );
  }
  return row;
}

export function updateRow(
  store: Store,
  p: Principal,
  def: CollectionDef,
  id: string,
  data: Record<string, unknown>,
  mode: "put" | "patch",
  ifMatch: number | null,
  canSetAcl: (row: Row) => boolean,
): ApiRecord {
  const row = liveRow(store, def, id, ifMatch);
  if (def.acl && ("visibility" in data || "classification" in data) && !canSetAcl(row)) {
    throw new Abort(fail("forbidden", "Only the record's owner or an admin may change visibility or classification."));
  }
  checkRefs(store, def, data);
  const now = new Date().toISOString();
  const set: Record<string, SqlStorageValue> = {
    version: (row.version as number) + 1,
    updated_at: now,
    updated_by: actorOf(p),
    ...encodeFields(store, def, data),
  };
  if (mode === "put") {
    const missing = Object.fromEntries(def.fields.filter((f) => !(f.name in data)).map((f) => [f.name, null]));
    Object.assign(set, encodeFields(store, def, missing));
  }
  if (def.acl) {
    if ("visibility" in data) set.visibility = data.visibility as string;
    if ("classification" in data) set.classification = data.classification as string;
  }
  runWrite(store, ddl.updateRow(def.name, id, set, row.version as number));
  const rec = rowToRecord(def, readRow(store, def.name, id) as Row);
  writeVersion(store, def, rec, "update", actorOf(p), now);
  indexRecord(store, def, rec);
  audit(store, p, "record.update", def, rec, { version: rec.version, fields: Object.keys(data) });
  return rec;
}

export function softDeleteRow(
  store: Store,
  p: Principal,
  def: CollectionDef,
  id: string,
  ifMatch: number | null,
): ApiRecord {
  const row = liveRow(store, def, id, ifMatch);
  const now = new Date().toISOString();
  const set = { version: (row.version as number) + 1, updated_at: now, updated_by: actorOf(p), deleted_at: now };
  ids.exec(store.sql, ddl.updateRow(def.name, id, set, row.version as number));
  const rec = rowToRecord(def, readRow(store, def.name, id) as Row);
  writeVersion(store, def, rec, "delete", actorOf(p), now);
  unindexRecord(store, def.name, id);
  audit(store, p, "record.delete", def, rec, { version: rec.version });
  return rec;
}

export function restoreRow(store: Store, p: Principal, def: CollectionDef, id: string): ApiRecord {
  const row = readRow(store, def.name, id);
  if (!row) throw new Abort(fail("not_found", `Record '${id}' not found.`));
  if (row.deleted_at === null) throw new Abort(fail("conflict", `Record '${id}' is not deleted.`));
  const now = new Date().toISOString();
  const set = { version: (row.version as number) + 1, updated_at: now, updated_by: actorOf(p), deleted_at: null };
  runWrite(store, ddl.updateRow(def.name, id, set, row.version as number));
  const rec = rowToRecord(def, readRow(store, def.name, id) as Row);
  writeVersion(store, def, rec, "restore", actorOf(p), now);
  indexRecord(store, def, rec);
  audit(store, p, "record.restore", def, rec, { version: rec.version });
  return rec;
}
