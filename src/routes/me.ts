// GET /v1/me: who the caller is in their tenant, with the tenant's limits and usage.

import { createRoute } from "@hono/zod-openapi";
import { MeSchema as MeView } from "../../durable-objects/contract/usage";
import { bearerSecurity, commonErrors, jsonResponse, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";

const MeSchema = MeView.openapi("Me");

export const meRoutes = newRouter().openapi(
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
);
