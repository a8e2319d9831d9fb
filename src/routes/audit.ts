// The tenant's audit trail: events, verification of the hash chain, and the platform admin's view.

import { createRoute, z } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import {
  AuditEventSchema as AuditEventView,
  AuditQuerySchema,
  VerificationSchema,
} from "../../durable-objects/contract/audit";
import { listArchivedAudit, verifyArchivedAudit } from "../../durable-objects/storage/audit-archive";
import { adminOnly } from "../caller";
import { controlDb } from "../control/control-db";
import { adminAudit } from "../control/schema";
import { getTenant } from "../control/tenant-service";
import { ApiError } from "../errors";
import { bearerSecurity, commonErrors, jsonResponse, listOf, newRouter } from "../openapi";
import { platformClient, tenantClient } from "../tenant-client";
import { TenantIdSchema } from "./tenant-schemas";

const AuditEventSchema = AuditEventView.openapi("AuditEvent");

const AuditQuery = AuditQuerySchema;
const Verification = VerificationSchema.openapi("AuditVerification");
const TenantParams = z.object({ id: TenantIdSchema.openapi({ param: { name: "id", in: "path" } }) });

/** A deleted tenant's events come from the audit archive (an empty page when it has none). */
async function archivedEvents(env: Env, id: string, query: z.infer<typeof AuditQuery>) {
  const archived = await listArchivedAudit(env.FILES, id, query);
  if (archived && !archived.ok) throw ApiError.from(archived);
  return archived ? archived.value : { items: [], nextCursor: null };
}

const AdminEventSchema = z
  .object({
    id: z.number(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    success: z.boolean(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string().nullable(),
  })
  .openapi("AdminAuditEvent");

export const auditRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/audit",
      tags: ["Audit"],
      summary: "The tenant's audit events (audit:read)",
      security: bearerSecurity,
      request: { query: AuditQuery },
      responses: { 200: jsonResponse(listOf(AuditEventSchema), "Events, oldest first."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.audit(caller, c.req.valid("query"))), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/audit/verify",
      tags: ["Audit"],
      summary: "Recompute the hash chain: ok, or the first broken sequence number",
      security: bearerSecurity,
      responses: {
        200: jsonResponse(Verification, "The verification result."),
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.verifyAudit(caller)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/audit-logs",
      tags: ["Tenants"],
      summary: "A tenant's audit events and the admin events about it (platform admin)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: TenantParams, query: AuditQuery },
      responses: {
        200: jsonResponse(
          listOf(AuditEventSchema).extend({ adminEvents: z.array(AdminEventSchema) }),
          "Tenant events (paged; for a deleted tenant, from its audit archive) and the latest 100 admin events about the tenant.",
        ),
        ...commonErrors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const tenant = await getTenant(c.env, id);
      const events =
        tenant.status === "deleted"
          ? await archivedEvents(c.env, id, c.req.valid("query"))
          : await platformClient(c.env, id).call((s) => s.auditForPlatform(c.req.valid("query")));
      const adminEvents = await controlDb(c.env)
        .select()
        .from(adminAudit)
        .where(eq(adminAudit.target, id))
        .orderBy(desc(adminAudit.id))
        .limit(100);
      return c.json({ ...events, adminEvents }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/audit-logs/verify",
      tags: ["Tenants"],
      summary: "Verify a tenant's audit chain, live or archived after a hard delete (platform admin)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: TenantParams },
      responses: {
        200: jsonResponse(Verification, "As GET /v1/audit/verify: ok and the count, or the first broken sequence."),
        ...commonErrors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const tenant = await getTenant(c.env, id);
      if (tenant.status !== "deleted") {
        return c.json(await platformClient(c.env, id).call((s) => s.verifyAuditForPlatform()), 200);
      }
      const verified = await verifyArchivedAudit(c.env.FILES, id, c.env.MASTER_KEY ?? "");
      return c.json(verified ?? { ok: true, count: 0 }, 200);
    },
  );
