// Statements over records: filters, sorting, keyset pagination, as_of, ACLs, and the queries of
// single features (retention, export, erasure, aggregates), all with bound values.
import { nameTable } from "../contract/name-table";
import { collectionTable, IDENTIFIER, ident, SqlIdentifierError, type Statement, statement } from "./identifiers";

/** A piece of SQL with its bound values, in order. */
export interface Fragment {
  sql: string;
  params: SqlStorageValue[];
}

const frag = (sql: string, params: SqlStorageValue[] = []): Fragment => ({ sql, params });

function joinFragments(parts: Fragment[], sep: string): Fragment {
  return frag(
    parts.map((p) => p.sql).join(sep),
    parts.flatMap((p) => p.params),
  );
}

/** Resolves an API field name to the SQL expression that reads it. */
export type Resolver = (field: string) => Fragment;

/** A live table's column. */
export const columnRef = (column: string): Fragment => frag(ident(column));

/** A field inside a version's JSON snapshot; aliases (old names of a renamed field) are coalesced. */
export function jsonRef(names: string[]): Fragment {
  for (const n of names) if (!IDENTIFIER.test(n) && !/^[a-z][A-Za-z]{0,62}$/.test(n)) throw new SqlIdentifierError(n);
  if (names.length === 1) return frag(`json_extract(${ident("data")}, ?)`, [`$.${names[0]}`]);
  return frag(
    `coalesce(${names.map(() => `json_extract(${ident("data")}, ?)`).join(", ")})`,
    names.map((n) => `$.${n}`),
  );
}

export type FilterOp = "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "like" | "is";

export interface Filter {
  field: string;
  op: FilterOp;
  /** A scalar; a list for `in`; "null"/"notnull" for `is`; a LIKE pattern (already escaped) for `like`. */
  value: SqlStorageValue | SqlStorageValue[];
}

const COMPARATORS: Record<string, string> = nameTable({ eq: "=", ne: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" });

export function filterFragment(f: Filter, resolve: Resolver): Fragment {
  const col = resolve(f.field);
  switch (f.op) {
    case "in": {
      const values = f.value as SqlStorageValue[];
      return frag(`${col.sql} IN (${values.map(() => "?").join(", ")})`, [...col.params, ...values]);
    }
    case "is":
      return frag(`${col.sql} IS ${f.value === "null" ? "NULL" : "NOT NULL"}`, col.params);
    case "like":
      return frag(`${col.sql} LIKE ? ESCAPE '\\'`, [...col.params, f.value as SqlStorageValue]);
    default:
      return frag(`${col.sql} ${COMPARATORS[f.op]} ?`, [...col.params, f.value as SqlStorageValue]);
  }
}

export interface SortKey {
  field: string;
  desc: boolean;
}

export function orderFragment(sort: SortKey[], resolve: Resolver): Fragment {
  return joinFragments(
    sort.map((s) => {
      const col = resolve(s.field);
      return frag(`${col.sql} ${s.desc ? "DESC" : "ASC"}`, col.params);
    }),
    ", ",
  );
}

/**
 * Rows strictly after a cursor position in the given order. SQLite puts NULLs first when
 * ascending and last when descending; the comparisons below follow that, so pages neither skip
 * nor repeat rows whose sort value is NULL.
 */
export function keysetFragment(sort: SortKey[], resolve: Resolver, values: SqlStorageValue[]): Fragment {
  const branches: Fragment[] = [];
  for (let i = 0; i < sort.length; i++) {
    const parts: Fragment[] = [];
    for (let j = 0; j < i; j++) {
      const col = resolve((sort[j] as SortKey).field);
      parts.push(frag(`${col.sql} IS ?`, [...col.params, values[j] as SqlStorageValue]));
    }
    const key = sort[i] as SortKey;
    const col = resolve(key.field);
    const v = values[i] as SqlStorageValue;
    if (v === null) {
      if (key.desc) continue; // nothing sorts after NULL when descending, except equal NULLs
      parts.push(frag(`${col.sql} IS NOT NULL`, col.params));
    } else if (key.desc) {
      parts.push(frag(`(${col.sql} < ? OR ${col.sql} IS NULL)`, [...col.params, v, ...col.params]));
    } else {
      parts.push(frag(`${col.sql} > ?`, [...col.params, v]));
    }
    branches.push(frag(`(${joinFragments(parts, " AND ").sql})`, joinFragments(parts, " AND ").params));
  }
  if (branches.length === 0) return frag("0");
  return frag(`(${joinFragments(branches, " OR ").sql})`, joinFragments(branches, " OR ").params);
}

export interface SelectSpec {
  /** The row source: a collection's table, or a CTE over version snapshots for as_of. */
  source: Fragment;
  columns: Fragment;
  where: Fragment[];
  order: Fragment;
  limit: number;
}

export function selectStatement(spec: SelectSpec): Statement {
  const where = spec.where.length ? joinFragments(spec.where, " AND ") : frag("1");
  const parts = [
    spec.source,
    frag(` SELECT ${spec.columns.sql} FROM src WHERE `, spec.columns.params),
    where,
    frag(" ORDER BY "),
    spec.order,
    frag(" LIMIT ?", [spec.limit]),
  ];
  return statement(
    parts.map((p) => p.sql).join(""),
    parts.flatMap((p) => p.params),
  );
}

/** A live collection table as the row source. */
export const tableSource = (collection: string): Fragment =>
  frag(`WITH src AS (SELECT * FROM ${collectionTable(collection)})`);

/** The latest version of each record at or before an instant, as the row source for as_of. */
export function asOfSource(collection: string, at: string): Fragment {
  return frag(
    `WITH src AS (SELECT v.${ident("record_id")} AS ${ident("id")}, v.${ident("op")} AS ${ident("op")}, v.${ident("data")} AS ${ident("data")} FROM ${ident("record_versions")} v WHERE v.${ident("collection")} = ? AND v.${ident("version")} = (SELECT max(w.${ident("version")}) FROM ${ident("record_versions")} w WHERE w.${ident("collection")} = v.${ident("collection")} AND w.${ident("record_id")} = v.${ident("record_id")} AND w.${ident("at")} <= ?))`,
    [collection, at],
  );
}

export const allColumns = (): Fragment => frag("*");
export const rawFragment = (sql: "1" | "0"): Fragment => frag(sql);
export const isNull = (resolve: Resolver, field: string, negate = false): Fragment => {
  const col = resolve(field);
  return frag(`${col.sql} IS ${negate ? "NOT " : ""}NULL`, col.params);
};
export const notEqualText = (expr: Fragment, value: string): Fragment =>
  frag(`${expr.sql} <> ?`, [...expr.params, value]);

/** Sets one column on every row (a new field's default for existing records). */
export const updateAll = (collection: string, column: string, value: SqlStorageValue) =>
  statement(`UPDATE ${collectionTable(collection)} SET ${ident(column)} = ?`, [value]);

/**
 * Record visibility for a caller without collection-wide rights: their own records, plus public
 * ones, plus shared ones granted to them (by user or role), within their classification clearance.
 */
export function aclFragment(
  resolve: Resolver,
  collection: string,
  sub: string,
  grantees: string[],
  classifications: string[],
): Fragment {
  const owner = resolve("owner");
  const visibility = resolve("visibility");
  const classification = resolve("classification");
  const id = resolve("id");
  const shared = frag(
    `(${visibility.sql} = 'shared' AND ${id.sql} IN (SELECT ${ident("record_id")} FROM ${ident("shares")} WHERE ${ident("collection")} = ? AND ${ident("principal")} IN (${grantees.map(() => "?").join(", ")})))`,
    [...visibility.params, ...id.params, collection, ...grantees],
  );
  return frag(
    `(${owner.sql} = ? OR ((${visibility.sql} = 'public' OR ${shared.sql}) AND ${classification.sql} IN (${classifications.map(() => "?").join(", ")})))`,
    [...owner.params, sub, ...visibility.params, ...shared.params, ...classification.params, ...classifications],
  );
}

/** Counts shares of a record granted to any of `grantees` (write shares only when asked). */
export function shareCount(collection: string, recordId: string, grantees: string[], writeOnly: boolean): Statement {
  const write = writeOnly ? ` AND ${ident("permission")} = 'write'` : "";
  return statement(
    `SELECT count(*) AS n FROM ${ident("shares")} WHERE ${ident("collection")} = ? AND ${ident("record_id")} = ?${write} AND ${ident("principal")} IN (${grantees.map(() => "?").join(", ")})`,
    [collection, recordId, ...grantees],
  );
}

/** Ids of soft-deleted records deleted before `cutoff`, oldest first. */
export const purgeableIds = (collection: string, cutoff: string, limit: number) =>
  statement(
    `SELECT ${ident("id")} FROM ${collectionTable(collection)} WHERE ${ident("deleted_at")} IS NOT NULL AND ${ident("deleted_at")} < ? ORDER BY ${ident("deleted_at")} LIMIT ?`,
    [cutoff, limit],
  );

/** A page of a collection's raw rows (deleted ones included) by id, for export bundles. */
export const exportRows = (collection: string, afterId: string, limit: number) =>
  statement(`SELECT * FROM ${collectionTable(collection)} WHERE ${ident("id")} > ? ORDER BY ${ident("id")} LIMIT ?`, [
    afterId,
    limit,
  ]);

/** INSERT into a system table with the given columns (names validated like any identifier). */
export function insertInto(table: "files", row: Record<string, SqlStorageValue>): Statement {
  const names = Object.keys(row);
  return statement(
    `INSERT INTO ${ident(table)} (${names.map(ident).join(", ")}) VALUES (${names.map(() => "?").join(", ")})`,
    names.map((n) => row[n] as SqlStorageValue),
  );
}

/** How a data subject is found in a collection: their ids, and pii values that name them. */
export interface SubjectMatch {
  sub: string;
  actor: string;
  /** Lower-cased identifiers (the id, the member's email) compared with plain pii columns. */
  values: string[];
  /** Plain pii columns, and the JSON paths of every name a pii value was stored under. */
  piiColumns: string[];
  piiPaths: string[];
  /** Encrypted pii fields: their blind-index columns and the identifiers' tokens. */
  sealed: { column: string; tokens: string[] }[];
}

const marks = (values: unknown[]) => values.map(() => "?").join(", ");

/**
 * Ids of the records that held a subject's data: owned, created or changed by them (now or in any
 * version), or with a pii value (now or in any version) equal to one of their identifiers.
 */
export function subjectRecordIds(collection: string, m: SubjectMatch): Statement {
  const live = [`${ident("owner")} = ?`, `${ident("created_by")} = ?`, `${ident("updated_by")} = ?`];
  const liveParams: SqlStorageValue[] = [m.sub, m.actor, m.actor];
  for (const c of m.piiColumns) {
    live.push(`lower(${ident(c)}) IN (${marks(m.values)})`);
    liveParams.push(...m.values);
  }
  for (const s of m.sealed) {
    if (s.tokens.length === 0) continue;
    live.push(`${ident(s.column)} IN (${marks(s.tokens)})`);
    liveParams.push(...s.tokens);
  }
  const data = ident("data");
  const past = [`${ident("actor")} = ?`, `json_extract(${data}, '$.owner') = ?`];
  const pastParams: SqlStorageValue[] = [m.actor, m.sub];
  for (const path of m.piiPaths) {
    past.push(`lower(json_extract(${data}, ?)) IN (${marks(m.values)})`);
    pastParams.push(path, ...m.values);
  }
  return statement(
    `SELECT ${ident("id")} FROM ${collectionTable(collection)} WHERE ${live.join(" OR ")}
     UNION SELECT ${ident("record_id")} FROM ${ident("record_versions")} WHERE ${ident("collection")} = ? AND (${past.join(" OR ")})`,
    [...liveParams, collection, ...pastParams],
  );
}

/** Replaces one value of an id column (owner, created_by, updated_by) everywhere in a collection. */
export function replaceInColumn(collection: string, column: string, from: string, to: string): Statement {
  return statement(`UPDATE ${collectionTable(collection)} SET ${ident(column)} = ? WHERE ${ident(column)} = ?`, [
    to,
    from,
  ]);
}

/** Blanks the given fields (and their old names) in every version snapshot of one record. */
export function scrubVersions(collection: string, recordId: string, jsonPaths: string[]): Statement {
  return statement(
    `UPDATE ${ident("record_versions")} SET ${ident("data")} = json_set(${ident("data")}, ${jsonPaths.map(() => "?, NULL").join(", ")}) WHERE ${ident("collection")} = ? AND ${ident("record_id")} = ?`,
    [...jsonPaths, collection, recordId],
  );
}

export type Aggregate = "count" | "sum" | "min" | "max";

/** A read-only aggregate over a collection's live records, optionally grouped by one field. */
export function aggregateStatement(
  collection: string,
  aggregate: Aggregate,
  field: string | null,
  groupBy: string | null,
): Statement {
  const fn = { count: "count", sum: "sum", min: "min", max: "max" }[aggregate];
  const value = aggregate === "count" ? "count(*)" : `${fn}(${ident(field as string)})`;
  const live = `${ident("deleted_at")} IS NULL`;
  if (!groupBy) return statement(`SELECT ${value} AS value FROM ${collectionTable(collection)} WHERE ${live}`);
  return statement(
    `SELECT ${ident(groupBy)} AS grp, ${value} AS value FROM ${collectionTable(collection)} WHERE ${live} GROUP BY ${ident(groupBy)} ORDER BY ${ident(groupBy)} LIMIT 1000`,
  );
}

/** A page of a collection's rows by id, for re-encryption. */
export const rowsAfter = (collection: string, afterId: string, limit: number) =>
  statement(`SELECT * FROM ${collectionTable(collection)} WHERE ${ident("id")} > ? ORDER BY ${ident("id")} LIMIT ?`, [
    afterId,
    limit,
  ]);
