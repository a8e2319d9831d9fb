// Master key rotation for one tenant: its data key re-wrapped under the current MASTER_KEY.
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { adminOnly, requireAdmin } from "../caller";
import { adminAuditInsert, controlDb } from "../control/control-db";
import { tenants } from "../control/schema";
import { getTenant, pushConfig } from "../control/tenant-service";
import { rewrapDataKey } from "../crypto/data-key";
import { ApiError } from "../errors";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, newRouter } from "../openapi";
import { TenantIdSchema } from "./tenant-schemas";

export const keyRotationRoutes = newRouter().openapi(
  createRoute({
    method: "post",
    path: "/v1/tenants/{id}/rotate-key",
    tags: ["Lifecycle"],
    summary: "Re-wrap the tenant's data key under the current MASTER_KEY (no data is re-encrypted)",
    security: bearerSecurity,
    middleware: [adminOnly] as const,
    request: {
      params: z.object({ id: TenantIdSchema.openapi({ param: { name: "id", in: "path" } }) }),
      body: jsonBody(z.strictObject({ mode: z.literal("rewrap") })),
    },
    responses: {
      200: jsonResponse(z.object({ id: z.string(), mode: z.literal("rewrap"), revision: z.number() }), "Re-wrapped."),
      ...commonErrors,
      ...conflictError,
    },
  }),
  async (c) => {
    const actor = requireAdmin(c);
    const { id } = c.req.valid("param");
    const row = await getTenant(c.env, id);
    if (!row.wrappedKey || row.status === "deleted") throw new ApiError("conflict", `Tenant '${id}' has no data key.`);
    const wrappedKey = await rewrapDataKey(c.env, row.wrappedKey);
    const db = controlDb(c.env);
    const [updated] = await db.batch([
      db
        .update(tenants)
        .set({ wrappedKey, revision: row.revision + 1, updatedAt: new Date().toISOString() })
        .where(and(eq(tenants.id, id), eq(tenants.revision, row.revision)))
        .returning(),
      adminAuditInsert(db, actor, "tenant.rotate_key", id, { mode: "rewrap" }),
    ]);
    const next = updated[0];
    if (!next) throw new ApiError("conflict", `Tenant '${id}' changed concurrently; retry.`);
    await pushConfig(c.env, db, actor, next);
    return c.json({ id, mode: "rewrap" as const, revision: next.revision }, 200);
  },
);
