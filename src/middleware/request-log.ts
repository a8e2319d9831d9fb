// One structured JSON log line per request: request id, tenant, principal kind, route, status,
// duration and rate-limit state. Never a secret, a token or record contents. When the optional
// Analytics Engine binding METRICS exists, the same figures become a data point per request. A
// 5xx answer for a tenant is also counted in D1, where the fleet's alerts read it.

import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { TENANT_ID_PATTERN } from "../../durable-objects/contract/tenant-id";
import type { AppEnv } from "../context";
import { recordServerError } from "../control/tenant-errors";

export const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = Date.now();
  await next();
  const principal = c.get("principal");
  const tenant = principal?.kind === "admin" ? (c.req.header("x-silo-tenant") ?? null) : (principal?.tenantId ?? null);
  const line = {
    msg: "request",
    requestId: c.get("requestId"),
    method: c.req.method,
    route: routePath(c),
    status: c.res.status,
    durationMs: Date.now() - started,
    tenant,
    principal: principal?.kind ?? "anonymous",
    rateLimit: c.res.headers.get("ratelimit"),
  };
  if (c.env?.LOG_REQUESTS !== "off") console.log(JSON.stringify(line));
  c.env?.METRICS?.writeDataPoint({
    indexes: [tenant ?? "-"],
    blobs: [line.route, line.method, line.principal],
    doubles: [line.status, line.durationMs],
  });
  if (tenant && TENANT_ID_PATTERN.test(tenant) && line.status >= 500 && c.env?.CONTROL_DB) {
    const counted = recordServerError(c.env, tenant, line.status, line.route).catch((err: unknown) =>
      console.error(JSON.stringify({ msg: "error count failed", tenant, error: String(err) })),
    );
    try {
      c.executionCtx.waitUntil(counted);
    } catch {
      await counted; // no execution context (app.request in tests): count before answering
    }
  }
});
