// Cross-tenant read-only aggregates for platform admins: one collection over many tenants,
// fanned out with bounded concurrency and streamed as NDJSON, one line per tenant.
import { createRoute } from "@hono/zod-openapi";
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { AggregateSchema, type AggregateSpec } from "../../durable-objects/contract/lifecycle";
import { adminOnly, requireAdmin } from "../caller";
import { adminAuditInsert, controlDb } from "../control/control-db";
import { type TenantRow, tenants } from "../control/schema";
import { rememberJurisdiction } from "../jurisdiction";
import { bearerSecurity, commonErrors, jsonBody, newRouter } from "../openapi";
import { tenantStub } from "../tenant-client";

const CONCURRENCY = 8;
const PAGE = 100;

async function* tenantsFor(env: Env, spec: AggregateSpec): AsyncGenerator<TenantRow[]> {
  const db = controlDb(env);
  if (spec.tenants) {
    for (let i = 0; i < spec.tenants.length; i += PAGE) {
      const ids = spec.tenants.slice(i, i + PAGE);
      const rows = await db.select().from(tenants).where(inArray(tenants.id, ids));
      const found = new Map(rows.map((r) => [r.id, r]));
      // Unknown ids are reported like a tenant without the collection: per line, not a failure.
      yield ids.map((id) => found.get(id) ?? ({ id, status: "deleted" } as TenantRow));
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

async function lineFor(env: Env, row: TenantRow, spec: AggregateSpec): Promise<string> {
  if (row.status === "deleted" || row.status === "provisioning") {
    return JSON.stringify({ tenant: row.id, error: { code: "not_found", detail: "No such tenant." } });
  }
  rememberJurisdiction(row.id, row.jurisdiction);
  try {
    const result = await tenantStub(env, row.id).aggregate(spec);
    return JSON.stringify(
      result.ok
        ? { tenant: row.id, result: result.value }
        : { tenant: row.id, error: { code: result.code, detail: result.detail } },
    );
  } catch {
    return JSON.stringify({
      tenant: row.id,
      error: { code: "service_unavailable", detail: "The tenant did not answer." },
    });
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
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
    const work = (async () => {
      try {
        for await (const page of tenantsFor(c.env, spec)) {
          for (let i = 0; i < page.length; i += CONCURRENCY) {
            const lines = await Promise.all(page.slice(i, i + CONCURRENCY).map((row) => lineFor(c.env, row, spec)));
            await writer.write(encoder.encode(`${lines.join("\n")}\n`));
          }
        }
      } finally {
        await writer.close();
      }
    })();
    c.executionCtx.waitUntil(work);
    return new Response(readable, { status: 200, headers: { "content-type": "application/x-ndjson" } }) as never;
  },
);
