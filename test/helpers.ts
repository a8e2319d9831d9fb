// Test helpers: tokens minted with jose, requests through the Worker's real fetch handler (every
// answer checked against /openapi.json), and tenants provisioned through the admin API.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, importJWK, type JWTPayload, SignJWT } from "jose";
import worker from "../src/index";
import { checkedFetch, expectDocumented } from "./openapi-check";

const secret = () => new TextEncoder().encode(env.AUTH_HS256_SECRET);

export interface TokenOptions {
  claims?: JWTPayload & Record<string, unknown>;
  expiresIn?: string | number | null;
  issuer?: string | null;
  audience?: string | null;
  notBefore?: string | number;
  /** Seconds since the epoch; the current time when absent. */
  issuedAt?: number;
}

export async function hsToken(sub: string, opts: TokenOptions = {}): Promise<string> {
  let jwt = new SignJWT({ ...opts.claims })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt(opts.issuedAt);
  if (opts.issuer !== null) jwt = jwt.setIssuer(opts.issuer ?? env.AUTH_ISSUER ?? "");
  if (opts.audience !== null) jwt = jwt.setAudience(opts.audience ?? env.AUTH_AUDIENCE ?? "");
  if (opts.expiresIn !== null) jwt = jwt.setExpirationTime(opts.expiresIn ?? "10m");
  if (opts.notBefore !== undefined) jwt = jwt.setNotBefore(opts.notBefore);
  return jwt.sign(secret());
}

export async function rsaToken(sub: string, claims: Record<string, unknown> = {}): Promise<string> {
  const key = await importJWK(JSON.parse(env.TEST_PRIVATE_JWK), "RS256");
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: "test-rsa" })
    .setSubject(sub)
    .setIssuer(env.AUTH_ISSUER ?? "")
    .setAudience(env.AUTH_AUDIENCE ?? "")
    .setExpirationTime("10m")
    .sign(key);
}

export const adminToken = (sub = "root") => hsToken(sub, { claims: { scope: "platform:admin" } });

export const userToken = (tenant: string, sub: string, claims: Record<string, unknown> = {}) =>
  hsToken(sub, { claims: { tenant_id: tenant, ...claims } });

export interface CallOptions {
  method?: string;
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

function request(path: string, opts: CallOptions): Request {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  return new Request(`https://silo.test${path}`, { method: opts.method ?? "GET", headers, body });
}

export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  return checkedFetch(request(path, opts));
}

/** A tenant id nobody else in the run uses. */
export const uniqueId = (prefix = "t") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

export async function createTenant(id = uniqueId(), owner = "alice", extra: Record<string, unknown> = {}) {
  const res = await call("/v1/tenants", {
    method: "POST",
    token: await adminToken(),
    // Generous rate limits: tests fire bursts of requests; rate-limit tests set their own.
    body: {
      id,
      name: `Tenant ${id}`,
      tier: "pro",
      owner: { sub: owner },
      limits: { requestsPerSecond: 1000, burst: 1000 },
      ...extra,
    },
  });
  if (res.status !== 201) throw new Error(`create ${id}: ${res.status} ${await res.text()}`);
  return { id, owner, ownerToken: await userToken(id, owner) };
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** A request with a raw body (files), no JSON defaults. */
export async function callRaw(
  path: string,
  opts: { method?: string; token?: string; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return checkedFetch(
    new Request(`https://silo.test${path}`, { method: opts.method ?? "GET", headers, body: opts.body }),
  );
}

/**
 * A request through the same Worker with some settings replaced (identity providers'
 * configurations); a setting given as undefined is unset. Everything else is the test bindings.
 */
export async function callWithEnv(
  vars: Record<string, string | undefined>,
  path: string,
  opts: CallOptions = {},
): Promise<Response> {
  const ctx = createExecutionContext();
  const req = request(path, opts);
  const res = await worker.fetch(req, { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return expectDocumented(req, res);
}

/** A signing key of a test identity provider and the JWKS that publishes its public half. */
export async function providerKey(alg: "RS256" | "ES256", kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return {
    jwk,
    jwks: JSON.stringify({ keys: [jwk] }),
    /** A token with exactly these claims (nothing added), as the provider would issue it. */
    sign: (claims: Record<string, unknown>, typ = "JWT") =>
      new SignJWT(claims).setProtectedHeader({ alg, kid, typ }).sign(privateKey),
  };
}

/** An organisation: root ─┬─ child ── grandchild, root ── sibling; and an unrelated root `other`. */
export async function orgTree() {
  const root = await createTenant(uniqueId("root"));
  const child = await createTenant(uniqueId("child"), "carol", { parent: root.id });
  const grandchild = await createTenant(uniqueId("grand"), "gina", { parent: child.id });
  const sibling = await createTenant(uniqueId("sib"), "sam", { parent: root.id });
  const other = await createTenant(uniqueId("other"), "olga");
  return { root, child, grandchild, sibling, other };
}
