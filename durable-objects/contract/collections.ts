// Collection views: a collection's definition as the API answers it.
import { z } from "zod";
import { isIdentifier, SQL_LIMITS, SYSTEM_COLUMNS } from "../sql/identifiers";
import { JsonValueSchema } from "./result";

export const CollectionSchema = z.object({
  name: z.string(),
  fields: z.array(z.record(z.string(), JsonValueSchema)),
  acl: z.boolean(),
  /** Reference data: readable (never writable) by the members of descendant tenants. */
  shared: z.boolean().optional(),
  auditReads: z.boolean().optional(),
  indexes: z.array(z.object({ name: z.string(), fields: z.array(z.string()), unique: z.boolean() })),
  renames: z.record(z.string(), z.string()),
  /** Names under which history still holds values of pii fields since dropped (masked like pii). */
  formerPii: z.array(z.string()).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

// ---- Inputs: a collection's definition and changes to it ----

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

export const IndexSchema = z.strictObject({
  name: Name,
  fields: z.array(Name).min(1).max(8),
  unique: z.boolean().default(false),
});

/** User fields a table can hold next to the system columns. */
export const MAX_FIELDS = SQL_LIMITS.columnsPerTable - SYSTEM_COLUMNS.length;

export const CreateCollectionSchema = z.strictObject({
  name: Name,
  fields: z.array(FieldSchema).max(MAX_FIELDS),
  acl: z.boolean().default(false),
  shared: z.boolean().default(false),
  /** Reads and lists of this collection land in the audit trail (record.read). */
  auditReads: z.boolean().optional(),
  indexes: z.array(IndexSchema).max(20).default([]),
});

export const PatchCollectionSchema = z.strictObject({
  add: z.array(FieldSchema).max(MAX_FIELDS).optional(),
  rename: z.record(Name, Name).optional(),
  drop: z.array(Name).max(MAX_FIELDS).optional(),
  addIndex: z.array(IndexSchema).max(20).optional(),
  dropIndex: z.array(Name).max(20).optional(),
  auditReads: z.boolean().optional(),
});

export type PatchCollection = z.infer<typeof PatchCollectionSchema>;
