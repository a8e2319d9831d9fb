// The built-in roles over the permission catalogue (contract/access.ts).

import { PERMISSIONS, type Permission } from "../contract/access";
import { nameTable } from "../contract/name-table";

const readOnly: Permission[] = ["records:read", "files:read"];
const writer: Permission[] = [...readOnly, "records:write", "files:write"];

export const BUILTIN_ROLES: Record<string, readonly Permission[]> = nameTable({
  owner: PERMISSIONS,
  admin: PERMISSIONS,
  editor: writer,
  viewer: readOnly,
});

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** Union of the permissions of `roleNames`; unknown names grant nothing. */
export function permissionsOf(
  roleNames: readonly string[],
  customRoles: (name: string) => readonly string[] | undefined,
): Set<Permission> {
  const granted = new Set<Permission>();
  for (const name of roleNames) {
    for (const p of BUILTIN_ROLES[name] ?? customRoles(name) ?? []) {
      if (isPermission(p)) granted.add(p);
    }
  }
  return granted;
}
