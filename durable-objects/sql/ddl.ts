// DDL for a tenant's collection tables: create, alter, index, drop (names through identifiers.ts).
import { collectionTable, ident, indexName, type Statement, statement } from "./identifiers";

export type ColumnType = "TEXT" | "INTEGER" | "REAL";

export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

export function createTable(collection: string, columns: ColumnSpec[]): Statement {
  const user = columns.map((c) => `${ident(c.name)} ${c.type}`);
  const cols = [
    `${ident("id")} TEXT PRIMARY KEY NOT NULL`,
    `${ident("version")} INTEGER NOT NULL`,
    `${ident("created_at")} TEXT NOT NULL`,
    `${ident("updated_at")} TEXT NOT NULL`,
    `${ident("deleted_at")} TEXT`,
    `${ident("created_by")} TEXT NOT NULL`,
    `${ident("updated_by")} TEXT NOT NULL`,
    `${ident("owner")} TEXT`,
    `${ident("visibility")} TEXT`,
    `${ident("classification")} TEXT`,
    ...user,
  ];
  return statement(`CREATE TABLE ${collectionTable(collection)} (${cols.join(", ")}) STRICT`);
}

export const dropTable = (collection: string) => statement(`DROP TABLE IF EXISTS ${collectionTable(collection)}`);

export const addColumn = (collection: string, c: ColumnSpec) =>
  statement(`ALTER TABLE ${collectionTable(collection)} ADD COLUMN ${ident(c.name)} ${c.type}`);

export const renameColumn = (collection: string, from: string, to: string) =>
  statement(`ALTER TABLE ${collectionTable(collection)} RENAME COLUMN ${ident(from)} TO ${ident(to)}`);

export const dropColumn = (collection: string, name: string) =>
  statement(`ALTER TABLE ${collectionTable(collection)} DROP COLUMN ${ident(name)}`);

/** An index over live rows (soft-deleted rows never block a unique value). */
export function createIndex(collection: string, name: string, columns: string[], unique: boolean): Statement {
  const cols = columns.map(ident).join(", ");
  return statement(
    `CREATE ${unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${indexName(collection, name)} ON ${collectionTable(collection)} (${cols}) WHERE ${ident("deleted_at")} IS NULL`,
  );
}

export const dropIndex = (collection: string, name: string) =>
  statement(`DROP INDEX IF EXISTS ${indexName(collection, name)}`);

export function insertRow(collection: string, row: Record<string, SqlStorageValue>, returning = false): Statement {
  const names = Object.keys(row);
  return statement(
    `INSERT INTO ${collectionTable(collection)} (${names.map(ident).join(", ")}) VALUES (${names.map(() => "?").join(", ")})${returning ? " RETURNING *" : ""}`,
    names.map((n) => row[n] as SqlStorageValue),
  );
}

/** UPDATE ... SET ... WHERE id = ? (and version = ? when guarded). */
export function updateRow(
  collection: string,
  id: string,
  set: Record<string, SqlStorageValue>,
  expectedVersion?: number,
): Statement {
  const names = Object.keys(set);
  const guard = expectedVersion === undefined ? "" : ` AND ${ident("version")} = ?`;
  const params: SqlStorageValue[] = [...names.map((n) => set[n] as SqlStorageValue), id];
  if (expectedVersion !== undefined) params.push(expectedVersion);
  return statement(
    `UPDATE ${collectionTable(collection)} SET ${names.map((n) => `${ident(n)} = ?`).join(", ")} WHERE ${ident("id")} = ?${guard}`,
    params,
  );
}

export const deleteRow = (collection: string, id: string) =>
  statement(`DELETE FROM ${collectionTable(collection)} WHERE ${ident("id")} = ?`, [id]);

export const selectById = (collection: string, id: string) =>
  statement(`SELECT * FROM ${collectionTable(collection)} WHERE ${ident("id")} = ?`, [id]);

export const countRows = (collection: string) => statement(`SELECT count(*) AS n FROM ${collectionTable(collection)}`);
