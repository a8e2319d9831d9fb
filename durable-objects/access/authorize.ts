// Decides whether a caller may act in this tenant: tenant status, membership (with just-in-time
// joining), token-role narrowing and one named permission. Denials reaching the tenant are audited.

import { noteRefused } from "../audit/access-audit";
import { appendAudit } from "../audit/audit-chain";
import { appendChange } from "../changes/change-log";
import type { Permission } from "../contract/access";
import { actorOf, type Caller, isElevated } from "../contract/caller";
import type { TenantConfig } from "../contract/config";
import { type Failure, fail, ok, type Result } from "../contract/result";
import { members } from "../db/schema";
import type { Db } from "../db/store";
import { keyPermissions } from "./api-keys";
import { permissionsOf } from "./permissions";
import { cachedPrincipal, principalKey, rememberPrincipal } from "./principal-cache";
import { customRole, roleExists } from "./role-definitions";

export interface Principal {
  /** "reference": a descendant tenant's member reading shared collections (org/reference.ts). */
  kind: Caller["kind"] | "reference";
  sub: string;
  /** How the audit trail names this caller: user:<sub>, admin:<sub> or key:<id>. */
  actor: string;
  roles: string[];
  /**
   * The roles a token narrows the member to (its roles claim), or none: clearance and role shares
   * then count only as far as these reach, as permissions do (role-definitions.ts).
   */
  tokenRoles?: readonly string[] | null;
  permissions: Set<Permission>;
  /**
   * Whether the caller acts with owner rights (making, demoting and removing owners): members
   * holding `owner` (unless their token's roles leave it out) and platform admins.
   */
  owner?: boolean;
  /** A reference reader: never an owner, never a share's grantee, a fixed clearance. */
  reference?: boolean;
}

/** The query builder, built only when a decision has to write (audit, auto-join). */
type LazyDb = () => Db;

/** The answer for a tenant that is not (or no longer) able to serve, or null when it can. */
export function statusFailure(config: TenantConfig | null): Failure | null {
  if (!config) return fail("not_found", "Tenant not found.");
  if (config.status === "suspended") return fail("tenant_suspended", "This tenant is suspended.");
  if (config.status === "cancelled") return fail("tenant_cancelled", "This tenant has been cancelled.");
  return null;
}

/**
 * The refusal for a route behind a feature the tenant's plan (and subscription) lacks, or null.
 * A configuration pushed before features existed grants them all.
 */
export function featureFailure(config: TenantConfig, caller: Pick<Caller, "feature">): Failure | null {
  const feature = caller.feature;
  if (!feature || !config.features || config.features.includes(feature)) return null;
  return fail("feature_not_in_plan", `This tenant's plan does not include '${feature}'.`, {
    feature,
    tier: config.tier,
  });
}

/** The caller's principal, when the tenant serves, they may act in it, hold `permission` and the route's feature is in the plan. */
export function authorize(
  db: LazyDb,
  storage: DurableObjectStorage,
  config: TenantConfig | null,
  caller: Caller,
  permission: Permission | null,
  join = true,
): Result<Principal> {
  const p = admitCaller(db, storage, config, caller, permission, join);
  // Judged after membership: only the tenant's own callers learn what its plan holds.
  return (p.ok && config && featureFailure(config, caller)) || p;
}

/**
 * A caller kept past its request (a live subscriber, a webhook's registrant), judged again at each
 * event: as `authorize`, except that it never joins the tenant (a member removed stays removed
 * under autoJoinRole) and a platform admin's or ancestor's elevated access, checked only at the
 * request that made it, is never kept.
 */
export function authorizeStored(
  db: LazyDb,
  storage: DurableObjectStorage,
  config: TenantConfig | null,
  caller: Caller,
  permission: Permission | null,
): Result<Principal> {
  if (isElevated(caller)) return storedElevated();
  return authorize(db, storage, config, caller, permission, false);
}

/** The refusal for keeping a platform admin's or an ancestor's elevated access past its request. */
export const storedElevated = () =>
  fail("forbidden", "Live changes and webhooks are for the tenant's own members and API keys.");

function admitCaller(
  db: LazyDb,
  storage: DurableObjectStorage,
  config: TenantConfig | null,
  caller: Caller,
  permission: Permission | null,
  join: boolean,
): Result<Principal> {
  const down = statusFailure(config);
  if (down) return down;
  if (caller.kind === "apikey") return keyPrincipal(db, storage, caller, permission);
  // A tenant user seen before by this object: its principal from the cache (principal-cache.ts).
  const key = caller.kind === "user" ? principalKey(caller.sub, caller.tokenRoles) : null;
  const cached = key === null ? undefined : cachedPrincipal(storage, key);
  if (cached) {
    if (permission && !cached.permissions.has(permission)) {
      return deny(db, caller, `Missing permission ${permission}.`, { permission });
    }
    const { roles, permissions, owner } = cached;
    return ok({
      kind: caller.kind,
      sub: caller.sub,
      actor: actorOf(caller),
      roles: [...roles],
      tokenRoles: caller.tokenRoles,
      permissions: new Set(permissions),
      owner,
    });
  }
  const resolved = isElevated(caller)
    ? elevatedRoles(db, caller)
    : memberRoles(db, storage.sql, config as TenantConfig, caller, join);
  if (!resolved.ok) return resolved;
  const lookup = (n: string) => customRole(storage.sql, n);
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
    tokenRoles: caller.tokenRoles,
    permissions,
    owner: resolved.value.includes("owner") && (!caller.tokenRoles || caller.tokenRoles.includes("owner")),
  };
  if (key !== null) {
    rememberPrincipal(storage, key, {
      roles: [...principal.roles],
      permissions: new Set(principal.permissions),
      owner: principal.owner === true,
    });
  }
  if (permission && !principal.permissions.has(permission)) {
    return deny(db, caller, `Missing permission ${permission}.`, { permission });
  }
  return ok(principal);
}

function keyPrincipal(
  db: LazyDb,
  storage: DurableObjectStorage,
  caller: Caller,
  permission: Permission | null,
): Result<Principal> {
  const permissions = keyPermissions({ sql: storage.sql, storage }, caller.sub, caller.keyHash ?? "", (n) =>
    customRole(storage.sql, n),
  );
  if (!permissions) {
    // Buffered and capped (audit/access-audit.ts): guessed keys cannot make a write each.
    noteRefused(storage, {
      actor: actorOf(caller),
      action: "auth.refused",
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

function elevatedRoles(db: LazyDb, caller: Caller): Result<string[]> {
  // A platform admin inside a tenant, or a member of an ancestor tenant with org:manage, acts with
  // owner rights; every such request is on the record (the ancestor's chain has it too).
  appendAudit(db(), {
    actor: actorOf(caller),
    action: caller.kind === "org" ? "org_admin.access" : "platform_admin.access",
    resource: "tenant",
    success: true,
    details:
      caller.kind === "org"
        ? { reason: caller.reason, org: caller.org ?? null, requestId: caller.requestId }
        : { reason: caller.reason, requestId: caller.requestId },
  });
  return ok(["owner"]);
}

// The two lookups on every request are plain SQL on the object's own database (its statement
// cache keeps them compiled): building them with the query builder cost a fifth of a read.
function memberRoles(
  db: LazyDb,
  sql: SqlStorage,
  config: TenantConfig,
  caller: Caller,
  join: boolean,
): Result<string[]> {
  const member = sql.exec<{ roles: string }>("SELECT roles FROM members WHERE sub = ?", caller.sub).toArray()[0];
  if (member) return ok(JSON.parse(member.roles) as string[]);
  const joinRole = config.settings.autoJoinRole;
  if (join && joinRole && roleExists(sql, joinRole)) {
    const now = new Date().toISOString();
    const tx = db();
    tx.transaction(() => {
      tx.insert(members)
        .values({ sub: caller.sub, roles: [joinRole], createdAt: now, updatedAt: now })
        .run();
      appendAudit(tx, {
        actor: actorOf(caller),
        action: "member.auto_joined",
        resource: `member:${caller.sub}`,
        success: true,
        details: { roles: [joinRole] },
      });
      appendChange(tx, { type: "member.changed", actor: actorOf(caller), id: caller.sub });
    });
    return ok([joinRole]);
  }
  return deny(db, caller, "You are not a member of this tenant.", {});
}

function deny(db: LazyDb, caller: Caller, detail: string, details: Record<string, unknown>): Failure {
  appendAudit(db(), {
    actor: actorOf(caller),
    action: "access.denied",
    resource: "tenant",
    success: false,
    details: { ...details, requestId: caller.requestId },
  });
  return fail("forbidden", detail);
}
