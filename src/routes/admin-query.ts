// Cross-tenant read-only aggregates for platform admins: one collection over many tenants, streamed
// as NDJSON, one line per tenant (the engine, shared with POST /v1/org/query: control/aggregate-fanout.ts).
import { createRoute } from "@hono/zod-openapi";
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { AggregateSchema, type AggregateSpec } from "../../durable-objects/contract/lifecycle";
import { adminOnly, requireAdmin } from "../caller";
import { type AggregateTarget, aggregateStream, unknownTarget } from "../control/aggregate-fanout";
import { adminAuditInsert, controlDb } from "../control/control-db";
import { type TenantRow, tenants } from "../control/schema";
import { bearerSecurity, commonErrors, jsonBody, newRouter } from "../openapi";

const PAGE = 100;

async function* tenantsFor(env: Env, spec: AggregateSpec): AsyncGenerator<AggregateTarget[]> {
  const db = controlDb(env);
  if (spec.tenants) {
    for (let i = 0; i < spec.tenants.length; i += PAGE) {
      const ids = spec.tenants.slice(i, i + PAGE);
      const rows = await db.select().from(tenants).where(inArray(tenants.id, ids));
      const found = new Map(rows.map((r) => [r.id, r]));
      // Unknown ids are reported like a tenant without the collection: per line, not a failure.
      yield ids.map((id) => found.get(id) ?? unknownTarget(id));
    }
    return;
  }
  let after = "";
  for (;;) {
    const rows = await db
      .select()
      .from(tenants)
      .where(and(eq(tenants.status, "active"), gt(tenants.id, after)))
      .orderBy(asc(tenants.id))
      .limit(PAGE);
    if (rows.length === 0) return;
    yield rows;
    after = (rows.at(-1) as TenantRow).id;
  }
}

export const adminQueryRoutes = newRouter().openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/query",
    tags: ["Operations"],
    summary: "A read-only aggregate over one collection across tenants, streamed as NDJSON",
    security: bearerSecurity,
    middleware: [adminOnly] as const,
    request: {
      body: jsonBody(
        AggregateSchema.openapi("AdminQuery", {
          example: { collection: "notes", aggregate: "count", field: null, groupBy: null, tenants: null },
        }),
      ),
    },
    responses: {
      200: {
        description: 'One line per tenant: {"tenant":"acme","result":...} or {"tenant":"b","error":{"code":...}}.',
        content: { "application/x-ndjson": { schema: { type: "string" } } },
      },
      ...commonErrors,
    },
  }),
  async (c) => {
    const actor = requireAdmin(c);
    const spec = c.req.valid("json");
    await adminAuditInsert(controlDb(c.env), actor, "admin.query", null, { ...spec });
    return aggregateStream(c.env, c.executionCtx as ExecutionContext, tenantsFor(c.env, spec), spec) as never;
  },
);
