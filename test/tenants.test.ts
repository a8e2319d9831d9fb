// Control plane: provisioning (all or nothing, one winner under concurrency), listing, updates
// pushed to the tenant's object at once, lifecycle transitions, and the admin audit.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminToken, call, createTenant, json, uniqueId, userToken } from "./helpers";

const admin = () => adminToken();

async function adminAuditFor(target: string) {
  const { results } = await env.CONTROL_DB.prepare(
    "SELECT actor, action, success FROM admin_audit WHERE target = ? ORDER BY id",
  )
    .bind(target)
    .all<{ actor: string; action: string; success: number }>();
  return results;
}

describe("tenant provisioning", () => {
  it("creates a tenant whose owner is its first member", async () => {
    const id = uniqueId("acme");
    const res = await call("/v1/tenants", {
      method: "POST",
      token: await admin(),
      body: { id, name: "Acme", tier: "pro", owner: { sub: "alice", email: "alice@acme.test" } },
    });
    const body = await json(res);
    expect(res.status).toBe(201);
    expect(body).toMatchObject({ id, name: "Acme", status: "active", tier: "pro", owner: "alice", legalHold: false });
    expect(body).not.toHaveProperty("wrappedKey");
    const me = await json(await call("/v1/me", { token: await userToken(id, "alice") }));
    expect(me.principal).toMatchObject({ sub: "alice", roles: ["owner"] });
    expect(await adminAuditFor(id)).toEqual([{ actor: "admin:root", action: "tenant.create", success: 1 }]);
  });

  it("generates a valid id when none is given", async () => {
    const res = await call("/v1/tenants", {
      method: "POST",
      token: await admin(),
      body: { name: "Anon", owner: { sub: "o" } },
    });
    const body = await json(res);
    expect(res.status).toBe(201);
    expect(body.id).toMatch(/^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$/);
    expect(body.tier).toBe("basic");
  });

  it("stores only a wrapped data key in the registry", async () => {
    const t = await createTenant();
    const row = await env.CONTROL_DB.prepare("SELECT wrapped_key FROM tenants WHERE id = ?")
      .bind(t.id)
      .first<{ wrapped_key: string }>();
    expect(row?.wrapped_key).toMatch(/^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
  });

  it("answers 409 for an id that exists", async () => {
    const t = await createTenant();
    const res = await call("/v1/tenants", {
      method: "POST",
      token: await admin(),
      body: { id: t.id, name: "Again", owner: { sub: "mallory" } },
    });
    expect(res.status).toBe(409);
    expect((await json(res)).code).toBe("conflict");
    // The original owner is untouched.
    const me = await json(await call("/v1/me", { token: t.ownerToken }));
    expect(me.principal).toMatchObject({ sub: t.owner, roles: ["owner"] });
  });

  it("lets exactly one of several concurrent creates of one id win", async () => {
    const id = uniqueId("race");
    const token = await admin();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call("/v1/tenants", { method: "POST", token, body: { id, name: `n${i}`, owner: { sub: `owner${i}` } } }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    const winner = await json(results.find((r) => r.status === 201) as Response);
    const me = await call("/v1/me", { token: await userToken(id, String(winner.owner)) });
    expect(me.status).toBe(200);
    const loser = ["owner0", "owner1", "owner2", "owner3", "owner4", "owner5"].find((o) => o !== winner.owner);
    expect((await call("/v1/me", { token: await userToken(id, String(loser)) })).status).toBe(403);
  });

  it("validates the body: bad id, unknown tier, unknown fields, malformed JSON", async () => {
    const token = await admin();
    const cases: unknown[] = [
      { id: "Bad_Id", name: "x", owner: { sub: "a" } },
      { id: uniqueId(), name: "x", tier: "platinum", owner: { sub: "a" } },
      { id: uniqueId(), name: "x", owner: { sub: "a" }, wrappedKey: "mine" },
      { id: uniqueId(), name: "", owner: { sub: "a" } },
      { id: uniqueId(), name: "x" },
      "{not json",
    ];
    for (const body of cases) {
      const res = await call("/v1/tenants", { method: "POST", token, body });
      const problem = await json(res);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(problem.code).toBe("validation_failed");
      expect(JSON.stringify(problem)).not.toMatch(/at .*\.ts|stack/i);
    }
  });

  it("refuses a body over the limit with 413 before reading it", async () => {
    const res = await call("/v1/tenants", {
      method: "POST",
      token: await admin(),
      body: JSON.stringify({ name: "x".repeat(1024 * 1024 + 10), owner: { sub: "a" } }),
    });
    expect(res.status).toBe(413);
    expect((await json(res)).code).toBe("payload_too_large");
  });
});

describe("tenant listing and reading", () => {
  it("filters by status, tier and text and pages with an opaque cursor", async () => {
    const tag = uniqueId("list");
    const token = await admin();
    for (const n of [1, 2, 3]) await createTenant(`${tag}-${n}`, "o", { tier: n === 3 ? "enterprise" : "pro" });
    await call(`/v1/tenants/${tag}-2/suspend`, { method: "POST", token });

    const page1 = await json<{ items: { id: string }[]; nextCursor: string | null }>(
      await call(`/v1/tenants?q=${tag}&limit=2`, { token }),
    );
    expect(page1.items.map((t) => t.id)).toEqual([`${tag}-1`, `${tag}-2`]);
    expect(page1.nextCursor).toBeTruthy();
    const page2 = await json<{ items: { id: string }[]; nextCursor: string | null }>(
      await call(`/v1/tenants?q=${tag}&limit=2&cursor=${page1.nextCursor}`, { token }),
    );
    expect(page2.items.map((t) => t.id)).toEqual([`${tag}-3`]);
    expect(page2.nextCursor).toBeNull();

    const suspended = await json<{ items: { id: string }[] }>(
      await call(`/v1/tenants?q=${tag}&status=suspended`, { token }),
    );
    expect(suspended.items.map((t) => t.id)).toEqual([`${tag}-2`]);
    const enterprise = await json<{ items: { id: string }[] }>(
      await call(`/v1/tenants?q=${tag}&tier=enterprise`, { token }),
    );
    expect(enterprise.items.map((t) => t.id)).toEqual([`${tag}-3`]);
  });

  it("treats % and _ in the search text literally", async () => {
    const res = await json<{ items: unknown[] }>(await call("/v1/tenants?q=%25", { token: await admin() }));
    expect(res.items).toEqual([]);
  });

  it("answers 400 for a forged cursor and an out-of-range limit", async () => {
    const token = await admin();
    expect((await call("/v1/tenants?cursor=%%%", { token })).status).toBe(400);
    expect((await call("/v1/tenants?cursor=bm90LWpzb24", { token })).status).toBe(400);
    expect((await call("/v1/tenants?limit=1001", { token })).status).toBe(400);
  });

  it("lets a tenant's owner read their own tenant, not another", async () => {
    const a = await createTenant();
    const b = await createTenant();
    expect((await call(`/v1/tenants/${a.id}`, { token: a.ownerToken })).status).toBe(200);
    const other = await call(`/v1/tenants/${b.id}`, { token: a.ownerToken });
    expect(other.status).toBe(404);
    expect(JSON.stringify(await json(other))).not.toContain(b.id);
  });

  it("refuses a viewer reading their tenant's registry entry", async () => {
    const t = await createTenant(uniqueId(), "alice", { settings: { autoJoinRole: "viewer" } });
    const viewer = await userToken(t.id, "victor");
    expect((await call("/v1/me", { token: viewer })).status).toBe(200);
    const res = await call(`/v1/tenants/${t.id}`, { token: viewer });
    expect(res.status).toBe(403);
  });

  it("answers 404 for an unknown tenant", async () => {
    expect((await call("/v1/tenants/no-such-tenant", { token: await admin() })).status).toBe(404);
  });
});

describe("tenant updates", () => {
  it("pushes a tier change and limit overrides to the tenant's object at once", async () => {
    const t = await createTenant();
    const token = await admin();
    const res = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token,
      body: { tier: "enterprise", limits: { requestsPerSecond: 5, burst: 7 }, name: "Renamed" },
    });
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({
      tier: "enterprise",
      name: "Renamed",
      limitOverrides: { requestsPerSecond: 5, burst: 7 },
    });
    const me = await json<{ tenant: { tier: string; name: string }; limits: Record<string, number> }>(
      await call("/v1/me", { token: t.ownerToken }),
    );
    expect(me.tenant).toMatchObject({ tier: "enterprise", name: "Renamed" });
    expect(me.limits).toMatchObject({ requestsPerSecond: 5, burst: 7, maxMembers: 1000 });

    // null removes an override: the plan's value applies again.
    await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { limits: { burst: null } } });
    const after = await json<{ limits: Record<string, number> }>(await call("/v1/me", { token: t.ownerToken }));
    expect(after.limits).toMatchObject({ requestsPerSecond: 5, burst: 400 });
  });

  it("merges settings and legal hold and records the change", async () => {
    const t = await createTenant();
    const token = await admin();
    const res = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token,
      body: { settings: { softDeleteDays: 7 }, legalHold: true },
    });
    const body = await json<{ settings: Record<string, unknown>; legalHold: boolean }>(res);
    expect(body.settings).toMatchObject({ softDeleteDays: 7, historyDays: 365, auditRetentionDays: 2557 });
    expect(body.legalHold).toBe(true);
    expect((await adminAuditFor(t.id)).map((r) => r.action)).toEqual(["tenant.create", "tenant.update"]);
  });

  it("refuses invalid updates", async () => {
    const t = await createTenant();
    const token = await admin();
    for (const body of [
      { tier: "gold" },
      { settings: { softDeleteDays: -1 } },
      { limits: { burst: "lots" } },
      { status: "active" },
    ]) {
      const res = await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe("tenant lifecycle", () => {
  it("suspends and resumes: a suspended tenant answers 403 tenant_suspended", async () => {
    const t = await createTenant();
    const token = await admin();
    expect((await call(`/v1/tenants/${t.id}/suspend`, { method: "POST", token })).status).toBe(200);
    const res = await call("/v1/me", { token: t.ownerToken });
    expect(res.status).toBe(403);
    expect((await json(res)).code).toBe("tenant_suspended");
    // Its owner cannot read the registry entry either.
    expect((await call(`/v1/tenants/${t.id}`, { token: t.ownerToken })).status).toBe(403);
    expect((await call(`/v1/tenants/${t.id}/resume`, { method: "POST", token })).status).toBe(200);
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
  });

  it("cancels and restores: a cancelled tenant answers 410 tenant_cancelled", async () => {
    const t = await createTenant();
    const token = await admin();
    const cancelled = await json(await call(`/v1/tenants/${t.id}`, { method: "DELETE", token }));
    expect(cancelled).toMatchObject({ status: "cancelled" });
    expect(cancelled.cancelledAt).toBeTruthy();
    const res = await call("/v1/me", { token: t.ownerToken });
    expect(res.status).toBe(410);
    expect((await json(res)).code).toBe("tenant_cancelled");
    expect((await call(`/v1/tenants/${t.id}/restore`, { method: "POST", token })).status).toBe(200);
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
  });

  it("refuses transitions that do not apply with 409", async () => {
    const t = await createTenant();
    const token = await admin();
    expect((await call(`/v1/tenants/${t.id}/resume`, { method: "POST", token })).status).toBe(409);
    expect((await call(`/v1/tenants/${t.id}/restore`, { method: "POST", token })).status).toBe(409);
    await call(`/v1/tenants/${t.id}`, { method: "DELETE", token });
    expect((await call(`/v1/tenants/${t.id}/suspend`, { method: "POST", token })).status).toBe(409);
  });

  it("refuses a restore after the grace period", async () => {
    const t = await createTenant();
    const token = await admin();
    await call(`/v1/tenants/${t.id}`, { method: "DELETE", token });
    await env.CONTROL_DB.prepare("UPDATE tenants SET cancelled_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 31 * 86_400_000).toISOString(), t.id)
      .run();
    const res = await call(`/v1/tenants/${t.id}/restore`, { method: "POST", token });
    expect(res.status).toBe(409);
    expect(String((await json(res)).detail)).toMatch(/grace/);
  });
});
