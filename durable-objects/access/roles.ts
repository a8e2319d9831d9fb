// Custom roles: named sets of permissions from the published catalogue, with a classification
// clearance for record ACLs. Built-in roles cannot be redefined; a role in use cannot be deleted;
// a caller defines, changes or deletes only roles within its own holdings (grants.ts).

import { appendAudit } from "../audit/audit-chain";
import type { RoleView } from "../contract/access";
import { RoleSchema } from "../contract/access";
import { fail, failFromZod, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";
import type { Principal } from "./authorize";
import { mayDefineRole } from "./grants";
import { BUILTIN_ROLES } from "./permissions";
import { forgetPrincipals } from "./principal-cache";
import { BUILTIN_CLEARANCE, CLEARANCE_PREFIX, clearanceOf, customRole } from "./role-definitions";

export function listRoles(store: Store): RoleView[] {
  const builtin = Object.entries(BUILTIN_ROLES).map(([name, permissions]) => ({
    name,
    builtin: true,
    permissions: [...permissions],
    clearance: BUILTIN_CLEARANCE[name] ?? "internal",
  }));
  const custom = store.sql
    .exec<{ name: string; permissions: string }>("SELECT name, permissions FROM roles ORDER BY name")
    .toArray()
    .map((r) => {
      const stored: string[] = JSON.parse(r.permissions);
      return {
        name: r.name,
        builtin: false,
        permissions: stored.filter((p) => !p.startsWith(CLEARANCE_PREFIX)),
        clearance: clearanceOf(stored),
      };
    });
  return [...builtin, ...custom];
}

export function putRole(store: Store, p: Principal, name: string, body: unknown): Result<RoleView> {
  if (BUILTIN_ROLES[name]) return fail("conflict", `'${name}' is a built-in role.`);
  const parsed = RoleSchema.safeParse(body);
  if (!parsed.success) return failFromZod(parsed.error);
  const { permissions, clearance } = parsed.data;
  const refused = mayDefineRole(store, p, name, { permissions, clearance });
  if (refused) return refused;
  const now = new Date().toISOString();
  store.storage.transactionSync(() => {
    store.sql.exec(
      `INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, updated_at = excluded.updated_at`,
      name,
      JSON.stringify([...new Set(permissions), `${CLEARANCE_PREFIX}${clearance}`]),
      now,
      now,
    );
    forgetPrincipals(store.storage);
    appendAudit(store.db, {
      actor: p.actor,
      action: "role.put",
      resource: `role:${name}`,
      success: true,
      details: { permissions, clearance },
    });
  });
  return ok({ name, builtin: false, permissions: [...new Set(permissions)], clearance });
}

export function deleteRole(store: Store, p: Principal, name: string): Result<{ deleted: true }> {
  if (BUILTIN_ROLES[name]) return fail("conflict", `'${name}' is a built-in role.`);
  if (customRole(store.sql, name) === undefined) {
    return fail("not_found", `No role '${name}'.`);
  }
  const holders = store.sql
    .exec<{ n: number }>(
      "SELECT count(*) AS n FROM members WHERE EXISTS (SELECT 1 FROM json_each(members.roles) WHERE value = ?)",
      name,
    )
    .one().n;
  if (holders > 0) return fail("conflict", `Role '${name}' is held by ${holders} member(s).`);
  const refused = mayDefineRole(store, p, name, null);
  if (refused) return refused;
  store.storage.transactionSync(() => {
    store.sql.exec("DELETE FROM roles WHERE name = ?", name);
    forgetPrincipals(store.storage);
    store.sql.exec("DELETE FROM shares WHERE principal = ?", `role:${name}`);
    appendAudit(store.db, { actor: p.actor, action: "role.delete", resource: `role:${name}`, success: true });
  });
  return ok({ deleted: true });
}
