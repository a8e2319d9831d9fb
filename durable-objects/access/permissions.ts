// The permission catalogue and the built-in roles. Every data-plane route checks one permission.

export const PERMISSIONS = [
  "records:read",
  "records:write",
  "collections:manage",
  "files:read",
  "files:write",
  "members:manage",
  "audit:read",
  "pii:read",
  "keys:manage",
  "settings:manage",
  "tenant:read",
  "usage:read",
  "export",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const readOnly: Permission[] = ["records:read", "files:read"];
const writer: Permission[] = [...readOnly, "records:write", "files:write"];

export const BUILTIN_ROLES: Record<string, readonly Permission[]> = {
  owner: PERMISSIONS,
  admin: PERMISSIONS,
  editor: writer,
  viewer: readOnly,
};

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
