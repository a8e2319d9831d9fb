// Turns the authenticated principal into the tenant a data-plane request acts in and the Caller
// the tenant's object sees. The tenant comes from the credential; a header or path naming another
// tenant answers 404. Platform admins must name the tenant and state a reason, which is audited.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Caller } from "../durable-objects/contract/caller";
import { featureOfRoute } from "../durable-objects/contract/features";
import { isTenantId } from "../durable-objects/contract/tenant-id";
import type { AppEnv } from "./context";
import { adminAuditInsert, controlDb } from "./control/control-db";
import { forbidden, invalid, notFound } from "./errors";
import { resolveJurisdiction } from "./jurisdiction";
import { MAX_REASON_LENGTH, orgCall } from "./org-access";

export interface TenantCall {
  tenantId: string;
  caller: Caller;
}

export async function tenantCall(c: Context<AppEnv>, pathTenant?: string): Promise<TenantCall> {
  const principal = c.get("principal");
  const requestId = c.get("requestId");
  const headerTenant = c.req.header("x-silo-tenant");
  // The plan feature this route needs: the tenant's object refuses it when the plan lacks it.
  const feature = featureOfRoute(c.req.path);
  if (principal.kind !== "admin") {
    const caller: Caller =
      principal.kind === "user"
        ? { kind: "user", sub: principal.sub, tokenRoles: principal.tokenRoles, reason: null, requestId, feature }
        : {
            kind: "apikey",
            sub: principal.keyId,
            keyHash: principal.keyHash,
            tokenRoles: null,
            reason: null,
            requestId,
            feature,
          };
    const located: Caller = { ...caller, ...originOf(c) };
    // Another tenant named: reachable only as a descendant, by a member with org:manage.
    const other = headerTenant !== undefined && headerTenant !== principal.tenantId;
    if (other && (pathTenant === undefined || pathTenant === headerTenant)) {
      return orgCall(c, principal.tenantId, located, headerTenant);
    }
    for (const named of [headerTenant, pathTenant]) {
      if (named !== undefined && named !== principal.tenantId) throw notFound();
    }
    await resolveJurisdiction(c.env, principal.tenantId);
    return { tenantId: principal.tenantId, caller: located };
  }
  const tenantId = pathTenant ?? headerTenant;
  const reason = c.req.header("x-silo-reason")?.trim();
  if (!tenantId) throw invalid("Platform admins name the tenant to act in with the X-Silo-Tenant header.");
  if (!isTenantId(tenantId)) throw notFound();
  if (pathTenant && headerTenant && headerTenant !== pathTenant) throw notFound();
  if (!reason) throw invalid("Platform admins state why they act inside a tenant with the X-Silo-Reason header.");
  if (reason.length > MAX_REASON_LENGTH) throw invalid(`X-Silo-Reason is limited to ${MAX_REASON_LENGTH} characters.`);
  const db = controlDb(c.env);
  await adminAuditInsert(db, { sub: principal.sub, requestId }, "tenant.data_access", tenantId, {
    reason,
    method: c.req.method,
    path: c.req.path,
  });
  await resolveJurisdiction(c.env, tenantId);
  const caller: Caller = {
    kind: "admin",
    sub: principal.sub,
    tokenRoles: null,
    reason,
    requestId,
    feature,
    ...originOf(c),
  };
  return { tenantId, caller };
}

/** The client's address and agent as Cloudflare's edge reports them, bounded (audit events carry them). */
export function originOf(c: Context<AppEnv>): { ip: string | null; userAgent: string | null } {
  return {
    ip: c.req.header("cf-connecting-ip")?.slice(0, 64) ?? null,
    userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
  };
}

/** The admin actor for control-plane routes; anyone else is refused. */
export function requireAdmin(c: Context<AppEnv>) {
  const principal = c.get("principal");
  if (principal.kind !== "admin") throw forbidden("This endpoint is for platform administrators.");
  return { sub: principal.sub, requestId: c.get("requestId") };
}

/** Route middleware: refuses non-admins before the request body is even validated. */
export const adminOnly = createMiddleware<AppEnv>(async (c, next) => {
  requireAdmin(c);
  await next();
});

/** How the audit trails name an authenticated principal (as actorOf names a Caller). */
export function principalActor(principal: AppEnv["Variables"]["principal"]): string {
  if (principal.kind === "apikey") return `key:${principal.keyId}`;
  return `${principal.kind}:${principal.sub}`;
}
