// Authenticates every /v1 request and derives the principal: a JWT, or an API key
// ("silo_<tenant>_..."), which its tenant's object verifies. Tokens with an unusable tenant claim
// and malformed keys are refused here, before any Durable Object is touched.
import { createMiddleware } from "hono/factory";
import type { JWTPayload } from "jose";
import { isTenantId } from "../../durable-objects/contract/tenant-id";
import { API_KEY_PREFIX, parseApiKey } from "../auth/api-key";
import { verifyJwt } from "../auth/jwt-verifier";
import type { AuthPrincipal } from "../auth/principal";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

export const PLATFORM_ADMIN_SCOPE = "platform:admin";

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) {
    throw new ApiError(
      "unauthenticated",
      "Send a bearer token in the Authorization header.",
      {},
      {
        "www-authenticate": 'Bearer realm="silo"',
      },
    );
  }
  const credential = match[1] as string;
  if (credential.startsWith(API_KEY_PREFIX)) {
    c.set("principal", { kind: "apikey", ...parseApiKey(credential) });
  } else {
    const payload = await verifyJwt(credential, c.env);
    c.set("principal", principalFrom(payload, c.env.TENANT_CLAIM || "tenant_id"));
  }
  await next();
});

function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === "string") return raw.split(" ").filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return [];
}

export function principalFrom(payload: JWTPayload, tenantClaim: string): AuthPrincipal {
  const sub = payload.sub;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > 255) {
    throw new ApiError("unauthenticated", "The token has no usable sub claim.");
  }
  if (scopesOf(payload).includes(PLATFORM_ADMIN_SCOPE)) return { kind: "admin", sub };
  const tenantId = payload[tenantClaim];
  if (!isTenantId(tenantId)) {
    throw new ApiError("unauthenticated", `The token's ${tenantClaim} claim is missing or not a valid tenant id.`);
  }
  const roles = payload.roles;
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === "string"))) {
    throw new ApiError("unauthenticated", "The token's roles claim must be an array of strings.");
  }
  return { kind: "user", sub, tenantId, tokenRoles: (roles as string[] | undefined) ?? null };
}
