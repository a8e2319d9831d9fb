// SQL identifiers: the one place names become SQL. A name is validated against a strict pattern,
// refused when reserved, and always double-quoted; a statement carries every value as a bound
// parameter and never contains ';', so sql.exec's multi-statement behaviour is unreachable.
// ddl.ts and select.ts build statements only from these.

export const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;

/** Platform limits of Durable Object SQLite. */
export const SQL_LIMITS = {
  columnsPerTable: 100,
  boundParameters: 100,
  rowBytes: 2 * 1024 * 1024,
  statementBytes: 100 * 1024,
  likePatternBytes: 50,
} as const;

/** System columns of every collection table. */
export const SYSTEM_COLUMNS = [
  "id",
  "version",
  "created_at",
  "updated_at",
  "deleted_at",
  "created_by",
  "updated_by",
  "owner",
  "visibility",
  "classification",
] as const;

const SYSTEM_TABLES = new Set([
  "meta",
  "members",
  "roles",
  "audit_events",
  "collections",
  "record_versions",
  "shares",
  "idempotency_keys",
  "usage_counters",
  "api_keys",
  "files",
  "search_index",
  "change_events",
]);

/** Names a tenant may not give a collection or field. */
const RESERVED = new Set<string>([
  ...SYSTEM_COLUMNS,
  ...SYSTEM_TABLES,
  "createdat",
  "updatedat",
  "deletedat",
  "rowid",
  "oid",
  "_rowid_",
]);

export class SqlIdentifierError extends Error {}

export function isIdentifier(name: unknown): name is string {
  return typeof name === "string" && IDENTIFIER.test(name) && !isReserved(name);
}

export function isReserved(name: string): boolean {
  // "__" is kept for derived columns (a field's blind index is "<field>__bi").
  return RESERVED.has(name) || name.startsWith("sqlite_") || name.startsWith("_cf_") || name.includes("__");
}

/** A validated, quoted identifier. Throws for anything else: a bug, since callers validate first. */
export function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new SqlIdentifierError(`invalid identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** A system column by name (the list above is the allow-list). */
export function systemColumn(name: (typeof SYSTEM_COLUMNS)[number]): string {
  return ident(name);
}

/** The table holding a collection's records: "c_<name>" keeps tenant tables apart from system ones. */
export function collectionTable(collection: string): string {
  if (!isIdentifier(collection)) throw new SqlIdentifierError(`invalid collection: ${JSON.stringify(collection)}`);
  return ident(collectionTableId(collection));
}

/** A collection's table name unquoted (as sqlite_master holds it). */
export const collectionTableId = (collection: string) => `c_${collection}`.slice(0, 63);

export function indexName(collection: string, suffix: string): string {
  return ident(indexId(collection, suffix));
}

/** An index's name unquoted (as sqlite_master holds it). */
export const indexId = (collection: string, suffix: string) => `i_${collection}_${suffix}`.slice(0, 63);

/**
 * Whether a derived name (a collection's table, an index, a blind column) is whole. Names that
 * would be cut short are refused when a definition is made: two names cut alike would share one
 * table or index (older definitions keep the cut names they were made with).
 */
export const derivedFits = (name: string) => name.length <= 63;

/** A statement and its bound values. */
export interface Statement {
  sql: string;
  params: SqlStorageValue[];
}

export function statement(sql: string, params: SqlStorageValue[] = []): Statement {
  if (sql.includes(";")) throw new SqlIdentifierError("statements never contain ';'");
  if (sql.length > SQL_LIMITS.statementBytes) throw new SqlIdentifierError("statement too long");
  if (params.length > SQL_LIMITS.boundParameters) throw new SqlIdentifierError("too many bound parameters");
  return { sql, params };
}

export function exec<T extends Record<string, SqlStorageValue>>(sql: SqlStorage, s: Statement): SqlStorageCursor<T> {
  return sql.exec<T>(s.sql, ...s.params);
}
