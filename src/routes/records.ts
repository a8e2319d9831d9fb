// Records: CRUD with versions, optimistic concurrency (ETag / If-Match), idempotent POSTs,
// history, restore and batches. The tenant's object validates against the collection definition.
import { createRoute, z } from "@hono/zod-openapi";
import { RECORD_ID_PATTERN } from "../../durable-objects/contract/identifiers";
import { ifMatchVersion, notModified } from "../etag";
import {
  bearerSecurity,
  commonErrors,
  conflictError,
  jsonBody,
  jsonResponse,
  listOf,
  newRouter,
  problem,
} from "../openapi";
import { tenantClient } from "../tenant-client";
import { CollectionName } from "./collections";

const RecordSchema = z.record(z.string(), z.unknown()).openapi("Record", {
  example: { id: "0m3k2x9a1b2c3d4e5f6g", version: 1, title: "Hello", createdAt: "2026-11-22T10:00:00.000Z" },
});

const RecordId = z
  .string()
  .regex(RECORD_ID_PATTERN)
  .openapi({ param: { name: "id", in: "path" } });

const Params = z.object({ name: CollectionName });
const IdParams = z.object({ name: CollectionName, id: RecordId });

const ListQuery = z.looseObject({
  sort: z
    .string()
    .optional()
    .openapi({ description: "Comma-separated fields; '-' for descending.", example: "title,-createdAt" }),
  fields: z.string().optional().openapi({ description: "Comma-separated fields to return." }),
  limit: z.string().optional().openapi({ description: "1 to 1000 (default 50)." }),
  cursor: z.string().optional(),
  as_of: z.string().optional().openapi({ description: "ISO time: the records as they were then." }),
  include_deleted: z.enum(["true", "false"]).optional().openapi({ description: "Admins only." }),
});

const WriteHeaders = z.object({
  "if-match": z.string().optional().openapi({ description: 'The version the write expects, e.g. "3".' }),
});

const withETag = { headers: z.object({ ETag: z.string() }) };
const preconditionFailed = {
  412: problem("If-Match does not match the record's version (precondition_failed)."),
};

function etag(record: Record<string, unknown>): Record<string, string> {
  return typeof record.version === "number" ? { ETag: `"${record.version}"` } : {};
}

export const recordRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/collections/{name}/records",
      tags: ["Records"],
      summary: "List records: filters {field}={op}.{value}, sort, fields, cursor, limit, as_of",
      security: bearerSecurity,
      request: { params: Params, query: ListQuery },
      responses: { 200: jsonResponse(listOf(RecordSchema), "A page of records."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      // A plain object: the query map Hono builds has no prototype, which RPC cannot serialize.
      const params = Object.fromEntries(Object.entries(c.req.query()));
      return c.json(await t.call((s, caller) => s.listRecords(caller, c.req.valid("param").name, params)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/collections/{name}/records",
      tags: ["Records"],
      summary: "Create a record",
      security: bearerSecurity,
      request: { params: Params, body: jsonBody(RecordSchema) },
      responses: {
        201: { ...jsonResponse(RecordSchema, "The new record."), ...withETag },
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const body = c.req.valid("json");
      const { name } = c.req.valid("param");
      const record = await t.call((s, caller) => s.createRecord(caller, name, body));
      return c.json(record, 201, etag(record));
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/collections/{name}/records:batch",
      tags: ["Records"],
      summary: "Up to 100 writes in one transaction: all or nothing",
      security: bearerSecurity,
      request: {
        params: Params,
        body: jsonBody(
          z.object({ operations: z.array(z.record(z.string(), z.unknown())).min(1).max(100) }).openapi("Batch", {
            example: {
              operations: [
                { op: "create", data: { title: "a" } },
                { op: "update", id: "0m3k2x9a1b2c3d4e5f6g", data: { title: "b" } },
                { op: "delete", id: "0m3k2x9a1b2c3d4e5f6h" },
              ],
            },
          }),
        ),
      },
      responses: {
        200: jsonResponse(z.object({ results: z.array(RecordSchema) }), "Every operation's record, in order."),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const body = c.req.valid("json");
      const { name } = c.req.valid("param");
      return c.json(await t.call((s, caller) => s.batchRecords(caller, name, body)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/collections/{name}/records/{id}",
      tags: ["Records"],
      summary: "Get a record",
      security: bearerSecurity,
      request: {
        params: IdParams,
        headers: z.object({
          "if-none-match": z.string().optional().openapi({ description: 'A version already held, e.g. "3".' }),
        }),
        query: z.object({ include_deleted: z.enum(["true", "false"]).optional() }),
      },
      responses: {
        200: { ...jsonResponse(RecordSchema, "The record."), ...withETag },
        304: { description: "If-None-Match names the record's current version.", ...withETag },
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { name, id } = c.req.valid("param");
      const includeDeleted = c.req.valid("query").include_deleted === "true";
      const rec = await t.call((s, caller) => s.getRecord(caller, name, id, includeDeleted));
      if (notModified(c.req.header("if-none-match"), rec.version)) return c.body(null, 304, etag(rec));
      return c.json(rec, 200, etag(rec));
    },
  );

for (const method of ["patch", "put"] as const) {
  recordRoutes.openapi(
    createRoute({
      method,
      path: "/v1/collections/{name}/records/{id}",
      tags: ["Records"],
      summary: method === "patch" ? "Change some fields of a record" : "Replace a record's fields",
      security: bearerSecurity,
      request: { params: IdParams, headers: WriteHeaders, body: jsonBody(RecordSchema) },
      responses: {
        200: { ...jsonResponse(RecordSchema, "The record after the change."), ...withETag },
        ...commonErrors,
        ...conflictError,
        ...preconditionFailed,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { name, id } = c.req.valid("param");
      const ifMatch = ifMatchVersion(c.req.header("if-match"));
      const rec = await t.call((s, caller) => s.writeRecord(caller, name, id, c.req.valid("json"), method, ifMatch));
      return c.json(rec, 200, etag(rec));
    },
  );
}

recordRoutes
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/collections/{name}/records/{id}",
      tags: ["Records"],
      summary: "Soft-delete a record (restorable for settings.softDeleteDays)",
      security: bearerSecurity,
      request: { params: IdParams, headers: WriteHeaders },
      responses: { 200: jsonResponse(RecordSchema, "The deleted record."), ...commonErrors, ...preconditionFailed },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { name, id } = c.req.valid("param");
      return c.json(
        await t.call((s, caller) => s.deleteRecord(caller, name, id, ifMatchVersion(c.req.header("if-match")))),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/collections/{name}/records/{id}/restore",
      tags: ["Records"],
      summary: "Undo a soft delete",
      security: bearerSecurity,
      request: { params: IdParams },
      responses: { 200: jsonResponse(RecordSchema, "The restored record."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { name, id } = c.req.valid("param");
      return c.json(await t.call((s, caller) => s.restoreRecord(caller, name, id)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/collections/{name}/records/{id}/history",
      tags: ["Records"],
      summary: "Every version of a record (the data vault)",
      security: bearerSecurity,
      request: {
        params: IdParams,
        query: z.object({ cursor: z.string().optional(), limit: z.string().optional() }),
      },
      responses: {
        200: jsonResponse(
          listOf(
            z
              .object({ version: z.number(), op: z.string(), actor: z.string(), at: z.string(), data: RecordSchema })
              .openapi("RecordVersion"),
          ),
          "Versions, oldest first.",
        ),
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { name, id } = c.req.valid("param");
      return c.json(await t.call((s, caller) => s.recordHistory(caller, name, id, c.req.valid("query"))), 200);
    },
  );
