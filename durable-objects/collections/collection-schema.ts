// Collection definitions: the field types and options a tenant can declare, how they map to
// SQLite columns, and the rules a definition or a change to it must keep.
import type { z } from "zod";
import { type FieldSchema, type FieldType, MAX_FIELDS } from "../contract/collections";
import type { Json } from "../contract/result";
import { blindColumn } from "../crypto/field-cipher";
import type { ColumnSpec, ColumnType } from "../sql/ddl";
import { derivedFits } from "../sql/identifiers";

/** A field's definition; `default` typed as the contract's JSON (zod's own JSON type is too deep for Hono's). */
export type FieldDef = Omit<z.infer<typeof FieldSchema>, "default"> & { default?: Json };

export interface IndexDef {
  name: string;
  fields: string[];
  unique: boolean;
}

export interface CollectionDef {
  name: string;
  fields: FieldDef[];
  acl: boolean;
  /** Reference data for descendant tenants (GET /v1/reference/…); absent in older definitions. */
  shared?: boolean;
  /** Reads are audited (record.read events, buffered): set on create or by PATCH. */
  auditReads?: boolean;
  indexes: IndexDef[];
  /** Old field name → current name, so history and exports written under old names stay readable. */
  renames: Record<string, string>;
  /**
   * Names under which dropped pii fields' values remain in version snapshots (history, as_of):
   * they stay masked for callers without pii:read and are reached by erasure.
   */
  formerPii?: string[];
}

const COLUMN_TYPE: Record<FieldType, ColumnType> = {
  string: "TEXT",
  text: "TEXT",
  integer: "INTEGER",
  number: "REAL",
  boolean: "INTEGER",
  datetime: "TEXT",
  json: "TEXT",
  enum: "TEXT",
  ref: "TEXT",
};

/** A field's columns: its value (ciphertext for encrypted fields) and, if encrypted, its blind index. */
export function columnsOf(f: FieldDef): ColumnSpec[] {
  if (!f.encrypted) return [{ name: f.name, type: COLUMN_TYPE[f.type] }];
  return [
    { name: f.name, type: "TEXT" },
    { name: blindColumn(f.name), type: "TEXT" },
  ];
}

/** The column an index over this field uses (the blind index for encrypted fields). */
export function indexColumn(def: CollectionDef, field: string): string {
  return def.fields.find((f) => f.name === field)?.encrypted ? blindColumn(field) : field;
}

/** Checks a whole definition: unique names, field count, index fields exist. Null when fine. */
export function definitionProblem(def: CollectionDef): string | null {
  const names = new Set<string>();
  for (const f of def.fields) {
    if (names.has(f.name)) return `Field '${f.name}' is declared twice.`;
    names.add(f.name);
  }
  const columns = def.fields.reduce((n, f) => n + (f.encrypted ? 2 : 1), 0);
  if (columns > MAX_FIELDS) return `A collection holds at most ${MAX_FIELDS} columns (encrypted fields take two).`;
  if (!derivedFits(`c_${def.name}`)) return "A collection's name is at most 61 characters.";
  for (const f of def.fields) {
    if (f.encrypted && !derivedFits(blindColumn(f.name))) {
      return `Encrypted field '${f.name}': an encrypted field's name is at most 59 characters.`;
    }
    if ((f.unique || f.indexed) && !derivedFits(`i_${def.name}_f_${f.name}`)) {
      return `Field '${f.name}' is indexed: its name and the collection's are at most 58 characters together.`;
    }
  }
  for (const ix of def.indexes) {
    if (!derivedFits(`i_${def.name}_x_${ix.name}`)) {
      return `Index '${ix.name}': its name and the collection's are at most 58 characters together.`;
    }
  }
  const indexNames = new Set<string>();
  for (const ix of def.indexes) {
    if (indexNames.has(ix.name)) return `Index '${ix.name}' is declared twice.`;
    indexNames.add(ix.name);
    for (const field of ix.fields) if (!names.has(field)) return `Index '${ix.name}' names unknown field '${field}'.`;
  }
  return null;
}

/**
 * Every name under which version snapshots may hold pii: current pii fields with their old names,
 * and the names of dropped pii fields.
 */
export function piiNames(def: CollectionDef): string[] {
  const names = def.fields.filter((f) => f.pii).flatMap((f) => aliasesOf(def, f.name));
  return [...new Set([...names, ...(def.formerPii ?? [])])];
}

/** The old names a current field was known by (for reading old versions). */
export function aliasesOf(def: CollectionDef, field: string): string[] {
  const names = [field];
  for (let changed = true; changed; ) {
    changed = false;
    for (const [from, to] of Object.entries(def.renames)) {
      if (names.includes(to) && !names.includes(from)) {
        names.push(from);
        changed = true;
      }
    }
  }
  return names;
}
