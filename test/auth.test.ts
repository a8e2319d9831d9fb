// Authentication: every way a credential can be wrong is refused with 401 before any tenant is
// touched; the accepted forms (HS256 secret, RS256 from the JWKS) reach the tenant.
import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyJwt } from "../src/auth/jwt-verifier";
import { identityConfig, identityFrom } from "../src/auth/token-identity";
import { call, createTenant, hsToken, json, providerKey, rsaToken, userToken } from "./helpers";

const b64url = (v: unknown) => btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

async function expect401(token: string | null, headerValue?: string) {
  const res = await call("/v1/me", {
    token,
    headers: headerValue ? { authorization: headerValue } : {},
  });
  const body = await json(res);
  expect(res.status).toBe(401);
  expect(body.code).toBe("unauthenticated");
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return body;
}

describe("authentication", () => {
  it("accepts an HS256 token of a tenant member", async () => {
    const t = await createTenant();
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
  });

  it("accepts an RS256 token verified against AUTH_JWKS", async () => {
    const t = await createTenant();
    const res = await call("/v1/me", { token: await rsaToken(t.owner, { tenant_id: t.id }) });
    expect(res.status).toBe(200);
  });

  it("refuses a request without credentials", async () => {
    const body = await expect401(null);
    expect(String(body.detail)).toMatch(/bearer token/i);
  });

  it("refuses a malformed bearer value", async () => {
    await expect401("not-a-jwt");
    await expect401(null, "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
  });

  it("refuses an expired token beyond the 60 s tolerance but accepts one within it", async () => {
    const t = await createTenant();
    const now = Math.floor(Date.now() / 1000);
    await expect401(await hsToken(t.owner, { claims: { tenant_id: t.id }, expiresIn: now - 120 }));
    const fresh = await hsToken(t.owner, { claims: { tenant_id: t.id }, expiresIn: now - 30 });
    expect((await call("/v1/me", { token: fresh })).status).toBe(200);
  });

  it("refuses a token that is not yet valid", async () => {
    const t = await createTenant();
    await expect401(await hsToken(t.owner, { claims: { tenant_id: t.id }, notBefore: "10m" }));
  });

  it("refuses a token without exp", async () => {
    const t = await createTenant();
    await expect401(await hsToken(t.owner, { claims: { tenant_id: t.id }, expiresIn: null }));
  });

  it("refuses wrong audience and wrong issuer", async () => {
    const t = await createTenant();
    await expect401(await hsToken(t.owner, { claims: { tenant_id: t.id }, audience: "someone-else" }));
    await expect401(await hsToken(t.owner, { claims: { tenant_id: t.id }, issuer: "evil-issuer" }));
    await expect401(await hsToken(t.owner, { claims: { tenant_id: t.id }, audience: null }));
  });

  it("refuses a token signed with another key", async () => {
    const t = await createTenant();
    const forged = await new SignJWT({ tenant_id: t.id })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(t.owner)
      .setIssuer(env.AUTH_ISSUER ?? "")
      .setAudience(env.AUTH_AUDIENCE ?? "")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("a-different-secret-of-enough-length-000"));
    await expect401(forged);
  });

  it("refuses alg:none and algorithms outside the allow-list", async () => {
    const t = await createTenant();
    const claims = {
      sub: t.owner,
      tenant_id: t.id,
      iss: env.AUTH_ISSUER,
      aud: env.AUTH_AUDIENCE,
      exp: Math.floor(Date.now() / 1000) + 300,
    };
    await expect401(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`);
    // HS512 with the right secret: not on the allow-list.
    const hs512 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS512" })
      .sign(new TextEncoder().encode(env.AUTH_HS256_SECRET));
    await expect401(hs512);
  });

  it("refuses tenant claims of the wrong type or shape before touching any Durable Object", async () => {
    const before = new Set((await listDurableObjectIds(env.TENANT_DB)).map((id) => id.toString()));
    for (const claim of [42, ["acme"], { id: "acme" }, "ACME", "../acme", "a", "x".repeat(41), "acme-"]) {
      await expect401(await userToken("ignored", "alice", { tenant_id: claim }));
    }
    await expect401(await hsToken("alice")); // no tenant claim at all
    const after = (await listDurableObjectIds(env.TENANT_DB)).map((id) => id.toString());
    expect(after.filter((id) => !before.has(id))).toEqual([]);
  });

  it("refuses a roles claim that is neither a string nor a list of strings", async () => {
    const t = await createTenant();
    for (const roles of [42, { owner: true }, ["owner", 7], [["owner"]]]) {
      await expect401(await userToken(t.id, t.owner, { roles }));
    }
  });

  it("accepts a roles claim that is one string, and it only narrows", async () => {
    const t = await createTenant();
    const me = await json(await call("/v1/me", { token: await userToken(t.id, t.owner, { roles: "viewer" }) }));
    expect(me.principal).toMatchObject({ sub: t.owner, roles: ["owner"] });
    // The owner's token says viewer: managing members is out of reach for this token.
    const res = await call("/v1/members", {
      method: "POST",
      token: await userToken(t.id, t.owner, { roles: "viewer" }),
      body: { sub: "bob", roles: ["viewer"] },
    });
    expect(res.status).toBe(403);
  });

  it("refuses a token issued in the future beyond the 60 s tolerance but accepts one within it", async () => {
    const t = await createTenant();
    const now = Math.floor(Date.now() / 1000);
    const body = await expect401(await hsToken(t.owner, { claims: { tenant_id: t.id }, issuedAt: now + 120 }));
    expect(String(body.detail)).toMatch(/iat/);
    const skewed = await hsToken(t.owner, { claims: { tenant_id: t.id }, issuedAt: now + 30 });
    expect((await call("/v1/me", { token: skewed })).status).toBe(200);
  });

  it("refuses a sub with control characters, and an empty or overlong one", async () => {
    const t = await createTenant();
    for (const sub of ["a\u0000b", "alice\n", "tab\there", "del\u007f", "c1\u0085", "", "x".repeat(256)]) {
      await expect401(await userToken(t.id, sub));
    }
    // An admin token is no exception.
    await expect401(await hsToken("root\u0000", { claims: { scope: "platform:admin" } }));
  });
});

describe("tenant and roles claims (TENANT_CLAIM, ROLES_CLAIM)", () => {
  const config = (TENANT_CLAIM?: string, ROLES_CLAIM?: string) => identityConfig({ TENANT_CLAIM, ROLES_CLAIM });

  it("reads the tenant from the first listed claim that is present", () => {
    const both = { sub: "u1", "custom:tenantId": "acme", tid: "globex" };
    expect(identityFrom(both, config("custom:tenantId,tid"))).toMatchObject({ tenant: { id: "acme" } });
    expect(identityFrom(both, config(" tid , custom:tenantId "))).toMatchObject({ tenant: { id: "globex" } });
    expect(identityFrom({ sub: "u1", tid: "globex" }, config("custom:tenantId,tid"))).toMatchObject({
      tenant: { id: "globex" },
    });
    expect(() => identityFrom({ sub: "u1", tenant_id: "acme" }, config("org_id"))).toThrow(/org_id/);
  });

  it("tries each name as a literal claim first, then as a dotted path", () => {
    const clerk = { sub: "user_1", o: { id: "org_2bQxWvUtSrPq0NmLk", rol: "admin" } };
    expect(identityFrom(clerk, config("o.id", "o.rol"))).toMatchObject({
      tenant: { externalId: "org_2bQxWvUtSrPq0NmLk" },
      tokenRoles: ["admin"],
    });
    const namespaced = { sub: "u1", "https://silo.example/tenant": "acme", https: { "//silo": "no" } };
    expect(identityFrom(namespaced, config("https://silo.example/tenant"))).toMatchObject({ tenant: { id: "acme" } });
    const literalWins = { sub: "u1", "o.id": "acme", o: { id: "globex" } };
    expect(identityFrom(literalWins, config("o.id"))).toMatchObject({ tenant: { id: "acme" } });
  });

  it("never follows a path into arrays or inherited properties", () => {
    for (const name of ["o.0", "constructor.name", "o.__proto__.x", "toString"]) {
      expect(() => identityFrom({ sub: "u1", o: ["acme"] }, config(name)), name).toThrow(/tenant claims/);
    }
  });

  it("refuses when the first present claim is unusable instead of falling through to a later one", () => {
    for (const value of [42, "", "bad\u0000id", ["acme"], { id: "acme" }, "x".repeat(256)]) {
      expect(() => identityFrom({ sub: "u1", org_id: value, tenant_id: "acme" }, config("org_id,tenant_id"))).toThrow(
        /org_id/,
      );
    }
  });

  it("takes the roles from the first listed roles claim, a string or an array", () => {
    const payload = { sub: "u1", tenant_id: "acme", "cognito:groups": ["viewer"], roles: ["owner"] };
    expect(identityFrom(payload, config(undefined, "cognito:groups,roles"))).toMatchObject({ tokenRoles: ["viewer"] });
    expect(identityFrom(payload, config())).toMatchObject({ tokenRoles: ["owner"] });
    expect(identityFrom({ sub: "u1", tenant_id: "acme" }, config())).toMatchObject({ tokenRoles: null });
  });

  it("treats the platform:admin scope as a platform administrator", () => {
    expect(identityFrom({ sub: "root", scope: "read platform:admin" }, config())).toEqual({
      kind: "admin",
      sub: "root",
    });
    expect(identityFrom({ sub: "root", scp: ["platform:admin"] }, config()).kind).toBe("admin");
  });
});

describe("remote JWKS (AUTH_JWKS_URL)", () => {
  afterEach(() => vi.restoreAllMocks());

  it("fetches the key set once and reuses it across verifications", async () => {
    const jwks = JSON.parse(env.AUTH_JWKS ?? "{}");
    const fetchSpy = vi
      .spyOn(globalThis, "fetch")
      .mockImplementation(
        async () => new Response(JSON.stringify(jwks), { headers: { "content-type": "application/json" } }),
      );
    const config = {
      AUTH_JWKS_URL: `https://idp.example/${crypto.randomUUID()}/jwks.json`,
      AUTH_ISSUER: env.AUTH_ISSUER,
      AUTH_AUDIENCE: env.AUTH_AUDIENCE,
    };
    const token = await rsaToken("u1", { tenant_id: "acme" });
    expect((await verifyJwt(token, config)).sub).toBe("u1");
    expect((await verifyJwt(token, config)).sub).toBe("u1");
    expect(fetchSpy).toHaveBeenCalledTimes(1);
  });

  it("fetches each listed key set and verifies tokens of either provider, without refetching", async () => {
    const a = await providerKey("RS256", "provider-a");
    const b = await providerKey("ES256", "provider-b");
    const base = `https://idp.example/${crypto.randomUUID()}`;
    const served: Record<string, string> = { [`${base}/a.json`]: a.jwks, [`${base}/b.json`]: b.jwks };
    const fetchSpy = vi
      .spyOn(globalThis, "fetch")
      .mockImplementation(
        async (input) =>
          new Response(served[String(input)] ?? "{}", { headers: { "content-type": "application/json" } }),
      );
    const config = { AUTH_JWKS_URL: `${base}/a.json, ${base}/b.json` };
    const claims = (sub: string) => ({ sub, exp: Math.floor(Date.now() / 1000) + 300 });
    for (let i = 0; i < 2; i++) {
      expect((await verifyJwt(await a.sign(claims("from-a")), config)).sub).toBe("from-a");
      expect((await verifyJwt(await b.sign(claims("from-b")), config)).sub).toBe("from-b");
    }
    expect(fetchSpy).toHaveBeenCalledTimes(2);
    const stranger = await providerKey("RS256", "provider-c");
    await expect(verifyJwt(await stranger.sign(claims("c")), config)).rejects.toMatchObject({
      code: "unauthenticated",
    });
  });

  it("fails closed on an AUTH_TOKEN_USE that is not id, access or any", async () => {
    const token = await hsToken("u1", { claims: { tenant_id: "acme", token_use: "id" } });
    const config = { AUTH_HS256_SECRET: env.AUTH_HS256_SECRET, AUTH_TOKEN_USE: "both" };
    await expect(verifyJwt(token, config)).rejects.toThrow(/AUTH_TOKEN_USE/);
  });

  it("refuses an RS256 token when no key set is configured", async () => {
    const token = await rsaToken("u1", { tenant_id: "acme" });
    await expect(verifyJwt(token, { AUTH_HS256_SECRET: "x".repeat(32) })).rejects.toMatchObject({
      code: "unauthenticated",
    });
  });
});
