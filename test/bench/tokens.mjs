// Local HS256 tokens signed the way the Worker under test (bench, soak) verifies them.
import { SignJWT } from "jose";

/** A signer `(claims, sub) => Promise<token>` for the runtime's vars; tokens expire after `expiresIn`. */
export function tokenSigner(vars, expiresIn) {
  const secret = new TextEncoder().encode(vars.AUTH_HS256_SECRET);
  return (claims, sub) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(sub)
      .setIssuer(vars.AUTH_ISSUER)
      .setAudience(vars.AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(secret);
}
