// GET /v1/me: who the caller is in their tenant, with the tenant's limits and usage; and
// GET /v1/openapi.json: the tenant's own records API, typed by its collections.

import { createRoute, z } from "@hono/zod-openapi";
import { MeSchema as MeView } from "../../durable-objects/contract/usage";
import { bearerSecurity, commonErrors, jsonResponse, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";
import { tenantDocument } from "../tenant-openapi";

const MeSchema = MeView.openapi("Me");

export const meRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me",
      tags: ["Data plane"],
      summary: "The caller, their tenant, limits and usage",
      security: bearerSecurity,
      responses: { 200: jsonResponse(MeSchema, "The caller's view of their tenant."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.me(caller)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/openapi.json",
      tags: ["Data plane"],
      summary: "This tenant's records API as OpenAPI 3.1, one schema per collection (for typed clients)",
      security: bearerSecurity,
      responses: {
        200: jsonResponse(z.record(z.string(), z.unknown()), "An OpenAPI 3.1 document of the caller's tenant."),
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const me = await t.call((s, caller) => s.me(caller));
      const collections = await t.call((s, caller) => s.listCollections(caller));
      return c.json(tenantDocument(me.tenant, collections, me.principal.permissions), 200);
    },
  );
