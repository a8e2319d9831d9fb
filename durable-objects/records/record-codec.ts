// Converts between a collection table's rows and the API's records, and builds the snapshots
// kept in the data vault (record_versions).

import { maskValue } from "../access/masking";
import type { CollectionDef, FieldDef } from "../collections/collection-schema";
import { nameTable } from "../contract/name-table";
import type { ApiRecord } from "../contract/records";
import type { Json } from "../contract/result";
import { blindColumn } from "../crypto/field-cipher";
import type { Store } from "../db/store";

export type Row = Record<string, SqlStorageValue>;

/** API names of the system fields, and their columns. */
export const SYSTEM_FIELDS: Record<string, string> = nameTable({
  id: "id",
  version: "version",
  createdAt: "created_at",
  updatedAt: "updated_at",
});
export const ACL_FIELDS: Record<string, string> = nameTable({
  owner: "owner",
  visibility: "visibility",
  classification: "classification",
});

export function encodeValue(field: FieldDef, value: unknown): SqlStorageValue {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case "boolean":
      return value ? 1 : 0;
    case "json":
      return JSON.stringify(value);
    default:
      return value as SqlStorageValue;
  }
}

/** Column values for the given fields of `data`: encrypted fields become ciphertext + blind index. */
export function encodeFields(
  store: Store,
  def: CollectionDef,
  data: Record<string, unknown>,
): Record<string, SqlStorageValue> {
  const cols: Record<string, SqlStorageValue> = {};
  for (const f of def.fields) {
    if (!(f.name in data)) continue;
    const value = data[f.name];
    if (!f.encrypted) {
      cols[f.name] = encodeValue(f, value);
    } else if (value === null || value === undefined) {
      cols[f.name] = null;
      cols[blindColumn(f.name)] = null;
    } else {
      const cipher = store.cipher();
      cols[f.name] = cipher.encrypt(value);
      cols[blindColumn(f.name)] = cipher.blindIndex(def.name, f.name, value);
    }
  }
  return cols;
}

/** A column's value as JSON: tenant tables hold text, numbers and nulls, never blobs. */
const json = (value: SqlStorageValue | undefined): Json =>
  value === undefined || value instanceof ArrayBuffer ? null : value;

export function decodeValue(field: FieldDef, value: Json | SqlStorageValue | undefined): Json {
  if (value === null || value === undefined || value instanceof ArrayBuffer) return null;
  if (field.encrypted) return value; // stays ciphertext until present() decrypts it for a reader
  switch (field.type) {
    case "boolean":
      return value === 1 || value === true;
    case "json":
      return typeof value === "string" ? JSON.parse(value) : value;
    default:
      return value;
  }
}

/** A full, unmasked record from a table row (the form stored in version snapshots). */
export function rowToRecord(def: CollectionDef, row: Row): ApiRecord {
  const rec: ApiRecord = {
    id: json(row.id),
    version: json(row.version),
    createdAt: json(row.created_at),
    updatedAt: json(row.updated_at),
  };
  if (def.acl) {
    rec.owner = json(row.owner);
    rec.visibility = json(row.visibility);
    rec.classification = json(row.classification);
  }
  if (row.deleted_at) rec.deletedAt = json(row.deleted_at);
  for (const f of def.fields) rec[f.name] = decodeValue(f, row[f.name]);
  return rec;
}

/** Maps a snapshot written under old field names to the current names. */
export function renameSnapshot(def: CollectionDef, data: ApiRecord): ApiRecord {
  const out: ApiRecord = {};
  for (const [key, value] of Object.entries(data)) {
    let name = key;
    for (let hops = 0; Object.hasOwn(def.renames, name) && hops < 64; hops++) name = def.renames[name] as string;
    if (!(name in out) || key === name) out[name] = value;
  }
  return out;
}

export interface ViewOptions {
  maskPii: boolean;
  fields?: string[] | null;
  /** Decrypts encrypted fields for the reader (absent: they are left out). */
  decrypt?: (sealed: Json | undefined) => Json;
}

/** What a caller sees: pii masked without pii:read, projected to `fields` (id always kept). */
export function present(def: CollectionDef, rec: ApiRecord, opts: ViewOptions): ApiRecord {
  let out = rec;
  if (opts.maskPii || def.fields.some((f) => f.encrypted)) {
    out = { ...rec };
    for (const f of def.fields) {
      if (!(f.name in out)) continue;
      if (f.encrypted) out[f.name] = opts.decrypt ? opts.decrypt(out[f.name]) : null;
      if (f.pii && opts.maskPii) out[f.name] = maskValue(out[f.name]);
    }
    // Snapshots (history, as_of) still hold the values of dropped pii fields.
    if (opts.maskPii) for (const name of def.formerPii ?? []) if (name in out) out[name] = maskValue(out[name]);
  }
  if (opts.fields?.length) {
    const picked: ApiRecord = { id: out.id ?? null };
    for (const name of opts.fields) if (name in out) picked[name] = out[name] ?? null;
    return picked;
  }
  return out;
}
