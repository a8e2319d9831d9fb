// Benchmark comparators: the same read path as Silo, built from Silo's own Worker scaffolding
// (Hono with its zod-openapi router, the request-id, request-log, body-limit and authenticate
// middleware, Silo's jose JWT verifier, one Durable Object RPC, a SQLite point read), minus the
// tenancy layers (the tenant's own object, its status, membership and permissions, rate limit,
// quota, usage metering, record ACLs and masking):
//   GET /v1/collections/{name}/records/{id}   the single-tenant baseline: one object, one table;
//   GET /shared/collections/{name}/records/{id}   the row-level design: every tenant's rows in ONE
//                                   database with a tenant_id column and index, the tenant taken
//                                   from the token.
// POST /seed loads rows. Bundled and served only by `npm run bench`.

import { DurableObject } from "cloudflare:workers";
import { createRoute, z } from "@hono/zod-openapi";
import { ApiError, problemResponse } from "../../src/errors";
import { authenticate } from "../../src/middleware/authenticate";
import { bodyLimit } from "../../src/middleware/body-limit";
import { requestId } from "../../src/middleware/request-id";
import { requestLog } from "../../src/middleware/request-log";
import { newRouter } from "../../src/openapi";

interface BenchEnv {
  BENCH_DB: DurableObjectNamespace<BenchDatabase>;
}

type Row = Record<string, SqlStorageValue>;
const view = (row: Row | undefined) =>
  row
    ? {
        id: row.id as string,
        version: row.version as number,
        createdAt: row.created_at as string,
        updatedAt: row.updated_at as string,
        ...(JSON.parse(row.data as string) as Record<string, unknown>),
      }
    : null;

export class BenchDatabase extends DurableObject<BenchEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: BenchEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, data TEXT NOT NULL, version INTEGER NOT NULL,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS shared_records (tenant_id TEXT NOT NULL, id TEXT NOT NULL,
      data TEXT NOT NULL, version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
      PRIMARY KEY (tenant_id, id))`);
  }

  read(id: string) {
    return view(this.sql.exec<Row>("SELECT * FROM records WHERE id = ?", id).toArray()[0]);
  }

  readShared(tenant: string, id: string) {
    return view(
      this.sql.exec<Row>("SELECT * FROM shared_records WHERE tenant_id = ? AND id = ?", tenant, id).toArray()[0],
    );
  }

  seed(rows: { tenant?: string; id: string; data: Record<string, unknown> }[]): number {
    const now = new Date().toISOString();
    this.ctx.storage.transactionSync(() => {
      for (const r of rows) {
        const data = JSON.stringify(r.data);
        if (r.tenant) {
          this.sql.exec(
            "INSERT OR REPLACE INTO shared_records VALUES (?, ?, ?, 1, ?, ?)",
            r.tenant,
            r.id,
            data,
            now,
            now,
          );
        } else {
          this.sql.exec("INSERT OR REPLACE INTO records VALUES (?, ?, 1, ?, ?)", r.id, data, now, now);
        }
      }
    });
    return rows.length;
  }
}

const app = newRouter();
app.use("*", requestId);
app.use("*", requestLog);
app.use("*", bodyLimit());
app.use("*", authenticate);
app.onError((err, c) => {
  const id = c.get("requestId") ?? crypto.randomUUID();
  if (err instanceof ApiError) return problemResponse(err.code, err.detail, id, err.extras, err.headers);
  return problemResponse("service_unavailable", "Unexpected error.", id);
});

const db = (env: BenchEnv) => env.BENCH_DB.get(env.BENCH_DB.idFromName("one"));
const Params = z.object({ name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/), id: z.string().min(1).max(100) });
const Rec = z.object({ id: z.string(), version: z.number() }).passthrough();
const found = (rec: unknown) => {
  if (!rec) throw new ApiError("not_found", "No such record.");
  return rec as z.infer<typeof Rec>;
};

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/collections/{name}/records/{id}",
    request: { params: Params },
    responses: { 200: { description: "The record.", content: { "application/json": { schema: Rec } } } },
  }),
  async (c) => {
    const rec = found(await db(c.env as unknown as BenchEnv).read(c.req.valid("param").id));
    return c.json(rec, 200, { etag: `"${rec.version}"` });
  },
);

app.openapi(
  createRoute({
    method: "get",
    path: "/shared/collections/{name}/records/{id}",
    request: { params: Params },
    responses: { 200: { description: "The record.", content: { "application/json": { schema: Rec } } } },
  }),
  async (c) => {
    const principal = c.get("principal");
    if (principal.kind !== "user") throw new ApiError("forbidden", "A tenant user's token is needed.");
    const rec = found(await db(c.env as unknown as BenchEnv).readShared(principal.tenantId, c.req.valid("param").id));
    return c.json(rec, 200, { etag: `"${rec.version}"` });
  },
);

app.post("/seed", async (c) => c.json({ rows: await db(c.env as unknown as BenchEnv).seed(await c.req.json()) }));

export default app;
