// Tenant analytics: one metric over a collection's records, optionally grouped, with the records
// filters and the caller's ACL (the object's records/record-aggregate.ts). Plan feature `aggregate`.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, commonErrors, jsonResponse, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";
import { CollectionName } from "./collections";

const Item = z
  .object({
    group: z.union([z.string(), z.number(), z.boolean()]).nullable(),
    value: z.union([z.string(), z.number()]).nullable(),
  })
  .openapi("AggregateItem");

const Query = z.looseObject({
  metric: z.string().optional().openapi({
    description: "count (default), sum:<field>, avg:<field>, min:<field> or max:<field>.",
    example: "sum:amount",
  }),
  groupBy: z.string().optional().openapi({
    description: "<field>, day(<field>) or month(<field>) (UTC days and months).",
    example: "month(createdAt)",
  }),
  limit: z.string().optional().openapi({ description: "Groups at most, 1 to 1000 (default 1000); more is a 400." }),
});

export const aggregateRoutes = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/collections/{name}/aggregate",
    tags: ["Records"],
    summary:
      "Aggregate records: metric, groupBy and the records filters {field}={op}.{value}; the caller's ACL applies",
    security: bearerSecurity,
    request: { params: z.object({ name: CollectionName }), query: Query },
    responses: {
      200: jsonResponse(
        z.object({ items: z.array(Item), nextCursor: z.null() }),
        "One item per group, groups ascending (null first); ungrouped: one item with group null.",
      ),
      ...commonErrors,
    },
  }),
  async (c) => {
    const t = await tenantClient(c);
    // A plain object: the query map Hono builds has no prototype, which RPC cannot serialize.
    const params = Object.fromEntries(Object.entries(c.req.query()));
    return c.json(await t.call((s, caller) => s.aggregateRecords(caller, c.req.valid("param").name, params)), 200);
  },
);
