// Plans and billing statements (platform admins).
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, inArray, sql } from "drizzle-orm";
import { FEATURES, isFeature } from "../../durable-objects/contract/features";
import { adminOnly, requireAdmin } from "../caller";
import { statements } from "../control/billing";
import { adminAuditInsert, controlDb } from "../control/control-db";
import { plans, tenants } from "../control/schema";
import { pushConfig } from "../control/tenant-service";
import { bearerSecurity, commonErrors, jsonBody, jsonResponse, listOf, newRouter } from "../openapi";
import { LimitsSchema } from "./tenant-schemas";

const PricesSchema = z
  .strictObject({
    baseCents: z.number().int().min(0),
    included: z.strictObject({
      requests: z.number().int().min(0),
      records: z.number().int().min(0),
      storageBytes: z.number().int().min(0),
    }),
    overageCents: z.strictObject({
      per1kRequests: z.number().int().min(0),
      per1kRecords: z.number().int().min(0),
      perGbStorage: z.number().int().min(0),
    }),
  })
  .openapi("PlanPrices");

const FeaturesSchema = z
  .array(z.enum(FEATURES))
  .max(FEATURES.length)
  .openapi({ description: "The data-plane features the plan grants (README: Plans and features)." });

const PlanSchema = z
  .object({
    tier: z.string(),
    name: z.string(),
    limits: LimitsSchema,
    prices: PricesSchema,
    features: FeaturesSchema,
    updatedAt: z.string(),
  })
  .openapi("Plan");

const StatementSchema = z
  .object({
    tenant: z.string(),
    tier: z.string(),
    period: z.string(),
    usage: z.object({ requests: z.number(), records: z.number(), storageBytes: z.number() }),
    included: z.object({ requests: z.number(), records: z.number(), storageBytes: z.number() }),
    overage: z.object({ requests: z.number(), records: z.number(), storageBytes: z.number() }),
    amountCents: z.object({ base: z.number(), overage: z.number(), total: z.number() }),
    platformCost: z.object({
      units: z.object({
        requests: z.number(),
        rowsRead: z.number(),
        rowsWritten: z.number(),
        databaseGbMonth: z.number(),
        r2GbMonth: z.number(),
      }),
      cents: z.number(),
    }),
    marginCents: z.number(),
  })
  .openapi("StatementLine");

const PUSH_CONCURRENCY = 8;

export const billingRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/plans",
      tags: ["Billing"],
      summary: "Plans with their limits and prices",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      responses: { 200: jsonResponse(listOf(PlanSchema), "All plans."), ...commonErrors },
    }),
    async (c) => {
      const rows = await controlDb(c.env).select().from(plans).orderBy(plans.tier);
      return c.json(
        { items: rows.map((p) => ({ ...p, features: p.features.filter(isFeature) })), nextCursor: null },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/plans/{tier}",
      tags: ["Billing"],
      summary: "Create or change a plan; tenants on it get the new limits and features at once",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: {
        params: z.object({
          tier: z
            .string()
            .regex(/^[a-z][a-z0-9-]{1,39}$/)
            .openapi({ param: { name: "tier", in: "path" } }),
        }),
        body: jsonBody(
          z.strictObject({
            name: z.string().min(1).max(100),
            limits: LimitsSchema.strict(),
            prices: PricesSchema,
            features: FeaturesSchema.optional().openapi({
              description: "Left out: a new plan grants every feature, a changed one keeps its own.",
            }),
          }),
        ),
      },
      responses: { 200: jsonResponse(PlanSchema.extend({ tenantsUpdated: z.number() }), "The plan."), ...commonErrors },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const { tier } = c.req.valid("param");
      const body = c.req.valid("json");
      const db = controlDb(c.env);
      const { features, ...rest } = body;
      const row = {
        tier,
        ...rest,
        ...(features ? { features: [...new Set(features)] } : {}),
        updatedAt: new Date().toISOString(),
      };
      const [[saved]] = await db.batch([
        db.insert(plans).values(row).onConflictDoUpdate({ target: plans.tier, set: row }).returning(),
        adminAuditInsert(db, actor, "plan.update", null, { tier, features: features ?? null }),
      ]);
      // Tenants on this tier get the new effective limits now: a new revision, pushed.
      const live = await db
        .update(tenants)
        .set({ revision: sql`${tenants.revision} + 1`, updatedAt: row.updatedAt })
        .where(and(eq(tenants.tier, tier), inArray(tenants.status, ["active", "suspended", "cancelled"])))
        .returning();
      for (let i = 0; i < live.length; i += PUSH_CONCURRENCY) {
        await Promise.all(live.slice(i, i + PUSH_CONCURRENCY).map((t) => pushConfig(c.env, db, actor, t)));
      }
      const plan = saved ?? { ...row, features: [] };
      return c.json({ ...plan, features: plan.features.filter(isFeature), tenantsUpdated: live.length }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/billing/statements",
      tags: ["Billing"],
      summary: "Per-tenant usage, included amounts, overage and amount for a closed period",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: {
        query: z.object({
          period: z
            .string()
            .regex(/^\d{4}-(0[1-9]|1[0-2])$/)
            .openapi({ example: "2026-10" }),
        }),
      },
      responses: {
        200: jsonResponse(
          listOf(StatementSchema).extend({ period: z.string(), totalCents: z.number() }),
          "Statement lines, one per tenant with usage in the period.",
        ),
        ...commonErrors,
      },
    }),
    async (c) => {
      const { period } = c.req.valid("query");
      const lines = await statements(controlDb(c.env), period);
      const totalCents = lines.reduce((sum, l) => sum + l.amountCents.total, 0);
      return c.json({ period, items: lines, nextCursor: null, totalCents }, 200);
    },
  );
