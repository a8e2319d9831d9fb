// The checks of registered claims that jose's options cannot express for real identity
// providers: issuer lists and Entra ID's per-directory issuer, audience lists and Cognito access
// tokens (`client_id` and `token_use` instead of `aud`). Each runs on a verified payload.
import type { JWTPayload } from "jose";

export type TokenUse = "id" | "access" | "any";

/** A comma-separated setting as a list; empty when unset. */
export const listOf = (setting: string | undefined) =>
  (setting ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);

export function tokenUseRule(setting: string | undefined): TokenUse | null {
  if (!setting) return null;
  if (setting === "id" || setting === "access" || setting === "any") return setting;
  // A misconfiguration, not a bad token: fail closed and loudly.
  throw new Error(`AUTH_TOKEN_USE must be id, access or any, not '${setting}'.`);
}

// A directory id as Entra ID writes it in `tid`: a lowercase GUID, nothing that could reshape a URL.
const DIRECTORY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * `iss` must equal one of the issuers. An issuer with `{tid}` (Entra ID's multi-tenant
 * `https://login.microsoftonline.com/{tid}/v2.0`) stands for that URL with the token's own `tid`,
 * so each directory's tokens must carry their own directory's issuer.
 */
export function issuerAccepted(payload: JWTPayload, issuers: string[]): boolean {
  if (issuers.length === 0) return true;
  const tid = typeof payload.tid === "string" && DIRECTORY_ID.test(payload.tid) ? payload.tid : null;
  return issuers.some((issuer) => {
    const expected = issuer.includes("{tid}") ? (tid ? issuer.replaceAll("{tid}", tid) : null) : issuer;
    return expected !== null && payload.iss === expected;
  });
}

/**
 * "id" and "access" admit only Cognito tokens of that use. "any" admits both, and tokens of other
 * providers (no token_use) in a deployment that serves several; a token_use of any other value
 * is refused by every rule.
 */
export function tokenUseAccepted(claim: unknown, rule: TokenUse): boolean {
  return rule === "any" ? claim === undefined || claim === "id" || claim === "access" : claim === rule;
}

/**
 * `aud` (a string or an array) must name one of the audiences. A Cognito access token has no
 * `aud`: when AUTH_TOKEN_USE admits access tokens, its `client_id` must name one instead.
 */
export function audienceAccepted(payload: JWTPayload, audiences: string[], tokenUse: TokenUse | null): boolean {
  if (audiences.length === 0) return true;
  if (payload.aud !== undefined) {
    // Not trusted to be well-typed: jose checks the claim's shape only when it checks the audience.
    const aud: unknown[] = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    return aud.some((a) => typeof a === "string" && audiences.includes(a));
  }
  const accessAllowed = tokenUse === "access" || tokenUse === "any";
  return (
    accessAllowed &&
    payload.token_use === "access" &&
    typeof payload.client_id === "string" &&
    audiences.includes(payload.client_id)
  );
}
