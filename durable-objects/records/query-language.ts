// The record query language: `{field}={op}.{value}` filters, `sort`, `fields`, `limit`, an opaque
// keyset `cursor`, `as_of` and `include_deleted`. Parsing knows the collection's fields, so
// anything unknown is a 400 naming it; compiling to SQL is sql/select.ts's job.
import { aliasesOf, type CollectionDef, type FieldDef } from "../collections/collection-schema";
import { fail, ok, type Result } from "../contract/result";
import { SQL_LIMITS } from "../sql/identifiers";
import { columnRef, type Filter, type FilterOp, jsonRef, type Resolver, type SortKey } from "../sql/select";
import { ACL_FIELDS, SYSTEM_FIELDS } from "./record-codec";

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 50;
const OPS: FilterOp[] = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "like", "is"];
const RESERVED_PARAMS = new Set(["sort", "fields", "limit", "cursor", "as_of", "include_deleted"]);

export interface RecordQuery {
  filters: Filter[];
  sort: SortKey[];
  fields: string[] | null;
  limit: number;
  after: SqlStorageValue[] | null;
  asOf: string | null;
  includeDeleted: boolean;
}

type FieldKind = FieldDef["type"] | "system-text" | "system-int";

function fieldKinds(def: CollectionDef): Map<string, FieldKind> {
  const kinds = new Map<string, FieldKind>([
    ["id", "system-text"],
    ["version", "system-int"],
    ["createdAt", "system-text"],
    ["updatedAt", "system-text"],
  ]);
  if (def.acl) for (const f of Object.keys(ACL_FIELDS)) kinds.set(f, "system-text");
  for (const f of def.fields) kinds.set(f.name, f.type);
  return kinds;
}

function parseScalar(kind: FieldKind, raw: string, field: string): Result<SqlStorageValue> {
  switch (kind) {
    case "integer":
    case "system-int": {
      if (!/^-?\d{1,16}$/.test(raw)) return fail("validation_failed", `'${field}' takes an integer.`, { field });
      return ok(Number(raw));
    }
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n))
        return fail("validation_failed", `'${field}' takes a number.`, { field });
      return ok(n);
    }
    case "boolean":
      if (raw !== "true" && raw !== "false")
        return fail("validation_failed", `'${field}' takes true or false.`, { field });
      return ok(raw === "true" ? 1 : 0);
    case "json":
      return fail("validation_failed", `json field '${field}' cannot be filtered.`, { field });
    default:
      return ok(raw);
  }
}

/** LIKE with `*` as the only wildcard: SQL's own wildcards and the escape char are literal. */
function likePattern(raw: string, field: string): Result<string> {
  const pattern = raw.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, "%");
  if (new TextEncoder().encode(pattern).length > SQL_LIMITS.likePatternBytes) {
    return fail("validation_failed", `A like pattern is limited to ${SQL_LIMITS.likePatternBytes} bytes.`, { field });
  }
  return ok(pattern);
}

function parseFilter(kinds: Map<string, FieldKind>, field: string, raw: string): Result<Filter> {
  const kind = kinds.get(field);
  if (!kind) return fail("validation_failed", `Unknown field '${field}'.`, { field });
  const dot = raw.indexOf(".");
  const op = (dot < 0 ? raw : raw.slice(0, dot)) as FilterOp;
  const value = dot < 0 ? "" : raw.slice(dot + 1);
  if (!OPS.includes(op)) {
    return fail("validation_failed", `Unknown operator '${op}' for '${field}' (use ${OPS.join(", ")}).`, { field });
  }
  if (dot < 0) return fail("validation_failed", `Filter '${field}' is written ${op}.<value>.`, { field });
  if (op === "is") {
    if (value !== "null" && value !== "notnull")
      return fail("validation_failed", `'is' takes null or notnull.`, { field });
    return ok({ field, op, value });
  }
  if (op === "like") {
    if (!["string", "text", "enum", "ref", "datetime", "system-text"].includes(kind)) {
      return fail("validation_failed", `'like' applies to text fields, not '${field}'.`, { field });
    }
    const p = likePattern(value, field);
    return p.ok ? ok({ field, op, value: p.value }) : p;
  }
  if (op === "in") {
    const parts = value.split(",");
    if (parts.length > SQL_LIMITS.boundParameters - 20) {
      return fail("validation_failed", `'in' takes at most ${SQL_LIMITS.boundParameters - 20} values.`, { field });
    }
    const values: SqlStorageValue[] = [];
    for (const part of parts) {
      const v = parseScalar(kind, part, field);
      if (!v.ok) return v;
      values.push(v.value);
    }
    return ok({ field, op, value: values });
  }
  const v = parseScalar(kind, value, field);
  return v.ok ? ok({ field, op, value: v.value }) : v;
}

export function parseQuery(def: CollectionDef, params: Record<string, string>): Result<RecordQuery> {
  const kinds = fieldKinds(def);
  const filters: Filter[] = [];
  for (const [key, raw] of Object.entries(params)) {
    if (RESERVED_PARAMS.has(key)) continue;
    const f = parseFilter(kinds, key, raw);
    if (!f.ok) return f;
    filters.push(f.value);
  }
  if (filters.length > 20) return fail("validation_failed", "At most 20 filters per query.");

  const sort: SortKey[] = [];
  for (const part of (params.sort ?? "createdAt").split(",").filter(Boolean)) {
    const desc = part.startsWith("-");
    const field = desc ? part.slice(1) : part;
    const kind = kinds.get(field);
    if (!kind) return fail("validation_failed", `Unknown sort field '${field}'.`, { field: "sort" });
    if (kind === "json") return fail("validation_failed", `json field '${field}' cannot be sorted.`, { field: "sort" });
    sort.push({ field, desc });
  }
  if (sort.length > 8) return fail("validation_failed", "At most 8 sort fields.", { field: "sort" });
  if (!sort.some((s) => s.field === "id")) sort.push({ field: "id", desc: false });

  let fields: string[] | null = null;
  if (params.fields) {
    fields = params.fields.split(",").filter(Boolean);
    const unknown = fields.find((f) => !kinds.has(f) && f !== "deletedAt");
    if (unknown) return fail("validation_failed", `Unknown field '${unknown}' in fields.`, { field: "fields" });
  }

  const limit = params.limit === undefined ? DEFAULT_LIMIT : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    return fail("validation_failed", `limit is an integer from 1 to ${MAX_LIMIT}.`, { field: "limit" });
  }

  let asOf: string | null = null;
  if (params.as_of !== undefined) {
    const t = Date.parse(params.as_of);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(params.as_of)) {
      return fail("validation_failed", "as_of is an ISO 8601 time.", { field: "as_of" });
    }
    asOf = new Date(t).toISOString();
  }
  const includeDeleted = params.include_deleted === "true";
  if (params.include_deleted !== undefined && !["true", "false"].includes(params.include_deleted)) {
    return fail("validation_failed", "include_deleted is true or false.", { field: "include_deleted" });
  }

  let after: SqlStorageValue[] | null = null;
  if (params.cursor !== undefined) {
    const decoded = decodeCursor(params.cursor, sortSignature(sort));
    if (!decoded || decoded.length !== sort.length) {
      return fail("validation_failed", "The cursor is not valid for this query.", { field: "cursor" });
    }
    after = decoded;
  }
  return ok({ filters, sort, fields, limit, after, asOf, includeDeleted });
}

export const sortSignature = (sort: SortKey[]) => sort.map((s) => `${s.desc ? "-" : ""}${s.field}`).join(",");

export function encodeCursor(values: SqlStorageValue[], signature: string): string {
  const json = JSON.stringify({ s: signature, v: values });
  return btoa(String.fromCharCode(...new TextEncoder().encode(json)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function decodeCursor(cursor: string, signature: string): SqlStorageValue[] | null {
  try {
    const bin = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const parsed = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    if (parsed?.s !== signature || !Array.isArray(parsed.v)) return null;
    if (!parsed.v.every((x: unknown) => x === null || typeof x === "string" || typeof x === "number")) return null;
    return parsed.v;
  } catch {
    return null;
  }
}

/** Resolves fields against a live collection table. */
export function tableResolver(): Resolver {
  return (field) => columnRef(SYSTEM_FIELDS[field] ?? ACL_FIELDS[field] ?? field);
}

/** Resolves fields inside version snapshots (as_of), following renames back to old names. */
export function snapshotResolver(def: CollectionDef): Resolver {
  return (field) => (field === "id" ? columnRef("id") : jsonRef(aliasesOf(def, field)));
}
