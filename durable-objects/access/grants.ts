// The one rule for handing out access: no one grants what they do not hold. Roles given to a
// member, a custom role defined or redefined, a member changed or removed, an API key's scopes:
// each must lie within the granter's own permissions and classification clearance, and only
// owners make, demote or remove owners. Members, roles and API keys all ask here.
import { appendAudit } from "../audit/audit-chain";
import type { Permission } from "../contract/access";
import { CLASSIFICATIONS, type Classification as Clearance } from "../contract/access";
import { type Failure, fail } from "../contract/result";
import type { Store } from "../db/store";
import type { Principal } from "./authorize";
import { clearanceLevel, clearanceLevelOf, roleGrant, rolesGrant } from "./role-definitions";

/** Access being handed out (or taken away, which needs as much). */
export interface Grant {
  permissions: Iterable<Permission>;
  clearance: Clearance;
  /** Whether it makes (or unmakes) an owner. */
  owner: boolean;
}

/** The clearance the caller holds: all of it when it sees every record (collections:manage). */
function heldLevel(store: Store, p: Principal): number {
  if (p.permissions.has("collections:manage")) return CLASSIFICATIONS.length - 1;
  return clearanceLevelOf(store.sql, p);
}

/** What a set of roles amounts to as a grant. */
export function grantOfRoles(store: Store, roles: readonly string[]): Grant {
  const { permissions, clearance } = rolesGrant(store.sql, roles);
  return { permissions, clearance, owner: roles.includes("owner") };
}

/**
 * Null when `p` holds all of `grant`, else the 403 to answer; a refusal is on the audit trail.
 * `doing` completes "You cannot …" ("give these roles", "remove 'bob'").
 */
export function beyondHoldings(
  store: Store,
  p: Principal,
  grant: Grant,
  doing: string,
  resource: string,
): Failure | null {
  let refusal: Failure | null = null;
  const missing = [...grant.permissions].filter((x) => !p.permissions.has(x));
  if (grant.owner && !p.owner) {
    refusal = fail("forbidden", `You cannot ${doing}: only owners make, demote or remove owners.`);
  } else if (missing.length) {
    refusal = fail("forbidden", `You cannot ${doing}: it takes ${missing.join(", ")}, which you do not hold.`, {
      missing,
    });
  } else if (clearanceLevel(grant.clearance) > heldLevel(store, p)) {
    refusal = fail("forbidden", `You cannot ${doing}: it takes clearance '${grant.clearance}', above your own.`);
  }
  if (refusal) {
    appendAudit(store.db, {
      actor: p.actor,
      action: "access.denied",
      resource,
      success: false,
      details: { reason: refusal.detail },
    });
  }
  return refusal;
}

/** Giving `roles` to a member (adding them, or changing their roles). */
export const mayGiveRoles = (store: Store, p: Principal, sub: string, roles: readonly string[]) =>
  beyondHoldings(store, p, grantOfRoles(store, roles), `give '${sub}' the roles ${roles.join(", ")}`, `member:${sub}`);

/** Changing or removing a member who holds `current`: as much as giving them those roles. */
export const mayTouchMember = (store: Store, p: Principal, sub: string, current: readonly string[], verb: string) =>
  beyondHoldings(
    store,
    p,
    grantOfRoles(store, current),
    `${verb} '${sub}', who holds ${current.join(", ")}`,
    `member:${sub}`,
  );

/**
 * Defining a custom role, or changing or deleting one: the caller must hold what it grants now
 * (whose holders it changes) and what it will grant.
 */
export function mayDefineRole(
  store: Store,
  p: Principal,
  name: string,
  next: { permissions: Permission[]; clearance: Clearance } | null,
): Failure | null {
  const current = roleGrant(store.sql, name);
  if (current) {
    const refused = beyondHoldings(store, p, { ...current, owner: false }, `change role '${name}'`, `role:${name}`);
    if (refused) return refused;
  }
  if (!next) return null;
  return beyondHoldings(store, p, { ...next, owner: false }, `define role '${name}' this way`, `role:${name}`);
}

/** An API key's scopes: permissions only (a key carries no clearance of its own). */
export const mayIssueScopes = (store: Store, p: Principal, scopes: Permission[]) =>
  beyondHoldings(store, p, { permissions: scopes, clearance: "public", owner: false }, "issue these scopes", "apikey");
