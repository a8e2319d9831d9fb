// Data subject erasure (GDPR art. 17) inside the caller's tenant.
import { createRoute, z } from "@hono/zod-openapi";
import { SubjectSchema } from "../../durable-objects/contract/identifiers";
import type { ErasureResult } from "../../durable-objects/privacy/erasure";
import { tenantRpc } from "../caller";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, newRouter } from "../openapi";
import { unwrap } from "../tenant-client";

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
      200: jsonResponse(
        z.object({ records: z.number(), members: z.number(), shares: z.number(), files: z.array(z.string()) }),
        "What was erased.",
      ),
      ...commonErrors,
      ...conflictError,
    },
  }),
  async (c) => {
    const { stub, caller } = await tenantRpc(c);
    return c.json(unwrap(await stub.erase(caller, c.req.valid("json").subject)) as ErasureResult, 200);
  },
);
