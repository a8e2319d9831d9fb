// Liveness: touches no binding, so it also measures the runtime's ceiling in benchmarks.
import { createRoute, z } from "@hono/zod-openapi";
import { jsonResponse, newRouter } from "../openapi";

export const healthRoutes = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/healthz",
    tags: ["Operations"],
    summary: "Liveness check",
    responses: { 200: jsonResponse(z.object({ ok: z.literal(true) }), "The Worker is up.") },
  }),
  (c) => c.json({ ok: true as const }, 200),
);
