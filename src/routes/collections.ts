// Collections: each one a real table in the tenant's own database.

import { createRoute, z } from "@hono/zod-openapi";
import {
  CollectionSchema as CollectionView,
  CreateCollectionSchema,
  PatchCollectionSchema,
} from "../../durable-objects/contract/collections";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";

export const CollectionName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/)
  .openapi({ param: { name: "name", in: "path" }, example: "notes" });

const CollectionSchema = CollectionView.openapi("Collection");

const CreateBody = CreateCollectionSchema.openapi("CreateCollection", {
  example: {
    name: "notes",
    fields: [
      { name: "title", type: "string", required: true, searchable: true },
      { name: "body", type: "text", searchable: true },
      { name: "email", type: "string", pii: true },
    ],
    acl: true,
    indexes: [],
  },
});

const PatchBody = PatchCollectionSchema.openapi("PatchCollection", {
  example: {
    add: [{ name: "status", type: "enum", values: ["draft", "sent"], indexed: true }],
    rename: { body: "content" },
  },
});

const NameParam = z.object({ name: CollectionName });

export const collectionRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/collections",
      tags: ["Collections"],
      summary: "Create a collection (a real table in the tenant's database)",
      security: bearerSecurity,
      request: { body: jsonBody(CreateBody) },
      responses: { 201: jsonResponse(CollectionSchema, "The collection."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.createCollection(caller, c.req.valid("json"))), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/collections",
      tags: ["Collections"],
      summary: "List collections",
      security: bearerSecurity,
      responses: {
        200: jsonResponse(z.object({ items: z.array(CollectionSchema), nextCursor: z.null() }), "All collections."),
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json({ items: await t.call((s, caller) => s.listCollections(caller)), nextCursor: null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/collections/{name}",
      tags: ["Collections"],
      summary: "Get a collection's definition",
      security: bearerSecurity,
      request: { params: NameParam },
      responses: { 200: jsonResponse(CollectionSchema, "The collection."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.getCollection(caller, c.req.valid("param").name)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/v1/collections/{name}",
      tags: ["Collections"],
      summary: "Add, rename or drop fields; add or drop indexes (real DDL, one transaction)",
      security: bearerSecurity,
      request: { params: NameParam, body: jsonBody(PatchBody) },
      responses: { 200: jsonResponse(CollectionSchema, "The changed collection."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(
        await t.call((s, caller) => s.patchCollection(caller, c.req.valid("param").name, c.req.valid("json"))),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/collections/{name}",
      tags: ["Collections"],
      summary: "Drop a collection with its records and history",
      security: bearerSecurity,
      request: { params: NameParam },
      responses: {
        200: jsonResponse(z.object({ deleted: z.literal(true) }), "Dropped."),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.dropCollection(caller, c.req.valid("param").name)), 200);
    },
  );
