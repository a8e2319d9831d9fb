// The fleet at a glance (platform admins): which tenant is on which schema, and which need care.
import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../caller";
import { ALERT_KINDS, fleetAlerts } from "../control/fleet-alerts";
import { fleetSchema } from "../control/fleet-reports";
import { bearerSecurity, commonErrors, jsonResponse, listOf, newRouter } from "../openapi";
import { afterOf, cursorAfter, PageQuery } from "../page-query";

const FleetSchemaView = z
  .object({
    latest: z.string().openapi({ description: "The newest tenant-schema migration this deployment bundles." }),
    tenants: z.record(z.string(), z.number()).openapi({ description: "How many tenants report each schema tag." }),
    failed: z.array(z.object({ tenant: z.string(), error: z.string(), at: z.string(), schema: z.string().nullable() })),
  })
  .openapi("FleetSchema");

const AlertView = z
  .object({
    tenant: z.string(),
    kind: z.enum(ALERT_KINDS),
    metric: z.string().nullable(),
    value: z.number(),
    limit: z.number().nullable(),
    since: z.string(),
  })
  .openapi("FleetAlert");

/** One alert's place in the sorted list, for the cursor. */
const keyOf = (a: z.infer<typeof AlertView>) => `${a.tenant}\u0000${a.kind}\u0000${a.metric ?? ""}`;

export const fleetRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/fleet/schema",
      tags: ["Operations"],
      summary: "Tenant-schema versions across the fleet, and the tenants whose migration failed",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      responses: { 200: jsonResponse(FleetSchemaView, "Schema versions."), ...commonErrors },
    }),
    async (c) => c.json(await fleetSchema(c.env), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/fleet/alerts",
      tags: ["Operations"],
      summary: "Tenants that need an operator (near a limit, 5xx answers, failed sweeps or migrations, config behind)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listOf(AlertView), "Alerts, by tenant."), ...commonErrors },
    }),
    async (c) => {
      const { cursor, limit } = c.req.valid("query");
      const after = afterOf(cursor);
      const all = (await fleetAlerts(c.env)).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
      const rest = after === null ? all : all.filter((a) => keyOf(a) > after);
      const page = rest.slice(0, limit);
      const last = page.at(-1);
      return c.json({ items: page, nextCursor: rest.length > limit && last ? cursorAfter(keyOf(last)) : null }, 200);
    },
  );
