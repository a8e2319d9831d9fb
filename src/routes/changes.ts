// The tenant's change feed (DESIGN §10): GET /v1/changes pages the change log in seq order, each
// event filtered and masked by the object as a read by the same principal would be.
import { createRoute } from "@hono/zod-openapi";
import { ChangeEventSchema as ChangeEventView, ChangeQuerySchema } from "../../durable-objects/contract/changes";
import { bearerSecurity, commonErrors, jsonResponse, listOf, newRouter, problem } from "../openapi";
import { tenantClient } from "../tenant-client";

const ChangeEventSchema = ChangeEventView.openapi("ChangeEvent");

export const changeRoutes = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/changes",
    tags: ["Changes"],
    summary: "The tenant's change log after `since`, in seq order (records:read)",
    description:
      "Events the caller may not see (records it cannot read; file events without files:read; member events without members:manage) are left out, so seq may skip. `nextCursor` is the seq to pass as `since` for the next page, null at the end of the log.",
    security: bearerSecurity,
    request: { query: ChangeQuerySchema },
    responses: {
      200: jsonResponse(listOf(ChangeEventSchema), "Events, oldest first."),
      ...commonErrors,
      410: problem(
        "`since` is older than the kept log (changes_expired), or the tenant is cancelled (tenant_cancelled).",
      ),
    },
  }),
  async (c) => {
    const t = await tenantClient(c);
    return c.json(await t.call((s, caller) => s.changes(caller, c.req.valid("query"))), 200);
  },
);
