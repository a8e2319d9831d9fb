// Data subject erasure (GDPR art. 17) inside the caller's tenant.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";

export const privacyRoutes = newRouter().openapi(
  createRoute({
    method: "post",
    path: "/v1/privacy/erasure",
    tags: ["Lifecycle"],
    summary: "Erase one data subject's personal data across the tenant (members:manage)",
    security: bearerSecurity,
    request: {
      body: jsonBody(
        z.strictObject({ subject: z.string().min(1).max(255) }).openapi("Erasure", { example: { subject: "bob" } }),
      ),
    },
    responses: {
      200: jsonResponse(
        z.object({ records: z.number(), members: z.number(), shares: z.number(), files: z.array(z.string()) }),
        "What was erased.",
      ),
      ...commonErrors,
      ...conflictError,
    },
  }),
  async (c) => {
    const t = await tenantClient(c);
    return c.json(await t.call((s, caller) => s.erase(caller, c.req.valid("json").subject)), 200);
  },
);
