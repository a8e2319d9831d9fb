// Organisations (DESIGN §13): members whose roles grant org:manage list, create, suspend and resume
// their tenant's descendants and run the read-only cross-tenant aggregate over them. Everything
// outside the subtree answers 404, so the registry cannot be probed from here.
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { actorOf, type Caller } from "../../durable-objects/contract/caller";
import { SubjectSchema } from "../../durable-objects/contract/identifiers";
import { AggregateSchema, type AggregateSpec } from "../../durable-objects/contract/lifecycle";
import type { AppEnv } from "../context";
import { type AggregateTarget, aggregateStream, unknownTarget } from "../control/aggregate-fanout";
import type { AdminActor } from "../control/control-db";
import { controlDb } from "../control/control-db";
import { ancestorsOf, type DescendantRow, descendantCount, descendantsOf, isDescendant } from "../control/org-tree";
import { requirePlan } from "../control/plans";
import { adminAudit } from "../control/schema";
import { apiStatus, effectiveLimits } from "../control/tenant-config";
import { createTenant, getTenant, transitionTenant } from "../control/tenant-service";
import { decodeCursor, encodeCursor } from "../cursor";
import { ApiError, notFound } from "../errors";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, listOf, newRouter } from "../openapi";
import { type TenantClient, tenantClient } from "../tenant-client";
import { ExternalIdSchema, TenantIdSchema, TenantStatusSchema } from "./tenant-schemas";

/** Descendants an organisation may create through these routes (platform admins are not bound by it). */
export const ORG_MAX_DESCENDANTS = 100;
const PAGE = 100;

/** A descendant tenant as its organisation sees it (GET /v1/org/tenants). */
export const OrgTenantSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: TenantStatusSchema,
  /** Set while the tenant is on trial. */
  trialEndsAt: z.string().nullable(),
  tier: z.string(),
  parent: z.string(),
  /** 1 for a child of the caller's tenant, 2 for a grandchild. */
  depth: z.number().int(),
  /** The usage gauges and counters the tenant's object last reported (requests, records, bytes...). */
  usage: z.record(z.string(), z.number()),
  reportedAt: z.string().nullable(),
  createdAt: z.string(),
});

const OrgTenant = OrgTenantSchema.openapi("OrgTenant");

const CreateChildSchema = z
  .strictObject({
    id: TenantIdSchema.optional(),
    name: z.string().trim().min(1).max(200),
    tier: z.string().min(1).max(40).optional().openapi({ description: "Default: the parent's tier." }),
    externalId: ExternalIdSchema.optional(),
    owner: z.strictObject({
      sub: SubjectSchema,
      email: z.email().max(320).nullable().optional(),
      displayName: z.string().max(200).nullable().optional(),
    }),
  })
  .openapi("CreateChildTenant", { example: { id: "acme-eu", name: "Acme EU", owner: { sub: "erika" } } });

const IdParam = z.object({ id: TenantIdSchema.openapi({ param: { name: "id", in: "path" }, example: "acme-eu" }) });

const isAfter = (v: unknown): v is { after: string } =>
  typeof v === "object" && v !== null && typeof (v as { after?: unknown }).after === "string";

/** The caller's tenant, once its object says the caller holds org:manage there. */
async function orgScope(c: Context<AppEnv>): Promise<TenantClient> {
  const t = await tenantClient(c);
  await t.call((s, caller) => s.check(caller, "org:manage"));
  return t;
}

/** How the admin audit names an org:manage holder: org:<their tenant>:<sub>, as the chains do. */
function orgActor(t: TenantClient): AdminActor {
  const caller: Caller = t.caller;
  const name =
    caller.kind === "user" || caller.kind === "apikey"
      ? actorOf({ ...caller, kind: "org", org: t.tenantId })
      : actorOf(caller);
  return { sub: caller.sub, requestId: caller.requestId, name };
}

const view = (r: DescendantRow): z.infer<typeof OrgTenantSchema> => ({
  id: r.id,
  name: r.name,
  status: apiStatus(r),
  trialEndsAt: r.trialEndsAt,
  tier: r.tier,
  parent: r.parent,
  depth: r.depth,
  usage: r.usage,
  reportedAt: r.reportedAt,
  createdAt: r.createdAt,
});

async function descendantView(env: Env, root: string, id: string): Promise<z.infer<typeof OrgTenantSchema>> {
  const row = await getTenant(env, id);
  const depth = (await ancestorsOf(env, id)).indexOf(root) + 1;
  return view({ ...row, parent: row.parent ?? root, depth, reportedAt: row.reportedAt, usage: row.usage });
}

/** A child's plan never exceeds its parent's: each of its limits at most the parent's effective one. */
async function requireWithinParent(env: Env, parentId: string, tier: string) {
  const db = controlDb(env);
  const parent = await getTenant(env, parentId);
  const parentLimits = effectiveLimits((await requirePlan(db, parent.tier)).limits, parent.limitOverrides);
  const childLimits = (await requirePlan(db, tier)).limits;
  const over = Object.entries(childLimits).find(([k, v]) => v > parentLimits[k as keyof typeof parentLimits]);
  if (over) {
    throw new ApiError(
      "forbidden",
      `Tier '${tier}' exceeds this tenant's plan (${over[0]}); a child's plan never does.`,
      {
        field: "tier",
      },
    );
  }
  const count = await descendantCount(env, parentId);
  if (count >= ORG_MAX_DESCENDANTS) {
    throw new ApiError("quota_exceeded", `An organisation may create ${ORG_MAX_DESCENDANTS} descendant tenants.`, {
      limit: ORG_MAX_DESCENDANTS,
      current: count,
    });
  }
  return parent;
}

/**
 * An organisation resumes only what an organisation suspended: a tenant the platform suspended (an
 * operator, or a sweep such as an expired trial) stays suspended until a platform admin resumes it.
 */
async function requireOrgSuspension(env: Env, id: string): Promise<void> {
  const last = await controlDb(env)
    .select({ actor: adminAudit.actor })
    .from(adminAudit)
    .where(and(eq(adminAudit.target, id), eq(adminAudit.action, "tenant.suspend"), eq(adminAudit.success, true)))
    .orderBy(desc(adminAudit.id))
    .limit(1)
    .get();
  if (last && !last.actor.startsWith("org:")) {
    throw new ApiError("forbidden", `Tenant '${id}' was suspended by the platform; only a platform admin resumes it.`);
  }
}

async function* descendantTargets(env: Env, root: string, spec: AggregateSpec): AsyncGenerator<AggregateTarget[]> {
  let after = "";
  const named = spec.tenants ? new Map<string, AggregateTarget>() : null;
  for (;;) {
    const rows = await descendantsOf(env, root, after, PAGE);
    if (rows.length === 0) break;
    after = (rows.at(-1) as DescendantRow).id;
    if (named) for (const r of rows) named.set(r.id, r);
    else yield rows.filter((r) => r.status === "active");
  }
  // Named tenants: a non-descendant answers exactly like an unknown id.
  if (spec.tenants && named) {
    for (let i = 0; i < spec.tenants.length; i += PAGE) {
      yield spec.tenants.slice(i, i + PAGE).map((id) => named.get(id) ?? unknownTarget(id));
    }
  }
}

export const orgRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/org/tenants",
      tags: ["Organisations"],
      summary: "The caller's tenant's descendants, with status and last reported usage (org:manage)",
      security: bearerSecurity,
      request: {
        query: z.object({
          cursor: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      responses: { 200: jsonResponse(listOf(OrgTenant), "A page of descendants, by id."), ...commonErrors },
    }),
    async (c) => {
      const t = await orgScope(c);
      const { cursor, limit } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor, isAfter).after : "";
      const rows = await descendantsOf(c.env, t.tenantId, after, limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return c.json(
        {
          items: page.map(view),
          nextCursor: rows.length > limit && last ? encodeCursor({ after: last.id }) : null,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/org/tenants",
      tags: ["Organisations"],
      summary: "Create a child of the caller's tenant, within its plan (org:manage)",
      security: bearerSecurity,
      request: { body: jsonBody(CreateChildSchema) },
      responses: { 201: jsonResponse(OrgTenant, "The new child tenant."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const t = await orgScope(c);
      const input = c.req.valid("json");
      const parent = await requireWithinParent(
        c.env,
        t.tenantId,
        input.tier ?? (await getTenant(c.env, t.tenantId)).tier,
      );
      const row = await createTenant(c.env, orgActor(t), {
        ...input,
        tier: input.tier ?? parent.tier,
        jurisdiction: parent.jurisdiction,
        parent: t.tenantId,
      });
      await t.call((s, caller) => s.orgAction(caller, "org.tenant_create", row.id, { tier: row.tier }));
      return c.json(view({ ...row, parent: t.tenantId, depth: 1 }), 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/org/query",
      tags: ["Organisations"],
      summary: "A read-only aggregate over one collection across the caller's descendants, as NDJSON (org:manage)",
      security: bearerSecurity,
      request: {
        body: jsonBody(
          AggregateSchema.openapi("OrgQuery", {
            example: { collection: "orders", aggregate: "count", field: null, groupBy: null, tenants: null },
          }),
        ),
      },
      responses: {
        200: {
          description:
            'One line per descendant: {"tenant":"acme-eu","result":...} or {"tenant":"x","error":{"code":...}}.',
          content: { "application/x-ndjson": { schema: { type: "string" } } },
        },
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await orgScope(c);
      const spec = c.req.valid("json");
      await t.call((s, caller) => s.orgAction(caller, "org.query", t.tenantId, { ...spec }));
      const pages = descendantTargets(c.env, t.tenantId, spec);
      return aggregateStream(c.env, c.executionCtx as ExecutionContext, pages, spec) as never;
    },
  );

for (const action of ["suspend", "resume"] as const) {
  orgRoutes.openapi(
    createRoute({
      method: "post",
      path: `/v1/org/tenants/{id}/${action}`,
      tags: ["Organisations"],
      summary: `${action === "suspend" ? "Suspend" : "Resume"} a descendant tenant (org:manage); any other id is 404`,
      security: bearerSecurity,
      request: { params: IdParam },
      responses: {
        200: jsonResponse(OrgTenant, "The descendant after the change."),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const t = await orgScope(c);
      const { id } = c.req.valid("param");
      if (!(await isDescendant(c.env, t.tenantId, id))) throw notFound(`Tenant '${id}' not found.`);
      if (action === "resume") await requireOrgSuspension(c.env, id);
      await transitionTenant(c.env, orgActor(t), id, action);
      await t.call((s, caller) => s.orgAction(caller, `org.tenant_${action}`, id, {}));
      return c.json(await descendantView(c.env, t.tenantId, id), 200);
    },
  );
}
