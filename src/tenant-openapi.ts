// A tenant's own API document (GET /v1/openapi.json with a tenant credential): its data plane
// with one schema per collection, built from the collections' definitions, so a generator such
// as openapi-typescript makes a client typed by the tenant's own fields. Per caller: a pii field
// is typed as the masked string it reads as for a caller without pii:read.

import type { z } from "zod";
import { FieldSchema } from "../durable-objects/contract/collections";
import { nameTable } from "../durable-objects/contract/name-table";

type Schema = Record<string, unknown>;
type Field = z.infer<typeof FieldSchema>;
interface Collection {
  name: string;
  acl: boolean;
  fields: Record<string, unknown>[];
}

const problem = { $ref: "#/components/schemas/Problem" };
const problems = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      { description: "A problem (RFC 9457)", content: { "application/problem+json": { schema: problem } } },
    ]),
  );

/** The JSON schema of one field's value (null allowed unless the field is required). */
function valueSchema(f: Field, masked: boolean): Schema {
  const nullable = (type: string) => (f.required ? type : [type, "null"]);
  if (masked)
    return { type: nullable("string"), description: "pii: masked for this caller (e.g. a***@example.com, ***)" };
  switch (f.type) {
    case "string":
    case "text":
      return { type: nullable("string"), ...(f.maxLength ? { maxLength: f.maxLength } : {}) };
    case "integer":
      return { type: nullable("integer") };
    case "number":
      return { type: nullable("number") };
    case "boolean":
      return { type: nullable("boolean") };
    case "datetime":
      return { type: nullable("string"), format: "date-time" };
    case "enum":
      return { type: nullable("string"), enum: f.required ? f.values : [...(f.values ?? []), null] };
    case "ref":
      return { type: nullable("string"), description: `The id of a record of ${f.collection}.` };
    default:
      return { description: "Any JSON value." };
  }
}

const SYSTEM: Record<string, Schema> = nameTable({
  id: { type: "string", readOnly: true },
  version: { type: "integer", readOnly: true },
  createdAt: { type: "string", format: "date-time", readOnly: true },
  updatedAt: { type: "string", format: "date-time", readOnly: true },
  deletedAt: { type: "string", format: "date-time", readOnly: true },
});
const ACL: Record<string, Schema> = nameTable({
  visibility: { type: "string", enum: ["private", "shared", "public"] },
  classification: { type: "string", enum: ["public", "internal", "confidential", "restricted"] },
});

const fieldsOf = (c: Collection): Field[] =>
  c.fields.flatMap((raw) => {
    const parsed = FieldSchema.safeParse(raw);
    return parsed.success ? [parsed.data] : [];
  });

function schemasOf(c: Collection, piiRead: boolean): Record<string, Schema> {
  const fields = fieldsOf(c);
  const read: Record<string, Schema> = { ...SYSTEM };
  const write: Record<string, Schema> = {};
  if (c.acl) {
    read.owner = { type: "string", readOnly: true };
    Object.assign(read, ACL);
    Object.assign(write, ACL);
  }
  for (const f of fields) {
    read[f.name] = valueSchema(f, Boolean(f.pii) && !piiRead);
    write[f.name] = valueSchema(f, false);
  }
  const mustGive = fields.filter((f) => f.required && f.default === undefined).map((f) => f.name);
  return {
    [c.name]: {
      type: "object",
      description: `A record of ${c.name} as this caller reads it (?fields= may leave fields out; id stays).`,
      properties: read,
      required: ["id"],
      additionalProperties: false,
    },
    [`${c.name}.create`]: {
      type: "object",
      properties: write,
      ...(mustGive.length ? { required: mustGive } : {}),
      additionalProperties: false,
    },
    [`${c.name}.patch`]: { type: "object", properties: write, additionalProperties: false },
  };
}

const json = (schema: Schema, description: string) => ({ description, content: { "application/json": { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function pathsOf(c: Collection): Record<string, unknown> {
  const page = {
    type: "object",
    properties: { items: { type: "array", items: ref(c.name) }, nextCursor: { type: ["string", "null"] } },
    required: ["items", "nextCursor"],
  };
  const id = { name: "id", in: "path", required: true, schema: { type: "string" } };
  const query = (name: string, description: string) => ({
    name,
    in: "query",
    required: false,
    description,
    schema: { type: "string" },
  });
  const ifMatch = { name: "If-Match", in: "header", required: false, schema: { type: "string" } };
  const body = (name: string) => ({ required: true, content: { "application/json": { schema: ref(name) } } });
  const common = problems(400, 401, 403, 404, 429);
  const filters = fieldsOf(c).map((f) => query(f.name, "A filter: {op}.{value}, e.g. eq.5, gt.3, in.a,b, is.null."));
  const groups = {
    type: "object",
    properties: {
      items: {
        type: "array",
        items: {
          type: "object",
          properties: { group: {}, value: { type: ["number", "null"] } },
          required: ["group", "value"],
        },
      },
      nextCursor: { type: "null" },
    },
    required: ["items", "nextCursor"],
  };
  return {
    [`/v1/collections/${c.name}/aggregate`]: {
      get: {
        operationId: `aggregate_${c.name}`,
        parameters: [
          { ...query("metric", "count, sum:f, avg:f, min:f or max:f."), required: true },
          query("groupBy", "A field, day(f) or month(f) (UTC)."),
          query("limit", "At most this many groups (1-1000); more is a 400."),
          ...filters,
        ],
        responses: { 200: json(groups, `Groups of ${c.name} the caller may read.`), ...common },
      },
    },
    [`/v1/collections/${c.name}/records`]: {
      get: {
        operationId: `list_${c.name}`,
        parameters: [
          ...["sort", "fields", "cursor", "limit", "as_of"].map((name) => query(name, "See GET /openapi.json.")),
          ...filters,
        ],
        responses: { 200: json(page, `A page of ${c.name}.`), ...common },
      },
      post: {
        operationId: `create_${c.name}`,
        requestBody: body(`${c.name}.create`),
        responses: { 201: json(ref(c.name), "The new record."), ...common, ...problems(409) },
      },
    },
    [`/v1/collections/${c.name}/records/{id}`]: {
      parameters: [id],
      get: { operationId: `get_${c.name}`, responses: { 200: json(ref(c.name), "The record."), ...common } },
      patch: {
        operationId: `update_${c.name}`,
        parameters: [ifMatch],
        requestBody: body(`${c.name}.patch`),
        responses: { 200: json(ref(c.name), "The record."), ...common, ...problems(409, 412) },
      },
      put: {
        operationId: `replace_${c.name}`,
        parameters: [ifMatch],
        requestBody: body(`${c.name}.create`),
        responses: { 200: json(ref(c.name), "The record."), ...common, ...problems(409, 412) },
      },
      delete: {
        operationId: `delete_${c.name}`,
        parameters: [ifMatch],
        responses: { 200: json(ref(c.name), "The deleted record."), ...common, ...problems(409, 412) },
      },
    },
  };
}

export function tenantDocument(
  tenant: { id: string; name: string },
  collections: Collection[],
  permissions: string[],
): Schema {
  const piiRead = permissions.includes("pii:read");
  return {
    openapi: "3.1.0",
    info: {
      title: `${tenant.name}: data API`,
      version: "1.0.0",
      description: `The records API of tenant ${tenant.id}, typed by its collections (as its caller sees them).`,
    },
    security: [{ bearer: [] }],
    paths: Object.assign({}, ...collections.map(pathsOf)),
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Problem: {
          type: "object",
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            code: { type: "string" },
            requestId: { type: "string" },
          },
          required: ["type", "title", "status", "detail", "code", "requestId"],
        },
        ...Object.assign({}, ...collections.map((c) => schemasOf(c, piiRead))),
      },
    },
  };
}
