// Benchmark comparators: the same read path as Silo, built from Silo's own Worker scaffolding
// (Hono with its zod-openapi router, the request-id, request-log, body-limit and authenticate
// middleware, Silo's jose JWT verifier, one Durable Object RPC, a SQLite point read), minus the
// tenancy layers (the tenant's own object, its status, membership and permissions, rate limit,
// quota, usage metering, record ACLs and masking):
//   GET /v1/collections/{name}/records/{id}   the single-tenant baseline: one object, one table;
//   GET /shared/collections/{name}/records/{id}   the row-level design: every tenant's rows in ONE
//                                   database with a tenant_id column and index, the tenant taken
//                                   from the token.
//   GET /spread/collections/{name}/records/{id}   the baseline with one object per tenant (named by
//                                   the token's tenant): a database per tenant without Silo's
//                                   layers, to tell the runtime's cost of many objects from Silo's.
//   GET /ladder/auth, GET /ladder/rpc   the steps between the ceiling and the baseline: the
//                                   scaffolding with the JWT check only; then one RPC to the
//                                   object that returns a constant (no SQL).
//   POST /spread/collections/{name}/records   bare-write: the data-vault minimum in the tenant's
//                                   own object, the row and its version row in one transaction;
//   POST /ladder/{audit,fts,usage,changes}/...   the write ladder towards Silo's create, each rung
//                                   adding to the one before: an audit event on a SHA-256 hash
//                                   chain (Silo's eventHash); a full-text index row (FTS5); usage
//                                   counters (the record-count check and gauge, the request and
//                                   write counts, in the same transaction); a change-log event
//                                   carrying the record (Silo's gapless seq).
// POST /seed loads rows (into the tenant's own object when a row names `object`). Bundled and
// served only by `npm run bench`.

import { DurableObject } from "cloudflare:workers";
import { createRoute, z } from "@hono/zod-openapi";
import { eventHash, GENESIS_HASH } from "../../durable-objects/audit/audit-chain";
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
/** How far up the write ladder a write goes (each rung includes the ones before). */
type Steps = "bare" | "audit" | "fts" | "usage" | "changes";
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
    this.sql.exec(`CREATE TABLE IF NOT EXISTS record_versions (collection TEXT NOT NULL, record_id TEXT NOT NULL,
      version INTEGER NOT NULL, op TEXT NOT NULL, data TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL,
      PRIMARY KEY (collection, record_id, version))`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS audit_events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL,
      actor TEXT NOT NULL, action TEXT NOT NULL, resource TEXT NOT NULL, success INTEGER NOT NULL,
      details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`);
    this.sql.exec(
      "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(collection UNINDEXED, record_id UNINDEXED, body)",
    );
    this.sql.exec(`CREATE TABLE IF NOT EXISTS usage_counters (period TEXT NOT NULL, metric TEXT NOT NULL,
      value INTEGER NOT NULL, PRIMARY KEY (period, metric))`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS change_events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, type TEXT NOT NULL,
      collection TEXT, resource_id TEXT, version INTEGER, actor TEXT NOT NULL, record TEXT)`);
  }

  /** A create: the row and its version row in one transaction, then (ladder) audit and index. */
  write(collection: string, actor: string, data: Record<string, unknown>, steps: Steps) {
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    const json = JSON.stringify(data);
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT INTO records VALUES (?, ?, 1, ?, ?)", id, json, now, now);
      this.sql.exec(
        "INSERT INTO record_versions VALUES (?, ?, 1, 'create', ?, ?, ?)",
        collection,
        id,
        json,
        actor,
        now,
      );
      if (steps === "bare") return;
      const last = this.sql.exec<Row>("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").toArray()[0];
      const prevHash = (last?.hash as string | undefined) ?? GENESIS_HASH;
      const event = {
        seq: ((last?.seq as number | undefined) ?? 0) + 1,
        at: now,
        actor,
        action: "record.create",
        resource: `record:${collection}/${id}`,
        success: true,
        details: { version: 1 },
      };
      const hash = eventHash(prevHash, event);
      this.sql.exec(
        "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
        event.seq,
        now,
        actor,
        event.action,
        event.resource,
        JSON.stringify(event.details),
        prevHash,
        hash,
      );
      if (steps === "audit") return;
      const body = Object.values(data)
        .filter((v) => typeof v === "string")
        .join(" ");
      this.sql.exec("INSERT INTO search_index VALUES (?, ?, ?)", collection, id, body);
      if (steps === "fts") return;
      const period = now.slice(0, 7);
      this.sql.exec("SELECT value FROM usage_counters WHERE period = 'all' AND metric = 'records'").toArray();
      for (const [p, metric] of [
        ["all", "records"],
        [period, "requests"],
        [period, "writes"],
      ]) {
        this.sql.exec(
          `INSERT INTO usage_counters VALUES (?, ?, 1)
           ON CONFLICT (period, metric) DO UPDATE SET value = value + excluded.value`,
          p,
          metric,
        );
      }
      if (steps === "usage") return;
      this.sql.exec(
        `INSERT INTO change_events VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM change_events),
         ?, 'record.created', ?, ?, 1, ?, ?)`,
        now,
        collection,
        id,
        actor,
        JSON.stringify({ id, version: 1, createdAt: now, updatedAt: now, ...data }),
      );
    });
    return { id, version: 1, createdAt: now, updatedAt: now, ...data };
  }

  read(id: string) {
    return view(this.sql.exec<Row>("SELECT * FROM records WHERE id = ?", id).toArray()[0]);
  }

  ping() {
    return { id: "constant", version: 1 };
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

const db = (env: BenchEnv, name = "one") => env.BENCH_DB.get(env.BENCH_DB.idFromName(name));
const Params = z.object({ name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/), id: z.string().min(1).max(100) });
const Rec = z.object({ id: z.string(), version: z.number() }).passthrough();
const found = (rec: unknown) => {
  if (!rec) throw new ApiError("not_found", "No such record.");
  return rec as z.infer<typeof Rec>;
};

/** A record read at `{prefix}/collections/{name}/records/{id}`; `read` gets the token's tenant. */
function recordRoute(prefix: string, read: (env: BenchEnv, tenant: () => string, id: string) => Promise<unknown>) {
  app.openapi(
    createRoute({
      method: "get",
      path: `${prefix}/collections/{name}/records/{id}`,
      request: { params: Params },
      responses: { 200: { description: "The record.", content: { "application/json": { schema: Rec } } } },
    }),
    async (c) => {
      const tenant = () => {
        const principal = c.get("principal");
        if (principal.kind !== "user") throw new ApiError("forbidden", "A tenant user's token is needed.");
        return principal.tenantId;
      };
      const rec = found(await read(c.env as unknown as BenchEnv, tenant, c.req.valid("param").id));
      return c.json(rec, 200, { etag: `"${rec.version}"` });
    },
  );
}

/** A record create at `{prefix}/collections/{name}/records` in the token's tenant's own object. */
function writeRoute(prefix: string, steps: Steps) {
  app.openapi(
    createRoute({
      method: "post",
      path: `${prefix}/collections/{name}/records`,
      request: {
        params: Params.pick({ name: true }),
        body: { content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
      },
      responses: { 201: { description: "The record.", content: { "application/json": { schema: Rec } } } },
    }),
    async (c) => {
      const principal = c.get("principal");
      if (principal.kind !== "user") throw new ApiError("forbidden", "A tenant user's token is needed.");
      const env = c.env as unknown as BenchEnv;
      const rec = await db(env, principal.tenantId).write(
        c.req.valid("param").name,
        `user:${principal.sub}`,
        c.req.valid("json"),
        steps,
      );
      return c.json(rec, 201, { etag: `"${rec.version}"` });
    },
  );
}
writeRoute("/spread", "bare");
writeRoute("/ladder/audit", "audit");
writeRoute("/ladder/fts", "fts");
writeRoute("/ladder/usage", "usage");
writeRoute("/ladder/changes", "changes");

recordRoute("/v1", (env, _tenant, id) => db(env).read(id));
recordRoute("/shared", (env, tenant, id) => db(env).readShared(tenant(), id));
recordRoute("/spread", (env, tenant, id) => db(env, tenant()).read(id));

const Ladder = z.object({ id: z.string(), version: z.number() });
app.openapi(
  createRoute({
    method: "get",
    path: "/ladder/auth",
    responses: { 200: { description: "A constant.", content: { "application/json": { schema: Ladder } } } },
  }),
  (c) => c.json({ id: c.get("principal").kind, version: 1 }, 200),
);
app.openapi(
  createRoute({
    method: "get",
    path: "/ladder/rpc",
    responses: { 200: { description: "A constant.", content: { "application/json": { schema: Ladder } } } },
  }),
  async (c) => c.json(await db(c.env as unknown as BenchEnv).ping(), 200),
);

app.post("/seed", async (c) => {
  const env = c.env as unknown as BenchEnv;
  const rows = (await c.req.json()) as {
    object?: string;
    tenant?: string;
    id: string;
    data: Record<string, unknown>;
  }[];
  const byObject = new Map<string, typeof rows>();
  for (const r of rows) {
    const name = r.object ?? "one";
    byObject.get(name)?.push(r) ?? byObject.set(name, [r]);
  }
  const counts = await Promise.all([...byObject].map(([name, group]) => db(env, name).seed(group)));
  return c.json({ rows: counts.reduce((a, n) => a + n, 0) });
});

export default app;
