// Authenticates every /v1 request and derives the principal: a JWT, or an API key
// ("silo_<tenant>_..."), which its tenant's object verifies. Tokens with an unusable tenant claim,
// organisation ids no tenant is registered with, and malformed keys are refused here, before any
// Durable Object is touched.
import { createMiddleware } from "hono/factory";
import { API_KEY_PREFIX, parseApiKey } from "../auth/api-key";
import { verifyJwt } from "../auth/jwt-verifier";
import type { AuthPrincipal } from "../auth/principal";
import { noteRefusedToken } from "../auth/refused-token";
import { identityConfig, identityFrom, type TenantRef } from "../auth/token-identity";
import type { AppEnv } from "../context";
import { tenantForExternalId } from "../control/external-ids";
import { ApiError } from "../errors";

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  // A browser's WebSocket cannot send headers: its single-use ticket is the credential, redeemed
  // by the tenant's object (routes/realtime.ts).
  if (!match && c.req.path === "/v1/realtime" && c.req.query("ticket") !== undefined) return next();
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
    const payload = await verifyJwt(credential, c.env).catch((err: unknown) => {
      if (err instanceof ApiError) noteRefusedToken(c, credential, err.detail);
      throw err;
    });
    const identity = identityFrom(payload, identityConfig(c.env));
    const principal: AuthPrincipal =
      identity.kind === "admin"
        ? identity
        : {
            kind: "user",
            sub: identity.sub,
            tenantId: await tenantIdOf(c.env, identity.tenant),
            tokenRoles: identity.tokenRoles,
          };
    c.set("principal", principal);
  }
  await next();
});

/** The tenant a token names: its id as it stands, or the tenant registered with the organisation id. */
async function tenantIdOf(env: Env, ref: TenantRef): Promise<string> {
  if ("id" in ref) return ref.id;
  const tenantId = await tenantForExternalId(env, ref.externalId);
  // Same answer as any other unusable credential: nothing tells an unknown organisation id
  // from a retired one, and nothing is created for it.
  if (!tenantId) throw new ApiError("unauthenticated", "The token's organisation is not registered with any tenant.");
  return tenantId;
}
