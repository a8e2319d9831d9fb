// Verifies bearer JWTs with jose against the configured keys: a JWKS string, a remote JWKS URL
// (cached; an unknown `kid` triggers a refetch, so rotation is honoured) or an HS256 secret.
// Beyond jose's checks: `iat` may not lie in the future; issuer, audience and token use follow
// the rules of claim-checks.ts, which know Entra ID's and Cognito's tokens.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type RemoteJWKSet,
} from "jose";
import { ApiError } from "../errors";
import { audienceAccepted, issuerAccepted, listOf, tokenUseAccepted, tokenUseRule } from "./claim-checks";

/** Asymmetric algorithms accepted from a JWKS; HS256 only from the local secret. */
const ASYMMETRIC_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
const CLOCK_TOLERANCE_SECONDS = 60;

export interface AuthConfig {
  AUTH_JWKS?: string;
  AUTH_JWKS_URL?: string;
  AUTH_HS256_SECRET?: string;
  AUTH_ISSUER?: string;
  AUTH_AUDIENCE?: string;
  AUTH_TOKEN_USE?: string;
}

// Key material is parsed once per isolate and reused; keyed by its source so a config change
// (tests, redeploys) never reuses a stale key.
const jwksCache = new Map<string, JWTVerifyGetKey>();
const secretCache = new Map<string, Promise<CryptoKey>>();

function jwksFor(config: AuthConfig): JWTVerifyGetKey | null {
  const source = config.AUTH_JWKS
    ? `local:${config.AUTH_JWKS}`
    : config.AUTH_JWKS_URL
      ? `url:${config.AUTH_JWKS_URL}`
      : "";
  if (!source) return null;
  let getKey = jwksCache.get(source);
  if (!getKey) {
    getKey = config.AUTH_JWKS ? createLocalJWKSet(JSON.parse(config.AUTH_JWKS)) : remoteSets(config.AUTH_JWKS_URL);
    jwksCache.set(source, getKey);
  }
  return getKey;
}

/** One remote key set per listed URL (one per provider when a deployment serves several). */
function remoteSets(urls: string | undefined): JWTVerifyGetKey {
  const sets = listOf(urls).map((url) =>
    createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 }),
  );
  if (sets.length === 1) return sets[0] as RemoteJWKSet;
  return async (header, token) => {
    // The set already holding the token's kid answers without a fetch; otherwise each is asked
    // in turn (a set without the key refetches at most once per cooldown).
    const holder = header.kid ? sets.find((s) => s.jwks()?.keys.some((k) => k.kid === header.kid)) : undefined;
    if (holder) return holder(header, token);
    let failure: unknown = new Error("no key set");
    for (const set of sets) {
      try {
        return await set(header, token);
      } catch (err) {
        failure = err;
      }
    }
    throw failure;
  };
}

/** The HS256 secret as a CryptoKey, imported once: a raw secret would be imported on every call. */
function secretFor(config: AuthConfig): Promise<CryptoKey> | null {
  const secret = config.AUTH_HS256_SECRET;
  if (!secret) return null;
  let key = secretCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    secretCache.set(secret, key);
  }
  return key;
}

const refuse = (detail: string) => new ApiError("unauthenticated", detail);

export async function verifyJwt(token: string, config: AuthConfig): Promise<JWTPayload> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw refuse("The bearer token is not a well-formed JWT.");
  }
  const tokenUse = tokenUseRule(config.AUTH_TOKEN_USE);
  // Issuer and audience are checked below, after the signature: an issuer may name the token's own
  // directory (Entra ID), and Cognito access tokens have no audience.
  const options = {
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ["exp"],
  };
  let payload: JWTPayload;
  try {
    if (alg === "HS256") {
      const secret = secretFor(config);
      if (!secret) throw refuse("HS256 tokens are not accepted here.");
      payload = (await jwtVerify(token, await secret, { ...options, algorithms: ["HS256"] })).payload;
    } else {
      const jwks = alg && ASYMMETRIC_ALGS.includes(alg) ? jwksFor(config) : null;
      if (!jwks) throw refuse(`Tokens signed with ${alg ?? "no algorithm"} are not accepted.`);
      payload = (await jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC_ALGS })).payload;
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw refuse(describeJoseError(err));
  }
  // jose checks `iat` only against a maximum age; a token issued in the future is a forged or
  // mis-clocked one either way.
  if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) {
    throw refuse("The token's iat claim lies in the future.");
  }
  if (!issuerAccepted(payload, listOf(config.AUTH_ISSUER))) {
    throw refuse("The token's iss claim is not acceptable.");
  }
  if (tokenUse && !tokenUseAccepted(payload.token_use, tokenUse)) {
    throw refuse("The token's token_use claim is not acceptable.");
  }
  if (!audienceAccepted(payload, listOf(config.AUTH_AUDIENCE), tokenUse)) {
    throw refuse("The token's aud claim is not acceptable.");
  }
  return payload;
}

function describeJoseError(err: unknown): string {
  const code = (err as { code?: string })?.code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "The token has expired.";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return `The token's ${(err as { claim?: string }).claim ?? "claims"} claim is not acceptable.`;
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "The token's signature does not verify.";
    default:
      return "The token could not be verified.";
  }
}
