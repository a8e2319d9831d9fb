// What a verified token says about its caller: the user (`sub`), platform administration, the
// tenant it names and the roles that narrow the member's own. The tenant is named by the first
// configured claim present: a tenant id as it stands, anything else as an organisation id that
// the registry maps to a tenant (resolved by the caller of this module, not here).
import type { JWTPayload } from "jose";
import { isSubject } from "../../durable-objects/contract/subject";
import { isTenantId } from "../../durable-objects/contract/tenant-id";
import { isExternalId } from "../control/external-ids";
import { ApiError } from "../errors";
import { claimList, firstClaim } from "./claims";

export const PLATFORM_ADMIN_SCOPE = "platform:admin";

export interface IdentityConfig {
  /** Claim names tried in order for the tenant; the first present one decides. */
  tenantClaims: string[];
  /** Claim names tried in order for the roles (a string or an array of strings). */
  rolesClaims: string[];
}

export const identityConfig = (env: { TENANT_CLAIM?: string; ROLES_CLAIM?: string }): IdentityConfig => ({
  tenantClaims: claimList(env.TENANT_CLAIM, "tenant_id"),
  rolesClaims: claimList(env.ROLES_CLAIM, "roles"),
});

export type TenantRef = { id: string } | { externalId: string };

export type TokenIdentity =
  | { kind: "admin"; sub: string }
  | { kind: "user"; sub: string; tenant: TenantRef; tokenRoles: string[] | null };

const refuse = (detail: string) => new ApiError("unauthenticated", detail);

function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === "string") return raw.split(" ").filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return [];
}

export function identityFrom(payload: JWTPayload, config: IdentityConfig): TokenIdentity {
  const sub = payload.sub;
  if (!isSubject(sub)) throw refuse("The token has no usable sub claim (1–255 characters, no control characters).");
  if (scopesOf(payload).includes(PLATFORM_ADMIN_SCOPE)) return { kind: "admin", sub };
  return { kind: "user", sub, tenant: tenantOf(payload, config.tenantClaims), tokenRoles: rolesOf(payload, config) };
}

function tenantOf(payload: JWTPayload, names: string[]): TenantRef {
  const found = firstClaim(payload, names);
  if (!found) throw refuse(`The token carries none of the tenant claims (${names.join(", ")}).`);
  // The first present claim decides, even when it is unusable: falling through to a later claim
  // would let whoever controls a later claim choose the tenant once the first is malformed.
  if (isTenantId(found.value)) return { id: found.value };
  if (isExternalId(found.value)) return { externalId: found.value };
  throw refuse(`The token's ${found.name} claim is not a tenant id or an organisation id.`);
}

/** The token's roles, or null when it carries none: they can only narrow what the member holds. */
function rolesOf(payload: JWTPayload, config: IdentityConfig): string[] | null {
  const found = firstClaim(payload, config.rolesClaims);
  if (!found) return null;
  if (typeof found.value === "string") return [found.value];
  if (Array.isArray(found.value) && found.value.every((r) => typeof r === "string")) return found.value;
  throw refuse(`The token's ${found.name} claim must be a string or an array of strings.`);
}
