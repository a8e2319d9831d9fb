// Control plane: tenant registry and lifecycle (platform admins; a tenant's owner or admin may
// read their own tenant).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { isFeature } from "../../durable-objects/contract/features";
import { adminOnly, requireAdmin } from "../caller";
import type { AppEnv } from "../context";
import { auditFloorLowered, belowFloorReason } from "../control/audit-floor";
import { controlDb } from "../control/control-db";
import type { Plan } from "../control/plans";
import { plans, type TenantRow } from "../control/schema";
import { apiStatus, effectiveFeatures, effectiveLimits, effectiveSettings } from "../control/tenant-config";
import { createTenant, getTenant, listTenants, transitionTenant, updateTenant } from "../control/tenant-service";
import { decodeCursor, encodeCursor } from "../cursor";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, listOf, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";
import {
  CreateTenantSchema,
  ListTenantsQuery,
  TenantIdSchema,
  TenantSchema,
  UpdateTenantSchema,
} from "./tenant-schemas";

const IdParam = z.object({ id: TenantIdSchema.openapi({ param: { name: "id", in: "path" }, example: "acme" }) });

async function planLimits(c: Context<AppEnv>) {
  const rows: Plan[] = await controlDb(c.env).select().from(plans);
  return new Map(rows.map((p) => [p.tier, p]));
}

const asFeatures = (names: string[]) => names.filter(isFeature);

function view(row: TenantRow, byTier: Map<string, Plan>): z.infer<typeof TenantSchema> {
  const plan = byTier.get(row.tier);
  const planLimits = plan?.limits;
  return {
    id: row.id,
    name: row.name,
    status: apiStatus(row),
    tier: row.tier,
    jurisdiction: (row.jurisdiction as "eu" | "fedramp" | null) ?? null,
    limits: planLimits ? effectiveLimits(planLimits, row.limitOverrides) : (row.limitOverrides as never),
    limitOverrides: row.limitOverrides as Record<string, number>,
    settings: effectiveSettings(row.settings),
    legalHold: row.legalHold,
    owner: row.ownerSub,
    externalId: row.externalId,
    parent: row.parent,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    cancelledAt: row.cancelledAt,
    trialEndsAt: row.trialEndsAt,
    subscription: {
      tier: row.tier,
      startDate: row.subscriptionStart,
      endDate: row.subscriptionEnd,
      features: asFeatures(effectiveFeatures(plan?.features ?? [], row.extraFeatures)),
      extraFeatures: asFeatures(row.extraFeatures),
    },
    config: { version: row.revision, applied: row.configApplied },
  };
}

const isAfter = (v: unknown): v is { after: string } =>
  typeof v === "object" && v !== null && typeof (v as { after?: unknown }).after === "string";

export const tenantRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants",
      tags: ["Tenants"],
      summary: "Create and provision a tenant",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { body: jsonBody(CreateTenantSchema) },
      responses: { 201: jsonResponse(TenantSchema, "The new tenant."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const lowered = belowFloorReason(c, c.req.valid("json").settings);
      const row = await createTenant(c.env, actor, c.req.valid("json"));
      await auditFloorLowered(c.env, actor, row.id, lowered);
      return c.json(view(row, await planLimits(c)), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants",
      tags: ["Tenants"],
      summary: "List tenants",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { query: ListTenantsQuery },
      responses: { 200: jsonResponse(listOf(TenantSchema), "A page of tenants."), ...commonErrors },
    }),
    async (c) => {
      requireAdmin(c);
      const { cursor, limit, ...filters } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor, isAfter).after : undefined;
      const rows = await listTenants(c.env, { ...filters, after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const limits = await planLimits(c);
      const last = page.at(-1);
      return c.json(
        {
          items: page.map((r) => view(r, limits)),
          nextCursor: rows.length > limit && last ? encodeCursor({ after: last.id }) : null,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}",
      tags: ["Tenants"],
      summary: "Get a tenant (platform admin, or the tenant's own owner/admin)",
      security: bearerSecurity,
      request: { params: IdParam },
      responses: { 200: jsonResponse(TenantSchema, "The tenant."), ...commonErrors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (c.get("principal").kind !== "admin") {
        // A tenant user reaches only their own tenant (another id answers 404), with tenant:read.
        const t = await tenantClient(c, id);
        await t.call((s, caller) => s.check(caller, "tenant:read"));
      }
      return c.json(view(await getTenant(c.env, id), await planLimits(c)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/tenants/{id}",
      tags: ["Tenants"],
      summary: "Update name, tier, settings, legal hold or limit overrides",
      description:
        "settings.auditRetentionDays below 2557 (7 years) needs an X-Silo-Reason header, recorded in the admin audit.",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: IdParam, body: jsonBody(UpdateTenantSchema) },
      responses: { 200: jsonResponse(TenantSchema, "The updated tenant."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const lowered = belowFloorReason(c, c.req.valid("json").settings);
      const row = await updateTenant(c.env, actor, c.req.valid("param").id, c.req.valid("json"));
      await auditFloorLowered(c.env, actor, row.id, lowered);
      return c.json(view(row, await planLimits(c)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/tenants/{id}",
      tags: ["Tenants"],
      summary: "Cancel a tenant (data kept for the grace period)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: IdParam },
      responses: { 200: jsonResponse(TenantSchema, "The cancelled tenant."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const row = await transitionTenant(c.env, actor, c.req.valid("param").id, "cancel");
      return c.json(view(row, await planLimits(c)), 200);
    },
  );

for (const action of ["suspend", "resume", "restore"] as const) {
  tenantRoutes.openapi(
    createRoute({
      method: "post",
      path: `/v1/tenants/{id}/${action}`,
      tags: ["Tenants"],
      summary: `${action[0]?.toUpperCase()}${action.slice(1)} a tenant`,
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: IdParam },
      responses: { 200: jsonResponse(TenantSchema, "The tenant after the change."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const row = await transitionTenant(c.env, actor, c.req.valid("param").id, action);
      return c.json(view(row, await planLimits(c)), 200);
    },
  );
}
