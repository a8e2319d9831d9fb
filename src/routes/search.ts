// Full-text search across the tenant's searchable fields, ranked with bm25.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, commonErrors, jsonResponse, listOf, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";

const Hit = z
  .object({ collection: z.string(), id: z.string(), score: z.number(), snippet: z.string() })
  .openapi("SearchHit");

export const searchRoutes = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/search",
    tags: ["Records"],
    summary: "Search records; any text is a valid query (words are matched literally)",
    security: bearerSecurity,
    request: {
      query: z.object({
        q: z.string().max(1000),
        collection: z
          .string()
          .regex(/^[a-z][a-z0-9_]{0,62}$/)
          .optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(20),
      }),
    },
    responses: { 200: jsonResponse(listOf(Hit), "Hits, best first; matches marked with **."), ...commonErrors },
  }),
  async (c) => {
    const t = await tenantClient(c);
    const { q, collection, limit } = c.req.valid("query");
    return c.json(await t.call((s, caller) => s.search(caller, q, collection ?? null, limit)), 200);
  },
);
