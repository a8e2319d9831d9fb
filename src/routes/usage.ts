// Usage per tenant: the current period's counters against the limits, and past periods.

import { createRoute, z } from "@hono/zod-openapi";
import { UsageSchema as UsageView } from "../../durable-objects/contract/usage";
import { getTenant } from "../control/tenant-service";
import { bearerSecurity, commonErrors, jsonResponse, newRouter } from "../openapi";
import { platformClient, tenantClient } from "../tenant-client";
import { TenantIdSchema } from "./tenant-schemas";

const UsageSchema = UsageView.openapi("Usage");

export const usageRoutes = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/tenants/{id}/usage",
    tags: ["Tenants"],
    summary: "Usage counters of the current and past periods against the limits",
    security: bearerSecurity,
    request: { params: z.object({ id: TenantIdSchema.openapi({ param: { name: "id", in: "path" } }) }) },
    responses: { 200: jsonResponse(UsageSchema, "The tenant's usage."), ...commonErrors },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    if (c.get("principal").kind === "admin") {
      await getTenant(c.env, id);
      return c.json(await platformClient(c.env, id).call((s) => s.usageForPlatform()), 200);
    }
    const t = await tenantClient(c, id);
    return c.json(await t.call((s, caller) => s.usage(caller)), 200);
  },
);
