// Records of a collection: reads (get, list with the query language, as_of, history) and the
// orchestration of writes (single and batch) around record-writes.ts.

import { z } from "zod";
import type { Principal } from "../access/authorize";
import {
  allowedClassifications,
  canSee,
  canWrite,
  granteesOf,
  readableRecord,
  seesAll,
  viewFor,
} from "../access/record-access";
import { noteAccess } from "../audit/access-audit";
import type { CollectionDef } from "../collections/collection-schema";
import { loadDefinition } from "../collections/collections";
import { RECORD_ID_PATTERN } from "../contract/identifiers";
import type { ApiRecord, BatchAnswer, Page, VersionView } from "../contract/records";
import { fail, failFromZod, ok, type Result } from "../contract/result";
import { blindColumn } from "../crypto/field-cipher";
import { Abort, inTransaction, isFailure, type Store } from "../db/store";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import {
  encodeCursor,
  parseQuery,
  type RecordQuery,
  snapshotResolver,
  sortSignature,
  tableResolver,
} from "./query-language";
import { present, type Row, renameSnapshot, rowToRecord } from "./record-codec";
import { validateWrite } from "./record-validation";
import { createRow, readRow, restoreRow, softDeleteRow, updateRow } from "./record-writes";

function collection(store: Store, name: string): Result<CollectionDef> {
  const def = loadDefinition(store, name);
  return def ? ok(def) : fail("not_found", `Collection '${name}' not found.`);
}

const notFound = (id: string) => fail("not_found", `Record '${id}' not found.`);

export function getRecord(
  store: Store,
  p: Principal,
  name: string,
  id: string,
  includeDeleted: boolean,
): Result<ApiRecord> {
  const def = collection(store, name);
  if (!def.ok) return def;
  if (includeDeleted && !seesAll(p)) return fail("forbidden", "include_deleted is for admins.");
  const row = readRow(store, name, id);
  if (!row || (row.deleted_at !== null && !includeDeleted)) return notFound(id);
  const rec = readableRecord(store, p, def.value, rowToRecord(def.value, row));
  if (rec && def.value.auditReads) auditRead(store, p, `record:${name}/${id}`, { ids: [id] });
  return rec ? ok(rec) : notFound(id);
}

/** A read of a collection marked auditReads: a record.read event, buffered (audit/access-audit.ts). */
function auditRead(store: Store, p: Principal, resource: string, details: Record<string, unknown>): void {
  noteAccess(store.storage, { actor: p.actor, action: "record.read", resource, success: true, details });
}

export function piiProblem(def: CollectionDef, p: Principal, query: RecordQuery) {
  if (p.permissions.has("pii:read")) return null;
  const pii = new Set(def.fields.filter((f) => f.pii).map((f) => f.name));
  const used = [...query.filters.map((f) => f.field), ...query.sort.map((s) => s.field)].find((f) => pii.has(f));
  return used
    ? fail("forbidden", `Filtering or sorting on pii field '${used}' needs pii:read.`, { field: used })
    : null;
}

/**
 * Filters on encrypted fields compare blind indexes: only eq, in and is apply, never on as_of
 * snapshots; sorting by an encrypted field is refused.
 */
export function sealedFilters(store: Store, def: CollectionDef, query: RecordQuery): Result<sel.Filter[]> {
  const encrypted = new Map(def.fields.filter((f) => f.encrypted).map((f) => [f.name, f]));
  if (encrypted.size === 0) return ok(query.filters);
  const sorted = query.sort.find((s) => encrypted.has(s.field));
  if (sorted)
    return fail("validation_failed", `Encrypted field '${sorted.field}' cannot be sorted.`, { field: sorted.field });
  const out: sel.Filter[] = [];
  for (const f of query.filters) {
    const field = encrypted.get(f.field);
    if (!field) {
      out.push(f);
      continue;
    }
    if (!["eq", "in", "is"].includes(f.op) || query.asOf) {
      return fail(
        "validation_failed",
        `Encrypted field '${f.field}' supports only eq, in and is filters (not with as_of).`,
        {
          field: f.field,
        },
      );
    }
    if (f.op === "is") {
      out.push({ field: blindColumn(f.field), op: "is", value: f.value });
      continue;
    }
    // Every key in the ring: during a data key rotation a row may still carry an old token.
    const tokens = (v: SqlStorageValue) =>
      store.cipher().blindTokens(def.name, field.name, field.type === "boolean" ? v === 1 : v);
    const values = f.op === "in" ? (f.value as SqlStorageValue[]) : [f.value as SqlStorageValue];
    out.push({ field: blindColumn(f.field), op: "in", value: values.flatMap(tokens) });
  }
  return ok(out);
}

const sqlValue = (v: unknown): SqlStorageValue =>
  v === undefined ? null : typeof v === "boolean" ? (v ? 1 : 0) : (v as SqlStorageValue);

export function listRecords(
  store: Store,
  p: Principal,
  name: string,
  params: Record<string, string>,
): Result<Page<ApiRecord>> {
  const def = collection(store, name);
  if (!def.ok) return def;
  const parsed = parseQuery(def.value, params);
  if (!parsed.ok) return parsed;
  const query = parsed.value;
  if (query.includeDeleted && !seesAll(p)) return fail("forbidden", "include_deleted is for admins.");
  const denied = piiProblem(def.value, p, query);
  if (denied) return denied;

  const sealed = sealedFilters(store, def.value, query);
  if (!sealed.ok) return sealed;
  const resolve = query.asOf ? snapshotResolver(def.value) : tableResolver();
  const where: sel.Fragment[] = sealed.value.map((f) => sel.filterFragment(f, resolve));
  if (query.asOf) where.push(sel.notEqualText(sel.columnRef("op"), "delete"));
  else if (!query.includeDeleted) where.push(sel.isNull(() => sel.columnRef("deleted_at"), "deleted_at"));
  if (def.value.acl && !seesAll(p)) {
    where.push(sel.aclFragment(resolve, name, p.sub, granteesOf(p), allowedClassifications(store, p)));
  }
  if (query.after) where.push(sel.keysetFragment(query.sort, resolve, query.after));

  let rows: Row[];
  try {
    const stmt = sel.selectStatement({
      source: query.asOf ? sel.asOfSource(name, query.asOf) : sel.tableSource(name),
      columns: sel.allColumns(),
      where,
      order: sel.orderFragment(query.sort, resolve),
      limit: query.limit + 1,
    });
    rows = ids.exec<Row>(store.sql, stmt).toArray();
  } catch (err) {
    if (err instanceof ids.SqlIdentifierError)
      return fail("validation_failed", "This query is too large; use fewer filters or values.");
    throw err;
  }
  const records = rows.map((r) =>
    query.asOf ? renameSnapshot(def.value, JSON.parse(r.data as string)) : rowToRecord(def.value, r),
  );
  const page = records.slice(0, query.limit);
  if (def.value.auditReads) {
    auditRead(store, p, `collection:${name}`, { ids: page.map((r) => String(r.id)), asOf: query.asOf ?? null });
  }
  const last = page.at(-1);
  const nextCursor =
    records.length > query.limit && last
      ? encodeCursor(
          query.sort.map((s) => sqlValue(last[s.field])),
          sortSignature(query.sort),
        )
      : null;
  return ok({ items: page.map((r) => present(def.value, r, viewFor(store, p, query.fields))), nextCursor });
}

export function recordHistory(
  store: Store,
  p: Principal,
  name: string,
  id: string,
  params: { cursor?: string; limit?: string },
): Result<Page<VersionView>> {
  const def = collection(store, name);
  if (!def.ok) return def;
  const row = readRow(store, name, id);
  if (!row || !canSee(store, p, def.value, rowToRecord(def.value, row))) return notFound(id);
  const limit = params.limit === undefined ? 50 : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return fail("validation_failed", "limit is 1 to 1000.");
  const after = params.cursor === undefined ? 0 : Number(params.cursor);
  if (!Number.isInteger(after) || after < 0) return fail("validation_failed", "The cursor is not valid.");
  const rows = store.sql
    .exec<{ version: number; op: string; actor: string; at: string; data: string }>(
      "SELECT version, op, actor, at, data FROM record_versions WHERE collection = ? AND record_id = ? AND version > ? ORDER BY version LIMIT ?",
      name,
      id,
      after,
      limit + 1,
    )
    .toArray();
  if (def.value.auditReads) auditRead(store, p, `record:${name}/${id}`, { ids: [id], history: true });
  const page = rows.slice(0, limit).map((r) => ({
    version: r.version,
    op: r.op,
    actor: r.actor,
    at: r.at,
    data: present(def.value, renameSnapshot(def.value, JSON.parse(r.data)), viewFor(store, p)),
  }));
  return ok({ items: page, nextCursor: rows.length > limit ? String(page.at(-1)?.version) : null });
}

/** Runs a write in one transaction; an Abort inside it becomes the answer. */
function transact<T>(store: Store, work: () => T): Result<T> {
  const result = inTransaction(store, work);
  return isFailure(result) ? result : ok(result);
}

export function createRecord(store: Store, p: Principal, name: string, body: unknown): Result<ApiRecord> {
  const def = collection(store, name);
  if (!def.ok) return def;
  const data = validateWrite(def.value, "create", body);
  if (!data.ok) return data;
  return transact(store, () => present(def.value, createRow(store, p, def.value, data.value), viewFor(store, p)));
}

/** The record as the caller may change it, or an Abort (404 unseen, 403 read-only). */
function writable(store: Store, p: Principal, def: CollectionDef, id: string): void {
  const row = readRow(store, def.name, id);
  if (!row) throw new Abort(notFound(id));
  const rec = rowToRecord(def, row);
  if (!canSee(store, p, def, rec)) throw new Abort(notFound(id));
  if (!canWrite(store, p, def, rec)) throw new Abort(fail("forbidden", `You may read but not change record '${id}'.`));
}

const canSetAcl = (p: Principal) => (row: Row) => seesAll(p) || row.owner === p.sub;

export function writeRecord(
  store: Store,
  p: Principal,
  name: string,
  id: string,
  body: unknown,
  mode: "put" | "patch",
  ifMatch: number | null,
): Result<ApiRecord> {
  const def = collection(store, name);
  if (!def.ok) return def;
  const data = validateWrite(def.value, mode, body);
  if (!data.ok) return data;
  const result = inTransaction(store, () => {
    writable(store, p, def.value, id);
    return updateRow(store, p, def.value, id, data.value, mode, ifMatch, canSetAcl(p));
  });
  return isFailure(result) ? result : ok(present(def.value, result, viewFor(store, p)));
}

export function deleteRecord(
  store: Store,
  p: Principal,
  name: string,
  id: string,
  ifMatch: number | null,
): Result<ApiRecord> {
  const def = collection(store, name);
  if (!def.ok) return def;
  const result = inTransaction(store, () => {
    writable(store, p, def.value, id);
    return softDeleteRow(store, p, def.value, id, ifMatch);
  });
  return isFailure(result) ? result : ok(present(def.value, result, viewFor(store, p)));
}

export function restoreRecord(store: Store, p: Principal, name: string, id: string): Result<ApiRecord> {
  const def = collection(store, name);
  if (!def.ok) return def;
  const result = inTransaction(store, () => {
    writable(store, p, def.value, id);
    return restoreRow(store, p, def.value, id);
  });
  return isFailure(result) ? result : ok(present(def.value, result, viewFor(store, p)));
}

const BatchSchema = z.strictObject({
  operations: z
    .array(
      z.discriminatedUnion("op", [
        z.strictObject({ op: z.literal("create"), data: z.record(z.string(), z.unknown()) }),
        z.strictObject({
          op: z.literal("update"),
          id: z.string().regex(RECORD_ID_PATTERN),
          data: z.record(z.string(), z.unknown()),
        }),
        z.strictObject({ op: z.literal("delete"), id: z.string().regex(RECORD_ID_PATTERN) }),
      ]),
    )
    .min(1)
    .max(100),
});

/** Up to 100 writes in one transaction: all or nothing; a failure names its operation. */
export function batchRecords(store: Store, p: Principal, name: string, body: unknown): Result<BatchAnswer> {
  const def = collection(store, name);
  if (!def.ok) return def;
  const parsed = BatchSchema.safeParse(body);
  if (!parsed.success) return failFromZod(parsed.error, "batch");
  const ops = parsed.data.operations;
  const validated: (Record<string, unknown> | null)[] = [];
  for (const [i, op] of ops.entries()) {
    if (op.op === "delete") {
      validated.push(null);
      continue;
    }
    const data = validateWrite(def.value, op.op === "create" ? "create" : "patch", op.data);
    if (!data.ok) return fail(data.code, `Operation ${i}: ${data.detail}`, { ...data.extras, operation: i });
    validated.push(data.value);
  }
  return transact(store, () => {
    const results = ops.map((op, i) => {
      try {
        if (op.op === "create") return createRow(store, p, def.value, validated[i] as Record<string, unknown>);
        writable(store, p, def.value, op.id);
        if (op.op === "update") {
          return updateRow(
            store,
            p,
            def.value,
            op.id,
            validated[i] as Record<string, unknown>,
            "patch",
            null,
            canSetAcl(p),
          );
        }
        return softDeleteRow(store, p, def.value, op.id, null);
      } catch (err) {
        if (err instanceof Abort) {
          const f = err.failure;
          throw new Abort(fail(f.code, `Operation ${i}: ${f.detail}`, { ...f.extras, operation: i }));
        }
        throw err;
      }
    });
    return { results: results.map((r) => present(def.value, r, viewFor(store, p))) };
  });
}
