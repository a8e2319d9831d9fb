// Each identity provider's tokens, with the claims that provider documents, reach their tenant
// with the README's configuration (test/identity-providers.ts) and nothing else; beside each,
// the ways they must not: unknown organisations, other tenants, roles that try to widen, and
// tokens meant for another audience, issuer or use.
import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callWithEnv, createTenant, json, providerKey, uniqueId } from "./helpers";
import { PROVIDERS, providerEnv } from "./identity-providers";

const now = () => Math.floor(Date.now() / 1000);

type Provider = keyof typeof PROVIDERS;

async function provider(name: Provider, alg: "RS256" | "ES256" = "RS256") {
  const key = await providerKey(alg, `${name}-${crypto.randomUUID().slice(0, 8)}`);
  const vars = providerEnv(PROVIDERS[name].vars, key.jwks);
  return {
    sign: key.sign,
    vars,
    /** A request through the Worker configured for this provider. */
    as: (
      token: string,
      path = "/v1/me",
      opts: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) => callWithEnv(vars, path, { ...opts, token }),
  };
}

/** An organisation id as Auth0 and Clerk write them: `org_` and mixed case. */
const orgId = () => `org_${crypto.randomUUID().replace(/-/g, "").slice(0, 15)}Q`;

/** Adds a member with these roles (through the owner's own HS256 token and the test settings). */
async function addMember(tenant: { ownerToken: string }, sub: string, roles: string[]) {
  const res = await call("/v1/members", { method: "POST", token: tenant.ownerToken, body: { sub, roles } });
  expect(res.status).toBe(201);
}

const newCollection = () => ({
  name: `c${crypto.randomUUID().slice(0, 6)}`,
  fields: [{ name: "title", type: "string" }],
});

async function tenantOf(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  return ((await json(res)).tenant as { id: string }).id;
}

async function objectCount() {
  return (await listDurableObjectIds(env.TENANT_DB)).length;
}

describe("Auth0: access token with org_id, an aud array and namespaced roles", () => {
  const { vars } = PROVIDERS.auth0;
  const claims = (sub: string, org: string, extra: Record<string, unknown> = {}) => ({
    iss: vars.AUTH_ISSUER,
    sub,
    aud: [vars.AUTH_AUDIENCE, "https://silo-example.eu.auth0.com/userinfo"],
    iat: now(),
    exp: now() + 86_400,
    scope: "openid profile email",
    azp: "x7TyQz2b8GFsL1mNpR4vWcYd",
    org_id: org,
    org_name: "acme",
    permissions: [],
    ...extra,
  });

  it("reaches the tenant registered with the organisation id", async () => {
    const idp = await provider("auth0");
    const org = orgId();
    const t = await createTenant(uniqueId("auth0"), "auth0|64f1c2d3e4b5a6978899aabb", { externalId: org });
    const token = await idp.sign(claims(t.owner, org, { "https://silo.example/roles": ["admin"] }), "at+jwt");
    expect(await tenantOf(await idp.as(token))).toBe(t.id);
    expect((await idp.as(token, "/v1/collections", { method: "POST", body: newCollection() })).status).toBe(201);
  });

  it("refuses an unknown organisation id with 401 and touches no tenant", async () => {
    const idp = await provider("auth0");
    const before = await objectCount();
    const res = await idp.as(await idp.sign(claims("auth0|someone", orgId())));
    expect(res.status).toBe(401);
    expect(await objectCount()).toBe(before);
  });

  it("keeps an organisation to its own tenant: another tenant named in a header is 404", async () => {
    const idp = await provider("auth0");
    const org = orgId();
    const t = await createTenant(uniqueId("auth0"), "auth0|owner1", { externalId: org });
    const other = await createTenant(uniqueId("auth0"), "auth0|owner1");
    const token = await idp.sign(claims(t.owner, org));
    expect((await idp.as(token, "/v1/me", { headers: { "x-silo-tenant": other.id } })).status).toBe(404);
    expect((await idp.as(token, `/v1/tenants/${other.id}`)).status).toBe(404);
  });

  it("lets roles in the token narrow but never widen", async () => {
    const idp = await provider("auth0");
    const org = orgId();
    const t = await createTenant(uniqueId("auth0"), "auth0|owner2", { externalId: org });
    await addMember(t, "auth0|viewer", ["viewer"]);
    const widen = await idp.sign(claims("auth0|viewer", org, { "https://silo.example/roles": ["owner", "admin"] }));
    expect((await idp.as(widen, "/v1/collections", { method: "POST", body: newCollection() })).status).toBe(403);
    const narrow = await idp.sign(claims(t.owner, org, { "https://silo.example/roles": ["viewer"] }));
    expect((await idp.as(narrow, "/v1/collections", { method: "POST", body: newCollection() })).status).toBe(403);
  });

  it("refuses a token for another API or from another Auth0 tenant", async () => {
    const idp = await provider("auth0");
    const org = orgId();
    const t = await createTenant(uniqueId("auth0"), "auth0|owner3", { externalId: org });
    const userinfoOnly = await idp.sign({ ...claims(t.owner, org), aud: "https://silo-example.eu.auth0.com/userinfo" });
    expect((await idp.as(userinfoOnly)).status).toBe(401);
    const otherTenant = await idp.sign({ ...claims(t.owner, org), iss: "https://evil.eu.auth0.com/" });
    expect((await idp.as(otherTenant)).status).toBe(401);
  });
});

describe("Clerk: v2 session token with the organisation at o.id and the role at o.rol", () => {
  const { vars } = PROVIDERS.clerk;
  // A v2 session token has no aud; azp names the frontend origin.
  const claims = (sub: string, o: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => ({
    azp: "https://app.silo.example",
    exp: now() + 60,
    fva: [0, -1],
    iat: now(),
    iss: vars.AUTH_ISSUER,
    nbf: now() - 5,
    sid: "sess_2bQxWvUtSrPq0NmLkAbCdEfGh",
    sub,
    v: 2,
    ...(o ? { o } : {}),
    ...extra,
  });

  it("reaches the tenant registered with o.id, with o.rol narrowing the member's roles", async () => {
    const idp = await provider("clerk", "ES256");
    const org = orgId();
    const t = await createTenant(uniqueId("clerk"), "user_2bQxWvUtSrPq0NmLk1", { externalId: org });
    const admin = await idp.sign(claims(t.owner, { id: org, rol: "admin", slg: "acme", per: "read,manage", fpm: "3" }));
    expect(await tenantOf(await idp.as(admin))).toBe(t.id);
    expect((await idp.as(admin, "/v1/collections", { method: "POST", body: newCollection() })).status).toBe(201);
  });

  it("refuses a token without an active organisation and one of an unknown organisation", async () => {
    const idp = await provider("clerk", "ES256");
    const t = await createTenant(uniqueId("clerk"), "user_noorg");
    // Even a tenant_id claim does not help: the README's configuration reads o.id only.
    expect((await idp.as(await idp.sign(claims(t.owner, undefined, { tenant_id: t.id })))).status).toBe(401);
    expect((await idp.as(await idp.sign(claims(t.owner, { id: orgId(), rol: "admin" })))).status).toBe(401);
  });

  it("lets o.rol narrow but never widen", async () => {
    const idp = await provider("clerk", "ES256");
    const org = orgId();
    const t = await createTenant(uniqueId("clerk"), "user_owner", { externalId: org });
    await addMember(t, "user_viewer", ["viewer"]);
    const widen = await idp.sign(claims("user_viewer", { id: org, rol: "owner" }));
    expect((await idp.as(widen, "/v1/collections", { method: "POST", body: newCollection() })).status).toBe(403);
    // Clerk's default member role is no Silo role: it grants nothing.
    const member = await idp.sign(claims(t.owner, { id: org, rol: "member" }));
    expect((await idp.as(member, "/v1/collections")).status).toBe(403);
  });

  it("refuses a session token of another Clerk instance", async () => {
    const idp = await provider("clerk", "ES256");
    const org = orgId();
    const t = await createTenant(uniqueId("clerk"), "user_x", { externalId: org });
    const foreign = await idp.sign(claims(t.owner, { id: org, rol: "admin" }, { iss: "https://clerk.evil.example" }));
    expect((await idp.as(foreign)).status).toBe(401);
  });
});

describe("Amazon Cognito: ID tokens (custom:tenantId) and access tokens (client_id, no aud)", () => {
  const { vars } = PROVIDERS.cognito;
  const base = (sub: string, tenant: string | undefined, groups: string[]) => ({
    sub,
    "cognito:groups": groups,
    iss: vars.AUTH_ISSUER,
    origin_jti: crypto.randomUUID(),
    event_id: crypto.randomUUID(),
    auth_time: now(),
    exp: now() + 3600,
    iat: now(),
    jti: crypto.randomUUID(),
    ...(tenant ? { "custom:tenantId": tenant } : {}),
  });
  const idToken = (sub: string, tenant: string | undefined, groups: string[] = [], extra = {}) => ({
    ...base(sub, tenant, groups),
    aud: vars.AUTH_AUDIENCE,
    token_use: "id",
    "cognito:username": sub,
    email: "user@silo.example",
    email_verified: true,
    ...extra,
  });
  // custom:tenantId in an access token comes from a pre token generation trigger (event v2).
  const accessToken = (sub: string, tenant: string | undefined, groups: string[] = [], extra = {}) => ({
    ...base(sub, tenant, groups),
    client_id: vars.AUTH_AUDIENCE,
    token_use: "access",
    scope: "aws.cognito.signin.user.admin",
    username: sub,
    ...extra,
  });
  const sub = () => crypto.randomUUID();

  it("reaches the tenant with an ID token and with an access token", async () => {
    const idp = await provider("cognito");
    const t = await createTenant(uniqueId("cognito"), sub());
    expect(await tenantOf(await idp.as(await idp.sign(idToken(t.owner, t.id, ["admin"]))))).toBe(t.id);
    expect(await tenantOf(await idp.as(await idp.sign(accessToken(t.owner, t.id))))).toBe(t.id);
  });

  it("refuses tokens of another app client, and access tokens when AUTH_TOKEN_USE=id", async () => {
    const idp = await provider("cognito");
    const t = await createTenant(uniqueId("cognito"), sub());
    const otherClient = await idp.sign(accessToken(t.owner, t.id, [], { client_id: "1example23456789" }));
    expect((await idp.as(otherClient)).status).toBe(401);
    expect((await idp.as(await idp.sign(idToken(t.owner, t.id, [], { aud: "1example23456789" })))).status).toBe(401);
    // An access token with neither aud nor client_id, and a token_use Cognito never issues.
    const { client_id: _none, ...bare } = accessToken(t.owner, t.id);
    expect((await idp.as(await idp.sign(bare))).status).toBe(401);
    expect((await idp.as(await idp.sign(idToken(t.owner, t.id, [], { token_use: "refresh" })))).status).toBe(401);
    const idOnly = { ...idp.vars, AUTH_TOKEN_USE: "id" };
    const access = await idp.sign(accessToken(t.owner, t.id));
    expect((await callWithEnv(idOnly, "/v1/me", { token: access })).status).toBe(401);
    expect((await callWithEnv(idOnly, "/v1/me", { token: await idp.sign(idToken(t.owner, t.id)) })).status).toBe(200);
  });

  it("accepts no client_id in place of aud unless AUTH_TOKEN_USE admits access tokens", async () => {
    const idp = await provider("cognito");
    const t = await createTenant(uniqueId("cognito"), sub());
    const unset = { ...idp.vars, AUTH_TOKEN_USE: undefined };
    expect((await callWithEnv(unset, "/v1/me", { token: await idp.sign(accessToken(t.owner, t.id)) })).status).toBe(
      401,
    );
  });

  it("lets cognito:groups narrow but never widen", async () => {
    const idp = await provider("cognito");
    const t = await createTenant(uniqueId("cognito"), sub());
    const viewer = sub();
    await addMember(t, viewer, ["viewer"]);
    const widen = await idp.sign(idToken(viewer, t.id, ["owner", "admin"]));
    expect((await idp.as(widen, "/v1/collections", { method: "POST", body: newCollection() })).status).toBe(403);
  });
});

describe("Entra ID: v2 access token of a multi-tenant app, the directory in tid", () => {
  const { vars } = PROVIDERS.entra;
  const directory = () => crypto.randomUUID();
  const claims = (tid: string, oid: string, roles: string[] | undefined, extra: Record<string, unknown> = {}) => ({
    aud: vars.AUTH_AUDIENCE,
    iss: `https://login.microsoftonline.com/${tid}/v2.0`,
    iat: now(),
    nbf: now(),
    exp: now() + 3600,
    aio: "AWQAm/8TAAAA",
    azp: "2d4d11a2-f814-46a7-890a-274a72a7309e",
    azpacr: "0",
    name: "Abe Lincoln",
    oid,
    preferred_username: "abeli@contoso.example",
    rh: "0.AAAA",
    scp: "access_as_user",
    sub: oid,
    tid,
    uti: "fqiBqXLPj0eQa82S-IYFAA",
    ver: "2.0",
    ...(roles ? { roles } : {}),
    ...extra,
  });

  it("reaches the tenant whose id is the directory id", async () => {
    const idp = await provider("entra");
    const tid = directory();
    const t = await createTenant(tid, crypto.randomUUID());
    expect(await tenantOf(await idp.as(await idp.sign(claims(tid, t.owner, ["admin"]))))).toBe(tid);
    expect(await tenantOf(await idp.as(await idp.sign(claims(tid, t.owner, undefined))))).toBe(tid);
  });

  it("refuses a token whose issuer names another directory than its tid, or none", async () => {
    const idp = await provider("entra");
    const tid = directory();
    const t = await createTenant(tid, crypto.randomUUID());
    const elsewhere = `https://login.microsoftonline.com/${directory()}/v2.0`;
    expect((await idp.as(await idp.sign(claims(tid, t.owner, undefined, { iss: elsewhere })))).status).toBe(401);
    const template = await idp.sign(claims(tid, t.owner, undefined, { iss: vars.AUTH_ISSUER }));
    expect((await idp.as(template)).status).toBe(401);
    const otherApp = await idp.sign(claims(tid, t.owner, undefined, { aud: "00000003-0000-0000-c000-000000000000" }));
    expect((await idp.as(otherApp)).status).toBe(401);
  });

  it("reaches no tenant from a directory that has none", async () => {
    const idp = await provider("entra");
    // The directory id is a tenant id: the request goes to that (unprovisioned) tenant's object,
    // which knows no tenant and answers 404, as for any token naming an unknown tenant id.
    const res = await idp.as(await idp.sign(claims(directory(), crypto.randomUUID(), ["owner"])));
    expect(res.status).toBe(404);
  });

  it("lets app roles narrow but never widen", async () => {
    const idp = await provider("entra");
    const tid = directory();
    const t = await createTenant(tid, crypto.randomUUID());
    const viewer = crypto.randomUUID();
    await addMember(t, viewer, ["viewer"]);
    const widen = await idp.sign(claims(tid, viewer, ["owner"]));
    expect((await idp.as(widen, "/v1/collections", { method: "POST", body: newCollection() })).status).toBe(403);
  });
});

describe("Firebase / Identity Platform: ID token with firebase.tenant and a roles custom claim", () => {
  const { vars } = PROVIDERS.firebase;
  const claims = (uid: string, tenant: string | undefined, roles?: string[], extra: Record<string, unknown> = {}) => ({
    ...(roles ? { roles } : {}),
    iss: vars.AUTH_ISSUER,
    aud: vars.AUTH_AUDIENCE,
    auth_time: now(),
    user_id: uid,
    sub: uid,
    iat: now(),
    exp: now() + 3600,
    email: "user@silo.example",
    email_verified: true,
    firebase: {
      identities: { email: ["user@silo.example"] },
      sign_in_provider: "password",
      ...(tenant ? { tenant } : {}),
    },
    ...extra,
  });
  const uid = () => crypto.randomUUID().replace(/-/g, "").slice(0, 28);

  it("reaches the tenant named by firebase.tenant, as its id or as its external id", async () => {
    const idp = await provider("firebase");
    const byId = await createTenant(uniqueId("fb"), uid());
    expect(await tenantOf(await idp.as(await idp.sign(claims(byId.owner, byId.id, ["editor"]))))).toBe(byId.id);
    const platformTenant = `Acme-Corp-${crypto.randomUUID().slice(0, 5)}`; // not a tenant id: upper case
    const byExternal = await createTenant(uniqueId("fb"), uid(), { externalId: platformTenant });
    const res = await idp.as(await idp.sign(claims(byExternal.owner, platformTenant)));
    expect(await tenantOf(res)).toBe(byExternal.id);
  });

  it("refuses a user of the project outside any tenant, and a token of another project", async () => {
    const idp = await provider("firebase");
    const t = await createTenant(uniqueId("fb"), uid());
    expect((await idp.as(await idp.sign(claims(t.owner, undefined, [], { tenant_id: t.id })))).status).toBe(401);
    const otherProject = claims(t.owner, t.id, [], {
      iss: "https://securetoken.google.com/other-project",
      aud: "other-project",
    });
    expect((await idp.as(await idp.sign(otherProject))).status).toBe(401);
  });

  it("lets the roles custom claim narrow but never widen", async () => {
    const idp = await provider("firebase");
    const t = await createTenant(uniqueId("fb"), uid());
    const viewer = uid();
    await addMember(t, viewer, ["viewer"]);
    const widen = await idp.sign(claims(viewer, t.id, ["owner"]));
    expect((await idp.as(widen, "/v1/collections", { method: "POST", body: newCollection() })).status).toBe(403);
  });
});

describe("one deployment serving Cognito and Entra ID", () => {
  it("reaches each provider's tenant through one list of claims, issuers, audiences and keys", async () => {
    const cognitoKey = await providerKey("RS256", `cognito-${crypto.randomUUID().slice(0, 6)}`);
    const entraKey = await providerKey("RS256", `entra-${crypto.randomUUID().slice(0, 6)}`);
    const cognito = PROVIDERS.cognito.vars;
    const entra = PROVIDERS.entra.vars;
    const both = {
      ...providerEnv({}, JSON.stringify({ keys: [cognitoKey.jwk, entraKey.jwk] })),
      AUTH_ISSUER: `${cognito.AUTH_ISSUER},${entra.AUTH_ISSUER}`,
      AUTH_AUDIENCE: `${cognito.AUTH_AUDIENCE},${entra.AUTH_AUDIENCE}`,
      AUTH_TOKEN_USE: "any",
      TENANT_CLAIM: "custom:tenantId,tid",
      ROLES_CLAIM: "cognito:groups,roles",
    };
    const a = await createTenant(uniqueId("cog"), crypto.randomUUID());
    const tid = crypto.randomUUID();
    const b = await createTenant(tid, crypto.randomUUID());
    const cognitoToken = await cognitoKey.sign({
      sub: a.owner,
      iss: cognito.AUTH_ISSUER,
      aud: cognito.AUTH_AUDIENCE,
      token_use: "id",
      "custom:tenantId": a.id,
      exp: now() + 600,
      iat: now(),
    });
    const entraToken = await entraKey.sign({
      sub: b.owner,
      iss: `https://login.microsoftonline.com/${tid}/v2.0`,
      aud: entra.AUTH_AUDIENCE,
      tid,
      ver: "2.0",
      exp: now() + 600,
      iat: now(),
    });
    expect(await tenantOf(await callWithEnv(both, "/v1/me", { token: cognitoToken }))).toBe(a.id);
    expect(await tenantOf(await callWithEnv(both, "/v1/me", { token: entraToken }))).toBe(b.id);
    // Neither list admits a third issuer or audience, and the first listed claim still decides.
    const thirdIssuer = await cognitoKey.sign({
      sub: a.owner,
      iss: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other",
      aud: cognito.AUTH_AUDIENCE,
      "custom:tenantId": a.id,
      exp: now() + 600,
    });
    expect((await callWithEnv(both, "/v1/me", { token: thirdIssuer })).status).toBe(401);
    const thirdAudience = await entraKey.sign({
      sub: b.owner,
      iss: `https://login.microsoftonline.com/${tid}/v2.0`,
      aud: "another-app",
      tid,
      exp: now() + 600,
    });
    expect((await callWithEnv(both, "/v1/me", { token: thirdAudience })).status).toBe(401);
    const twoClaims = await entraKey.sign({
      sub: b.owner,
      iss: `https://login.microsoftonline.com/${tid}/v2.0`,
      aud: entra.AUTH_AUDIENCE,
      tid,
      "custom:tenantId": a.id,
      exp: now() + 600,
    });
    const first = await callWithEnv(both, "/v1/me", { token: twoClaims });
    expect(first.status).toBe(403); // a's tenant, where b's owner is no member: never b's tenant
  });
});
