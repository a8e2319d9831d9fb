// Who is calling, as the Worker established it from a verified credential: the one principal
// shape that crosses the seam. The object adds the member's roles and permissions to it.
import type { Feature } from "./features";

export interface Caller {
  /** "apikey": a machine client; `sub` is the key's id and `keyHash` the SHA-256 of its secret. */
  /** "org": a member of an ancestor tenant holding org:manage, acting here with a reason. */
  kind: "user" | "admin" | "apikey" | "org";
  sub: string;
  /** Roles named in the token: they may only narrow the member's roles. */
  tokenRoles: string[] | null;
  /** Platform admins acting inside a tenant state why (X-Silo-Reason). */
  reason: string | null;
  requestId: string;
  keyHash?: string;
  /** For kind "org": the ancestor tenant the caller is a member of. */
  org?: string;
  /** A POST's Idempotency-Key: the object replays the first answer to it (gate/idempotency.ts). */
  idempotency?: IdempotencyInput | null;
  /** The plan feature the request's route needs (contract/features.ts); the gate checks it. */
  feature?: Feature | null;
  /** Where the request came from (CF-Connecting-IP, User-Agent): carried into its audit events. */
  ip?: string | null;
  userAgent?: string | null;
}

/** A platform admin or an ancestor's org:manage holder: owner rights checked by the request alone. */
export const isElevated = (caller: Caller) => caller.kind === "admin" || caller.kind === "org";

export interface IdempotencyInput {
  key: string;
  /** Method, path, query and a hash of the body: tells a retry from a reuse of the key. */
  request: string;
}

/** How the audit trails name a caller: user:<sub>, admin:<sub>, key:<id> or org:<tenant>:<sub>. */
export function actorOf(caller: Pick<Caller, "kind" | "sub" | "org">): string {
  if (caller.kind === "org") return `org:${caller.org ?? ""}:${caller.sub}`;
  return `${caller.kind === "apikey" ? "key" : caller.kind}:${caller.sub}`;
}

/**
 * A member of a descendant tenant reading its ancestor's shared collection (GET /v1/reference/…):
 * who they are where they are a member. The Worker vouches for it after the descendant's own
 * object admitted them with records:read and the registry named this tenant as an ancestor.
 */
export interface ReferenceReader {
  /** The descendant tenant the reader is a member of. */
  tenant: string;
  /** The reader's actor there (user:<sub>, key:<id>, admin:<sub>, org:…). */
  actor: string;
  requestId: string;
}
