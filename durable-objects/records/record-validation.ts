// Runtime validation of record writes, built with zod from the collection's definition: unknown
// and system fields, wrong types and missing required fields are refused with the field named.

import { z } from "zod";
import type { CollectionDef, FieldDef } from "../collections/collection-schema";
import { CLASSIFICATIONS } from "../contract/access";
import { type Failure, fail, failFromZod, ok, type Result } from "../contract/result";
import { SQL_LIMITS } from "../sql/identifiers";

export type WriteMode = "create" | "put" | "patch";

const VISIBILITY = ["private", "shared", "public"] as const;

function valueSchema(f: FieldDef): z.ZodType {
  switch (f.type) {
    case "string":
      return z.string().max(f.maxLength ?? 10_000);
    case "text":
      return z.string().max(f.maxLength ?? SQL_LIMITS.rowBytes / 2);
    case "integer":
      return z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
    case "number":
      return z.number().finite();
    case "boolean":
      return z.boolean();
    case "datetime":
      return z.iso.datetime({ offset: true });
    case "json":
      return z.json();
    case "enum":
      return z.enum(f.values as [string, ...string[]]);
    case "ref":
      return z.string().min(1).max(64);
  }
}

export function fieldValueSchema(f: FieldDef): z.ZodType {
  return valueSchema(f);
}

// Built once per definition and mode: a definition is never changed in place (a collection
// change makes a new one), so the definition object is the key. Building it was ~7% of a write.
// Tenants mostly share their definitions, so the schemas are shared by the definition's text
// across the isolate's objects (a resident object kept ~11 zod schemas of its own before).
const schemas = new WeakMap<CollectionDef, Map<WriteMode, z.ZodType>>();
const byText = new Map<string, Map<WriteMode, z.ZodType>>();
const MAX_SHARED_DEFINITIONS = 500;

function schemaFor(def: CollectionDef, mode: WriteMode): z.ZodType {
  let byMode = schemas.get(def);
  if (!byMode) {
    const text = JSON.stringify(def);
    byMode = byText.get(text);
    if (!byMode) {
      if (byText.size >= MAX_SHARED_DEFINITIONS) byText.clear();
      byMode = new Map();
      byText.set(text, byMode);
    }
    schemas.set(def, byMode);
  }
  let schema = byMode.get(mode);
  if (!schema) {
    schema = buildSchema(def, mode);
    byMode.set(mode, schema);
  }
  return schema;
}

function buildSchema(def: CollectionDef, mode: WriteMode) {
  const shape: Record<string, z.ZodType> = {};
  for (const f of def.fields) {
    const base = valueSchema(f);
    const mustHave = f.required && mode !== "patch" && f.default === undefined;
    shape[f.name] = mustHave ? base : f.required ? base.optional() : base.nullable().optional();
  }
  if (def.acl) {
    shape.visibility = z.enum(VISIBILITY).optional();
    shape.classification = z.enum(CLASSIFICATIONS).optional();
  }
  return z.strictObject(shape);
}

export function validateWrite(def: CollectionDef, mode: WriteMode, body: unknown): Result<Record<string, unknown>> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail("validation_failed", "A record is a JSON object.");
  }
  const parsed = schemaFor(def, mode).safeParse(body);
  if (!parsed.success) return describe(parsed.error);
  const data: Record<string, unknown> = { ...(parsed.data as Record<string, unknown>) };
  if (mode !== "patch") {
    for (const f of def.fields) if (data[f.name] === undefined && f.default !== undefined) data[f.name] = f.default;
  }
  if (JSON.stringify(data).length > SQL_LIMITS.rowBytes) {
    return fail("payload_too_large", `A record is limited to ${SQL_LIMITS.rowBytes} bytes.`);
  }
  return ok(data);
}

const describe = (error: z.ZodError): Failure => failFromZod(error, "record");

/** Validates a default against its field, for collection definitions. */
export function defaultProblem(f: FieldDef): string | null {
  if (f.default === undefined || f.default === null) return null;
  return valueSchema(f).safeParse(f.default).success ? null : `Default of '${f.name}' does not match its type.`;
}
