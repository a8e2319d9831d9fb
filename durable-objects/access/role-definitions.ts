// What a role grants: a set of permissions and a classification clearance. Built-in roles come
// from the catalogue; custom ones from the roles table, their clearance kept beside the
// permissions as one "clearance:<level>" entry.

import { CLASSIFICATIONS as CLEARANCES, type Classification as Clearance, type Permission } from "../contract/access";
import { nameTable } from "../contract/name-table";
import type { Principal } from "./authorize";
import { BUILTIN_ROLES, isPermission } from "./permissions";

export const CLEARANCE_PREFIX = "clearance:";

export const BUILTIN_CLEARANCE: Record<string, Clearance> = nameTable({
  owner: "restricted",
  admin: "restricted",
  editor: "confidential",
  viewer: "internal",
});

export function clearanceOf(stored: string[]): Clearance {
  const entry = stored.find((p) => p.startsWith(CLEARANCE_PREFIX))?.slice(CLEARANCE_PREFIX.length);
  return (CLEARANCES as readonly string[]).includes(entry ?? "") ? (entry as Clearance) : "internal";
}

/** 0 (public) to 3 (restricted). */
export const clearanceLevel = (c: Clearance): number => CLEARANCES.indexOf(c);

export interface RoleGrant {
  permissions: Set<Permission>;
  clearance: Clearance;
}

/** A custom role's stored entries (permissions and its clearance entry), or undefined. */
export function customRole(sql: SqlStorage, name: string): string[] | undefined {
  const row = sql.exec<{ permissions: string }>("SELECT permissions FROM roles WHERE name = ?", name).toArray()[0];
  return row ? (JSON.parse(row.permissions) as string[]) : undefined;
}

/** Whether a role of this name exists, built in or custom. */
export const roleExists = (sql: SqlStorage, name: string): boolean =>
  Boolean(BUILTIN_ROLES[name]) || customRole(sql, name) !== undefined;

/** What the named role grants, or undefined when there is no such role. */
export function roleGrant(sql: SqlStorage, name: string): RoleGrant | undefined {
  const builtin = BUILTIN_ROLES[name];
  if (builtin) return { permissions: new Set(builtin), clearance: BUILTIN_CLEARANCE[name] ?? "internal" };
  const stored = customRole(sql, name);
  if (!stored) return undefined;
  return { permissions: new Set(stored.filter(isPermission)), clearance: clearanceOf(stored) };
}

/** What the roles grant together: the union of permissions, the highest clearance (unknown: nothing). */
export function rolesGrant(sql: SqlStorage, roles: readonly string[]): RoleGrant & { level: number } {
  const permissions = new Set<Permission>();
  let level = 0;
  for (const name of roles) {
    const grant = roleGrant(sql, name);
    if (!grant) continue;
    for (const p of grant.permissions) permissions.add(p);
    level = Math.max(level, clearanceLevel(grant.clearance));
  }
  return { permissions, clearance: CLEARANCES[level] as Clearance, level };
}

/**
 * The clearance level `p` acts with: its roles' highest, and no higher than its token's roles'
 * when a token narrows it (a member holding admin, signed in as viewer, clears what viewers do).
 */
export function clearanceLevelOf(sql: SqlStorage, p: Principal): number {
  const level = rolesGrant(sql, p.roles).level;
  return p.tokenRoles ? Math.min(level, rolesGrant(sql, p.tokenRoles).level) : level;
}

/** The roles through which a share to a role reaches `p`: its own, only those its token names. */
export const shareRolesOf = (p: Principal): string[] => {
  const narrowed = p.tokenRoles;
  return narrowed ? p.roles.filter((r) => narrowed.includes(r)) : p.roles;
};
