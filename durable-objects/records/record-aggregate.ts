// A tenant user's aggregate over one collection (GET /v1/collections/{name}/aggregate): count,
// sum, avg, min or max of a field, optionally grouped by a field or its UTC day or month, over the
// rows the same caller's list would return (the records filters, live rows, the record ACL).
// pii fields are refused to callers who would see them masked; encrypted fields to everyone.

import type { Principal } from "../access/authorize";
import { allowedClassifications, granteesOf, seesAll } from "../access/record-access";
import type { CollectionDef } from "../collections/collection-schema";
import { loadDefinition } from "../collections/collections";
import type { AggregateItem } from "../contract/records";
import { fail, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";
import { aggregateQuery, type Bucket, type MetricFn } from "../sql/aggregate";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import { parseQuery, tableResolver } from "./query-language";
import { ACL_FIELDS, SYSTEM_FIELDS } from "./record-codec";
import { piiProblem, sealedFilters } from "./records";

/** Groups one answer holds at most; more is a 400 (narrow the filters or group by month). */
export const MAX_GROUPS = 1000;
const NOT_FOR_AGGREGATES = ["sort", "fields", "cursor", "as_of", "include_deleted"];
const METRIC = /^(count)$|^(sum|avg|min|max):([a-zA-Z][a-zA-Z0-9_]*)$/;
const GROUP = /^(?:(day|month)\(([a-zA-Z][a-zA-Z0-9_]*)\)|([a-zA-Z][a-zA-Z0-9_]*))$/;
const NUMERIC = new Set(["integer", "number"]);
const GROUPABLE = new Set(["string", "enum", "boolean", "integer", "number", "ref", "datetime"]);
const DATE_FIELDS = new Set(["createdAt", "updatedAt"]);

const invalid = (detail: string, field: string) => fail("validation_failed", detail, { field });

interface Target {
  column: string;
  type: string;
}

/** The column and type of an aggregatable field, or the problem with it. */
function target(def: CollectionDef, p: Principal, name: string, param: string): Result<Target> {
  if (DATE_FIELDS.has(name)) return ok({ column: SYSTEM_FIELDS[name] as string, type: "datetime" });
  if (name === "version") return ok({ column: "version", type: "integer" });
  if (def.acl && ACL_FIELDS[name]) return ok({ column: ACL_FIELDS[name] as string, type: "string" });
  const field = def.fields.find((f) => f.name === name);
  if (!field) return invalid(`Unknown field '${name}' in ${param}.`, param);
  if (field.encrypted) return invalid(`Encrypted field '${name}' cannot be aggregated or grouped by.`, param);
  if (field.pii && !p.permissions.has("pii:read")) {
    return fail("forbidden", `Aggregating or grouping by pii field '${name}' needs pii:read.`, { field: param });
  }
  return ok({ column: name, type: field.type });
}

function metricOf(def: CollectionDef, p: Principal, raw: string): Result<{ fn: MetricFn; target: Target | null }> {
  const m = METRIC.exec(raw);
  if (!m) return invalid("metric is count, sum:<field>, avg:<field>, min:<field> or max:<field>.", "metric");
  if (m[1]) return ok({ fn: "count", target: null });
  const fn = m[2] as MetricFn;
  const t = target(def, p, m[3] as string, "metric");
  if (!t.ok) return t;
  const fits = NUMERIC.has(t.value.type) || ((fn === "min" || fn === "max") && t.value.type === "datetime");
  if (!fits)
    return invalid(
      `${fn} applies to number fields${fn === "min" || fn === "max" ? " and datetimes" : ""}, not '${m[3]}'.`,
      "metric",
    );
  return ok({ fn, target: t.value });
}

function groupOf(
  def: CollectionDef,
  p: Principal,
  raw: string,
): Result<{ column: string; bucket: Bucket; type: string }> {
  const m = GROUP.exec(raw);
  if (!m) return invalid("groupBy is <field>, day(<field>) or month(<field>).", "groupBy");
  const bucket: Bucket = (m[1] as Bucket | undefined) ?? "value";
  const t = target(def, p, (m[2] ?? m[3]) as string, "groupBy");
  if (!t.ok) return t;
  if (bucket !== "value" && t.value.type !== "datetime")
    return invalid(`${bucket}() applies to datetime fields.`, "groupBy");
  if (bucket === "value" && !GROUPABLE.has(t.value.type)) {
    return invalid(`'${m[3]}' (${t.value.type}) cannot be grouped by.`, "groupBy");
  }
  return ok({ ...t.value, bucket });
}

export function aggregateRecords(
  store: Store,
  p: Principal,
  name: string,
  params: Record<string, string>,
): Result<{ items: AggregateItem[]; nextCursor: null }> {
  const def = loadDefinition(store, name);
  if (!def) return fail("not_found", `Collection '${name}' not found.`);
  const { metric = "count", groupBy, limit, ...rest } = params;
  const unfit = NOT_FOR_AGGREGATES.find((k) => k in rest);
  if (unfit) return invalid(`'${unfit}' does not apply to aggregates.`, unfit);
  const maxGroups = limit === undefined ? MAX_GROUPS : Number(limit);
  if (!Number.isInteger(maxGroups) || maxGroups < 1 || maxGroups > MAX_GROUPS) {
    return invalid(`limit is an integer from 1 to ${MAX_GROUPS}.`, "limit");
  }
  const m = metricOf(def, p, metric);
  if (!m.ok) return m;
  const g = groupBy === undefined ? null : groupOf(def, p, groupBy);
  if (g && !g.ok) return g;
  // The filters exactly as a list parses them (and refuses pii and encrypted ones as it does).
  const parsed = parseQuery(def, rest);
  if (!parsed.ok) return parsed;
  const denied = piiProblem(def, p, { ...parsed.value, sort: [] });
  if (denied) return denied;
  const sealed = sealedFilters(store, def, { ...parsed.value, sort: [] });
  if (!sealed.ok) return sealed;
  const resolve = tableResolver();
  const where = sealed.value.map((f) => sel.filterFragment(f, resolve));
  where.push(sel.isNull(() => sel.columnRef("deleted_at"), "deleted_at"));
  if (def.acl && !seesAll(p)) {
    where.push(sel.aclFragment(resolve, name, p.sub, granteesOf(p), allowedClassifications(store, p)));
  }
  let rows: { grp: SqlStorageValue; value: SqlStorageValue }[];
  try {
    const stmt = aggregateQuery({
      collection: name,
      fn: m.value.fn,
      column: m.value.target?.column ?? null,
      group: g?.ok ? { column: g.value.column, bucket: g.value.bucket } : null,
      where,
      maxGroups,
    });
    rows = ids.exec<{ grp: SqlStorageValue; value: SqlStorageValue }>(store.sql, stmt).toArray();
  } catch (err) {
    if (err instanceof ids.SqlIdentifierError)
      return fail("validation_failed", "This query is too large; use fewer filters or values.");
    throw err;
  }
  if (rows.length > maxGroups) {
    return fail("validation_failed", `More than ${maxGroups} groups; narrow the filters or group by a coarser key.`, {
      field: "groupBy",
      limit: maxGroups,
    });
  }
  const boolGroup = g?.ok === true && g.value.bucket === "value" && g.value.type === "boolean";
  const items = rows.map((r) => ({
    group: r.grp instanceof ArrayBuffer ? null : boolGroup && r.grp !== null ? r.grp === 1 : r.grp,
    value: r.value instanceof ArrayBuffer ? null : r.value,
  }));
  return ok({ items, nextCursor: null });
}
