// Collection definitions: the field types and options a tenant can declare, how they map to
// SQLite columns, and the rules a definition or a change to it must keep.
import { z } from "zod";
import type { Json } from "../contract/result";
import { JsonValueSchema } from "../contract/result";
import { blindColumn } from "../crypto/field-cipher";
import { type ColumnSpec, type ColumnType, isIdentifier, SQL_LIMITS, SYSTEM_COLUMNS } from "../sql/sql-builder";

export const FIELD_TYPES = [
  "string",
  "text",
  "integer",
  "number",
  "boolean",
  "datetime",
  "json",
  "enum",
  "ref",
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

const Name = z.string().refine(isIdentifier, {
  message: "must match ^[a-z][a-z0-9_]{0,62}$ and not be a reserved name",
});

export const FieldSchema = z
  .strictObject({
    name: Name,
    type: z.enum(FIELD_TYPES),
    required: z.boolean().optional(),
    unique: z.boolean().optional(),
    indexed: z.boolean().optional(),
    searchable: z.boolean().optional(),
    pii: z.boolean().optional(),
    encrypted: z.boolean().optional(),
    default: JsonValueSchema.optional(),
    values: z.array(z.string().min(1).max(200)).min(1).max(200).optional(),
    collection: Name.optional(),
    maxLength: z.number().int().min(1).max(1_000_000).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.type === "enum" && !f.values)
      ctx.addIssue({ code: "custom", message: "enum fields list their values", path: ["values"] });
    if (f.type === "ref" && !f.collection)
      ctx.addIssue({ code: "custom", message: "ref fields name a collection", path: ["collection"] });
    if (f.searchable && !["string", "text", "enum"].includes(f.type)) {
      ctx.addIssue({
        code: "custom",
        message: "only string, text and enum fields can be searchable",
        path: ["searchable"],
      });
    }
    if (f.searchable && f.pii) {
      ctx.addIssue({
        code: "custom",
        message: "pii fields cannot be searchable (snippets would reveal them)",
        path: ["searchable"],
      });
    }
    if (f.encrypted && f.searchable) {
      ctx.addIssue({ code: "custom", message: "encrypted fields cannot be searchable", path: ["searchable"] });
    }
  });

/** A field's definition; `default` typed as the contract's JSON (zod's own JSON type is too deep for Hono's). */
export type FieldDef = Omit<z.infer<typeof FieldSchema>, "default"> & { default?: Json };

export interface IndexDef {
  name: string;
  fields: string[];
  unique: boolean;
}

export const IndexSchema = z.strictObject({
  name: Name,
  fields: z.array(Name).min(1).max(8),
  unique: z.boolean().default(false),
});

export interface CollectionDef {
  name: string;
  fields: FieldDef[];
  acl: boolean;
  indexes: IndexDef[];
  /** Old field name → current name, so history and exports written under old names stay readable. */
  renames: Record<string, string>;
  /**
   * Names under which dropped pii fields' values remain in version snapshots (history, as_of):
   * they stay masked for callers without pii:read and are reached by erasure.
   */
  formerPii?: string[];
}

/** User fields a table can hold next to the system columns. */
export const MAX_FIELDS = SQL_LIMITS.columnsPerTable - SYSTEM_COLUMNS.length;

export const CreateCollectionSchema = z.strictObject({
  name: Name,
  fields: z.array(FieldSchema).max(MAX_FIELDS),
  acl: z.boolean().default(false),
  indexes: z.array(IndexSchema).max(20).default([]),
});

export const PatchCollectionSchema = z.strictObject({
  add: z.array(FieldSchema).max(MAX_FIELDS).optional(),
  rename: z.record(Name, Name).optional(),
  drop: z.array(Name).max(MAX_FIELDS).optional(),
  addIndex: z.array(IndexSchema).max(20).optional(),
  dropIndex: z.array(Name).max(20).optional(),
});

export type PatchCollection = z.infer<typeof PatchCollectionSchema>;

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
