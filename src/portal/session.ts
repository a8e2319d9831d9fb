// Portal sessions: a platform-admin token exchanged for a short-lived, signed, HttpOnly cookie.
// The cookie carries the token (so every portal action goes through the API with it), its
// expiry and a per-session CSRF token; an HMAC keyed from MASTER_KEY signs it all.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const COOKIE = "silo_session";
export const SESSION_SECONDS = 3600;

export interface Session {
  token: string;
  csrf: string;
  exp: number;
}

const keyOf = (env: Env) => `silo-portal-session:${env.MASTER_KEY ?? env.AUTH_HS256_SECRET ?? ""}`;
const sign = (env: Env, body: string) => createHmac("sha256", keyOf(env)).update(body).digest("base64url");

export function sealSession(
  env: Env,
  token: string,
  tokenExp: number | undefined,
  now = Date.now(),
): { value: string; session: Session } {
  const exp = Math.min(Math.floor(now / 1000) + SESSION_SECONDS, tokenExp ?? Number.MAX_SAFE_INTEGER);
  const session: Session = { token, csrf: randomBytes(24).toString("base64url"), exp };
  const body = Buffer.from(JSON.stringify(session)).toString("base64url");
  return { value: `${body}.${sign(env, body)}`, session };
}

export function openSession(env: Env, value: string | undefined, now = Date.now()): Session | null {
  if (!value) return null;
  const [body, mac] = value.split(".");
  if (!body || !mac) return null;
  const expected = Buffer.from(sign(env, body));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const session = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Session;
    return session.exp * 1000 > now ? session : null;
  } catch {
    return null;
  }
}

export function csrfMatches(session: Session, given: unknown): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const cookieHeader = (value: string, maxAge: number) =>
  `${COOKIE}=${value}; Path=/admin; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAge}`;
