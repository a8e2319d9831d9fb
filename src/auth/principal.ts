// Who a verified credential says the caller is. The tenant comes from here and nowhere else.

export type AuthPrincipal =
  | { kind: "user"; sub: string; tenantId: string; tokenRoles: string[] | null }
  | { kind: "admin"; sub: string }
  | { kind: "apikey"; tenantId: string; keyId: string; keyHash: string };
