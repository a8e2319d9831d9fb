// Key rotation for one tenant (platform admins): re-wrap under a new master key, or rotate the
// data key with the re-encryption running in the tenant's object.
import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly, requireAdmin } from "../caller";
import { finalizeRotation, rewrapKeys, rotateDataKey } from "../control/key-rotation";
import { getTenant } from "../control/tenant-service";
import { ApiError } from "../errors";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, newRouter } from "../openapi";
import { JobSchema } from "./exports";
import { TenantIdSchema } from "./tenant-schemas";

const IdParam = z.object({ id: TenantIdSchema.openapi({ param: { name: "id", in: "path" } }) });
const RotationSchema = z
  .object({
    id: z.string(),
    mode: z.enum(["rewrap", "data"]),
    revision: z.number(),
    complete: z.boolean(),
    // A union, not .nullable(): the generator turns a nullable $ref into an allOf no null can pass.
    job: z.union([JobSchema, z.null()]),
  })
  .openapi("KeyRotation");

export const keyRotationRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/rotate-key",
      tags: ["Lifecycle"],
      summary: "rewrap: re-wrap the data keys under the current MASTER_KEY; data: rotate the data key and re-encrypt",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: IdParam, body: jsonBody(z.strictObject({ mode: z.enum(["rewrap", "data"]) })) },
      responses: {
        200: jsonResponse(RotationSchema, "Re-wrapped."),
        202: jsonResponse(RotationSchema, "Data key rotated; re-encryption under way."),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const { id } = c.req.valid("param");
      const row = await getTenant(c.env, id);
      if (row.status === "deleted") throw new ApiError("conflict", `Tenant '${id}' has been deleted.`);
      if (c.req.valid("json").mode === "rewrap") {
        const next = await rewrapKeys(c.env, actor, row);
        return c.json({ id, mode: "rewrap" as const, revision: next.revision, complete: true, job: null }, 200);
      }
      const { row: next, job } = await rotateDataKey(c.env, actor, row);
      return c.json({ id, mode: "data" as const, revision: next.revision, complete: false, job }, 202);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/rotate-key",
      tags: ["Lifecycle"],
      summary: "The data key rotation's progress; once re-encryption has finished, the old key is destroyed",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: IdParam },
      responses: { 200: jsonResponse(RotationSchema, "The rotation."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const { id } = c.req.valid("param");
      const row = await getTenant(c.env, id);
      const { job, complete } = await finalizeRotation(c.env, actor, row);
      const fresh = await getTenant(c.env, id);
      return c.json({ id, mode: "data" as const, revision: fresh.revision, complete, job }, 200);
    },
  );
