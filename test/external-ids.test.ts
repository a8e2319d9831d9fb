// Organisation ids (externalId): registered once per tenant, unique, never reissued, and
// resolved to their tenant from the token alone; an unknown one reaches nothing and creates
// nothing. Tokens here name the organisation in org_id, as Auth0's do.
import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { NEGATIVE_TTL_MS, POSITIVE_TTL_MS } from "../src/control/external-ids";
import { hardDeleteTenant } from "../src/control/tenant-deletion";
import { getTenant } from "../src/control/tenant-service";
import { adminToken, call, callWithEnv, createTenant, hsToken, json, uniqueId } from "./helpers";

/** An organisation id shaped like Auth0's and Clerk's: upper case and an underscore. */
const orgId = () => `org_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}X`;

const ORG_FIRST = { TENANT_CLAIM: "org_id,tenant_id" };

const orgToken = (sub: string, claims: Record<string, unknown>) => hsToken(sub, { claims });

const me = async (token: string) => callWithEnv(ORG_FIRST, "/v1/me", { token });

async function objectIds() {
  return new Set((await listDurableObjectIds(env.TENANT_DB)).map((id) => id.toString()));
}

describe("externalId on tenants", () => {
  it("is set at creation, shown in the details and found by the list's search", async () => {
    const org = orgId();
    const t = await createTenant(uniqueId("ext"), "alice", { externalId: org });
    const token = await adminToken();
    const details = await json(await call(`/v1/tenants/${t.id}`, { token }));
    expect(details.externalId).toBe(org);
    const list = await json<{ items: { id: string }[] }>(await call(`/v1/tenants?q=${org}`, { token }));
    expect(list.items.map((i) => i.id)).toEqual([t.id]);
    const plain = await createTenant();
    expect((await json(await call(`/v1/tenants/${plain.id}`, { token }))).externalId).toBeNull();
  });

  it("answers 409 for an externalId another tenant holds, at creation and on update", async () => {
    const org = orgId();
    const holder = await createTenant(uniqueId("ext"), "alice", { externalId: org });
    const token = await adminToken();
    const id = uniqueId("ext");
    const created = await call("/v1/tenants", {
      method: "POST",
      token,
      body: { id, name: "Other", owner: { sub: "mallory" }, externalId: org },
    });
    expect(created.status).toBe(409);
    expect((await json(created)).code).toBe("conflict");
    expect((await call(`/v1/tenants/${id}`, { token })).status).toBe(404);
    const other = await createTenant();
    const updated = await call(`/v1/tenants/${other.id}`, { method: "PUT", token, body: { externalId: org } });
    expect(updated.status).toBe(409);
    // The organisation still reaches its own tenant only.
    const body = await json(await me(await orgToken(holder.owner, { org_id: org })));
    expect((body.tenant as { id: string }).id).toBe(holder.id);
  });

  it("lets one of concurrent creates with one externalId win", async () => {
    const org = orgId();
    const token = await adminToken();
    const results = await Promise.all(
      [0, 1, 2].map((i) =>
        call("/v1/tenants", {
          method: "POST",
          token,
          body: { id: uniqueId("race"), name: `n${i}`, owner: { sub: "o" }, externalId: org },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it("is set once by an update while unset; the same value again changes nothing, another is 409", async () => {
    const t = await createTenant();
    const token = await adminToken();
    const org = orgId();
    // Warm this isolate's memory of the organisation as unknown: the update must clear it.
    expect((await me(await orgToken(t.owner, { org_id: org }))).status).toBe(401);
    const set = await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { externalId: org } });
    expect(set.status).toBe(200);
    expect((await json(set)).externalId).toBe(org);
    expect((await me(await orgToken(t.owner, { org_id: org }))).status).toBe(200);
    const again = await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { externalId: org, name: "Same" } });
    expect(again.status).toBe(200);
    const changed = await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { externalId: orgId() } });
    expect(changed.status).toBe(409);
    expect((await json(await call(`/v1/tenants/${t.id}`, { token }))).externalId).toBe(org);
  });

  it("refuses externalIds that are unprintable, padded, too long or themselves tenant ids", async () => {
    const token = await adminToken();
    for (const externalId of ["", "org_a\u0000b", "org_\n", " org_x", "org_x ", "x".repeat(256), "acme", 42]) {
      const res = await call("/v1/tenants", {
        method: "POST",
        token,
        body: { id: uniqueId(), name: "x", owner: { sub: "a" }, externalId },
      });
      expect(res.status, JSON.stringify(externalId)).toBe(400);
      expect((await json(res)).code).toBe("validation_failed");
    }
  });
});

describe("resolving an organisation id to its tenant", () => {
  afterEach(() => vi.useRealTimers());

  it("reaches the registered tenant", async () => {
    const org = orgId();
    const t = await createTenant(uniqueId("ext"), "alice", { externalId: org });
    const res = await me(await orgToken("alice", { org_id: org }));
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ tenant: { id: t.id }, principal: { sub: "alice" } });
  });

  it("refuses an unknown organisation id with 401 and creates nothing", async () => {
    const before = await objectIds();
    const res = await me(await orgToken("alice", { org_id: orgId() }));
    expect(res.status).toBe(401);
    expect((await json(res)).code).toBe("unauthenticated");
    const after = await objectIds();
    expect([...after].filter((id) => !before.has(id))).toEqual([]);
  });

  it("lets the first listed claim win when a later one names another tenant", async () => {
    const org = orgId();
    const a = await createTenant(uniqueId("first"), "alice", { externalId: org });
    const b = await createTenant(uniqueId("later"), "alice");
    const body = await json(await me(await orgToken("alice", { org_id: org, tenant_id: b.id })));
    expect((body.tenant as { id: string }).id).toBe(a.id);
    // Naming the later tenant in a header changes nothing: it is not the credential's tenant.
    const res = await callWithEnv(ORG_FIRST, "/v1/me", {
      token: await orgToken("alice", { org_id: org, tenant_id: b.id }),
      headers: { "x-silo-tenant": b.id },
    });
    expect(res.status).toBe(404);
  });

  it("answers from the isolate's memory after the first request, without reading D1", async () => {
    const org = orgId();
    const t = await createTenant(uniqueId("ext"), "alice", { externalId: org });
    const token = await orgToken("alice", { org_id: org });
    expect((await me(token)).status).toBe(200);
    // Behind the API's back the registry forgets the mapping: only a D1 read would notice.
    await env.CONTROL_DB.prepare("UPDATE tenants SET external_id = NULL WHERE id = ?").bind(t.id).run();
    try {
      expect((await me(token)).status).toBe(200);
    } finally {
      await env.CONTROL_DB.prepare("UPDATE tenants SET external_id = ? WHERE id = ?").bind(org, t.id).run();
    }
  });

  it("remembers a mapping for POSITIVE_TTL_MS at most, then asks the registry again", async () => {
    const org = orgId();
    const t = await createTenant(uniqueId("ext"), "alice", { externalId: org });
    const token = await orgToken("alice", { org_id: org });
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    expect((await me(token)).status).toBe(200);
    await env.CONTROL_DB.prepare("UPDATE tenants SET external_id = NULL WHERE id = ?").bind(t.id).run();
    try {
      vi.setSystemTime(Date.now() + POSITIVE_TTL_MS + 1);
      // The token's exp is real time; one minted now stays valid at the moved clock.
      expect((await me(await orgToken("alice", { org_id: org }))).status).toBe(401);
    } finally {
      await env.CONTROL_DB.prepare("UPDATE tenants SET external_id = ? WHERE id = ?").bind(org, t.id).run();
    }
  });

  it("remembers an unknown organisation id only briefly", async () => {
    const org = orgId();
    const t = await createTenant();
    const token = await orgToken(t.owner, { org_id: org });
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    expect((await me(token)).status).toBe(401);
    // Registered behind the API's back (so no isolate is told): the miss is still remembered...
    await env.CONTROL_DB.prepare("UPDATE tenants SET external_id = ? WHERE id = ?").bind(org, t.id).run();
    expect((await me(token)).status).toBe(401);
    // ...until it expires, when the registry is asked again.
    vi.setSystemTime(Date.now() + NEGATIVE_TTL_MS + 1);
    expect((await me(token)).status).toBe(200);
  });

  it("stops resolving a deleted tenant's organisation id, which is never reissued", async () => {
    const org = orgId();
    const t = await createTenant(uniqueId("gone"), "alice", { externalId: org });
    const token = await adminToken();
    const userToken = await orgToken("alice", { org_id: org });
    expect((await me(userToken)).status).toBe(200);
    expect((await call(`/v1/tenants/${t.id}`, { method: "DELETE", token })).status).toBe(200);
    expect((await hardDeleteTenant(env, await getTenant(env, t.id))).complete).toBe(true);
    const after = await me(userToken);
    expect(after.status).toBe(401);
    const tombstone = await json(await call(`/v1/tenants/${t.id}`, { token }));
    expect(tombstone).toMatchObject({ status: "deleted", externalId: org });
    const reissue = await call("/v1/tenants", {
      method: "POST",
      token,
      body: { id: uniqueId(), name: "New", owner: { sub: "mallory" }, externalId: org },
    });
    expect(reissue.status).toBe(409);
  });
});
