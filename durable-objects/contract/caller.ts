// Who is calling, as the Worker established it from a verified credential: the one principal
// shape that crosses the seam. The object adds the member's roles and permissions to it.

export interface Caller {
  /** "apikey": a machine client; `sub` is the key's id and `keyHash` the SHA-256 of its secret. */
  kind: "user" | "admin" | "apikey";
  sub: string;
  /** Roles named in the token: they may only narrow the member's roles. */
  tokenRoles: string[] | null;
  /** Platform admins acting inside a tenant state why (X-Silo-Reason). */
  reason: string | null;
  requestId: string;
  keyHash?: string;
  /** A POST's Idempotency-Key: the object replays the first answer to it (gate/idempotency.ts). */
  idempotency?: IdempotencyInput | null;
  /** Where the request came from (CF-Connecting-IP, User-Agent): carried into its audit events. */
  ip?: string | null;
  userAgent?: string | null;
}

export interface IdempotencyInput {
  key: string;
  /** Method, path, query and a hash of the body: tells a retry from a reuse of the key. */
  request: string;
}

/** How the audit trails name a caller: user:<sub>, admin:<sub> or key:<id>. */
export function actorOf(caller: Pick<Caller, "kind" | "sub">): string {
  return `${caller.kind === "apikey" ? "key" : caller.kind}:${caller.sub}`;
}
