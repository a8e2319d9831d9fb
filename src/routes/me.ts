// GET /v1/me: who the caller is in their tenant, with the tenant's limits and usage.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, commonErrors, jsonResponse, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";
import { LimitsSchema } from "./tenant-schemas";

const MeSchema = z
  .object({
    tenant: z.object({ id: z.string(), name: z.string(), status: z.string(), tier: z.string() }),
    principal: z.object({
      sub: z.string(),
      kind: z.enum(["user", "admin", "apikey"]),
      roles: z.array(z.string()),
      permissions: z.array(z.string()),
    }),
    limits: LimitsSchema,
    usage: z.record(z.string(), z.number()),
  })
  .openapi("Me");

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
