// Decides whether a caller may act in this tenant: tenant status, membership (with just-in-time
// joining), token-role narrowing and one named permission. Denials reaching the tenant are audited.
import { eq } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { keyPermissions } from "./api-keys";
import { appendAudit } from "./audit-chain";
import { BUILTIN_ROLES, type Permission, permissionsOf } from "./permissions";
import { type Caller, type Failure, fail, ok, type Result, type TenantConfig } from "./rpc-contract";
import type * as schema from "./schema";
import { members, roles } from "./schema";

export interface Principal {
  kind: Caller["kind"];
  sub: string;
  /** How the audit trail names this caller: user:<sub>, admin:<sub> or key:<id>. */
  actor: string;
  roles: string[];
  permissions: Set<Permission>;
}

type Db = DrizzleSqliteDODatabase<typeof schema>;

/** The answer for a tenant that is not (or no longer) able to serve, or null when it can. */
export function statusFailure(config: TenantConfig | null): Failure | null {
  if (!config) return fail("not_found", "Tenant not found.");
  if (config.status === "suspended") return fail("tenant_suspended", "This tenant is suspended.");
  if (config.status === "cancelled") return fail("tenant_cancelled", "This tenant has been cancelled.");
  return null;
}

export function actorOf(caller: Pick<Caller, "kind" | "sub">): string {
  return `${caller.kind === "apikey" ? "key" : caller.kind}:${caller.sub}`;
}

export function authorize(
  db: Db,
  storage: DurableObjectStorage,
  config: TenantConfig | null,
  caller: Caller,
  permission: Permission | null,
): Result<Principal> {
  const down = statusFailure(config);
  if (down) return down;
  if (caller.kind === "apikey") return keyPrincipal(db, storage, caller, permission);
  const resolved = caller.kind === "admin" ? adminRoles(db, caller) : memberRoles(db, config as TenantConfig, caller);
  if (!resolved.ok) return resolved;
  const lookup = (n: string) => customRole(db, n);
  const permissions = permissionsOf(resolved.value, lookup);
  if (caller.tokenRoles) {
    // Roles in a token only narrow: what the member holds AND what the token's roles allow.
    const allowed = permissionsOf(caller.tokenRoles, lookup);
    for (const p of permissions) if (!allowed.has(p)) permissions.delete(p);
  }
  const principal: Principal = {
    kind: caller.kind,
    sub: caller.sub,
    actor: actorOf(caller),
    roles: resolved.value,
    permissions,
  };
  if (permission && !principal.permissions.has(permission)) {
    return deny(db, caller, `Missing permission ${permission}.`, { permission });
  }
  return ok(principal);
}

function keyPrincipal(
  db: Db,
  storage: DurableObjectStorage,
  caller: Caller,
  permission: Permission | null,
): Result<Principal> {
  const permissions = keyPermissions({ sql: storage.sql, storage }, caller.sub, caller.keyHash ?? "", (n) =>
    customRole(db, n),
  );
  if (!permissions) {
    appendAudit(db, {
      actor: actorOf(caller),
      action: "access.denied",
      resource: "tenant",
      success: false,
      details: { reason: "invalid API key", requestId: caller.requestId },
    });
    return fail("unauthenticated", "The API key is unknown, revoked or expired.");
  }
  const principal: Principal = { kind: "apikey", sub: caller.sub, actor: actorOf(caller), roles: [], permissions };
  if (permission && !permissions.has(permission))
    return deny(db, caller, `The API key lacks the ${permission} scope.`, { permission });
  return ok(principal);
}

function adminRoles(db: Db, caller: Caller): Result<string[]> {
  // A platform admin inside a tenant acts with owner rights; every such request is on the record.
  appendAudit(db, {
    actor: actorOf(caller),
    action: "platform_admin.access",
    resource: "tenant",
    success: true,
    details: { reason: caller.reason, requestId: caller.requestId },
  });
  return ok(["owner"]);
}

function memberRoles(db: Db, config: TenantConfig, caller: Caller): Result<string[]> {
  const member = db.select({ roles: members.roles }).from(members).where(eq(members.sub, caller.sub)).get();
  if (member) return ok(member.roles);
  const joinRole = config.settings.autoJoinRole;
  if (joinRole && (BUILTIN_ROLES[joinRole] || customRole(db, joinRole))) {
    const now = new Date().toISOString();
    db.transaction(() => {
      db.insert(members)
        .values({ sub: caller.sub, roles: [joinRole], createdAt: now, updatedAt: now })
        .run();
      appendAudit(db, {
        actor: actorOf(caller),
        action: "member.auto_joined",
        resource: `member:${caller.sub}`,
        success: true,
        details: { roles: [joinRole] },
      });
    });
    return ok([joinRole]);
  }
  return deny(db, caller, "You are not a member of this tenant.", {});
}

export function customRole(db: Db, name: string): string[] | undefined {
  return db.select({ p: roles.permissions }).from(roles).where(eq(roles.name, name)).get()?.p;
}

function deny(db: Db, caller: Caller, detail: string, details: Record<string, unknown>): Failure {
  appendAudit(db, {
    actor: actorOf(caller),
    action: "access.denied",
    resource: "tenant",
    success: false,
    details: { ...details, requestId: caller.requestId },
  });
  return fail("forbidden", detail);
}
