// Data subject erasure (GDPR art. 17) inside the caller's tenant.
import { createRoute, z } from "@hono/zod-openapi";
import { SubjectSchema } from "../../durable-objects/contract/identifiers";
import { ErasureSchema } from "../../durable-objects/contract/lifecycle";
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
      body: jsonBody(z.strictObject({ subject: SubjectSchema }).openapi("Erasure", { example: { subject: "bob" } })),
    },
    responses: {
      200: jsonResponse(ErasureSchema.openapi("ErasureResult"), "What was erased."),
      ...commonErrors,
      ...conflictError,
    },
  }),
  async (c) => {
    const t = await tenantClient(c);
    return c.json(await t.call((s, caller) => s.erase(caller, c.req.valid("json").subject)), 200);
  },
);
