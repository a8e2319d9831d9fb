// Isolation: the tenant comes from the credential only. Headers and paths naming another tenant,
// tenant users on admin endpoints (and path variants), non-members and never-provisioned tenants
// are all refused; platform admins act inside a tenant only with a stated, audited reason.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminToken, call, createTenant, json, uniqueId, userToken } from "./helpers";

describe("tenant isolation", () => {
  it("two tenants each see only themselves", async () => {
    const a = await createTenant(uniqueId("a"), "alice");
    const b = await createTenant(uniqueId("b"), "bob");
    const meA = await json<{ tenant: { id: string } }>(await call("/v1/me", { token: a.ownerToken }));
    const meB = await json<{ tenant: { id: string } }>(await call("/v1/me", { token: b.ownerToken }));
    expect(meA.tenant.id).toBe(a.id);
    expect(meB.tenant.id).toBe(b.id);
  });

  it("a user of one tenant naming another in X-Silo-Tenant gets 404", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const res = await call("/v1/me", { token: a.ownerToken, headers: { "x-silo-tenant": b.id } });
    expect(res.status).toBe(404);
    expect(JSON.stringify(await json(res))).not.toContain(b.id);
    // Naming their own tenant is harmless.
    expect((await call("/v1/me", { token: a.ownerToken, headers: { "x-silo-tenant": a.id } })).status).toBe(200);
  });

  it("a member of A with a token claiming B is not a member of B", async () => {
    const a = await createTenant(uniqueId(), "alice");
    const b = await createTenant(uniqueId(), "bob");
    const res = await call("/v1/me", { token: await userToken(b.id, "alice") });
    expect(res.status).toBe(403);
    expect((await json(res)).code).toBe("forbidden");
    expect(a.id).not.toBe(b.id);
  });

  it("a tenant user cannot call admin endpoints, whatever the path spelling", async () => {
    const a = await createTenant();
    const token = a.ownerToken;
    const attempts: [string, string][] = [
      ["POST", "/v1/tenants"],
      ["GET", "/v1/tenants"],
      ["POST", "/v1/tenants/"],
      ["GET", "/v1/tenants/"],
      ["POST", "//v1/tenants"],
      ["GET", "//v1//tenants"],
      ["POST", "/v1/tenants//"],
      ["POST", `/v1/tenants/${a.id}/suspend`],
      ["POST", `/v1/tenants/${a.id}/suspend/`],
      ["POST", `/v1//tenants/${a.id}/suspend`],
      ["PUT", `/v1/tenants/${a.id}`],
      ["DELETE", `/v1/tenants/${a.id}`],
      ["DELETE", `/v1/tenants/${a.id}/`],
      ["POST", "/V1/TENANTS"],
      ["POST", "/v1/tenants%2f"],
    ];
    for (const [method, path] of attempts) {
      const res = await call(path, {
        method,
        token,
        body: method === "GET" ? undefined : { name: "x", owner: { sub: "x" } },
      });
      expect([403, 404], `${method} ${path}`).toContain(res.status);
    }
    // Nothing changed: the tenant is still active and no tenant named "x" appeared.
    expect((await call("/v1/me", { token })).status).toBe(200);
  });

  it("a never-provisioned tenant answers like an unknown one and leaves no storage behind", async () => {
    const ghost = uniqueId("ghost");
    const res = await call("/v1/me", { token: await userToken(ghost, "alice") });
    expect(res.status).toBe(404);
    expect((await json(res)).code).toBe("not_found");
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(ghost));
    const tables = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
        )
        .toArray()
        .map((r) => r.name),
    );
    expect(tables).toEqual([]);
  });
});

describe("platform admins inside a tenant", () => {
  it("must name the tenant and state a reason", async () => {
    const t = await createTenant();
    const token = await adminToken("ops-1");
    const noTenant = await call("/v1/me", { token });
    expect(noTenant.status).toBe(400);
    const noReason = await call("/v1/me", { token, headers: { "x-silo-tenant": t.id } });
    expect(noReason.status).toBe(400);
    expect(String((await json(noReason)).detail)).toMatch(/X-Silo-Reason/);
  });

  it("with a reason acts as owner, and the access lands in both audit trails", async () => {
    const t = await createTenant();
    const token = await adminToken("ops-2");
    const res = await call("/v1/me", {
      token,
      headers: { "x-silo-tenant": t.id, "x-silo-reason": "ticket 4711: customer asked" },
    });
    const body = await json<{ principal: { kind: string; roles: string[] } }>(res);
    expect(res.status).toBe(200);
    expect(body.principal).toMatchObject({ kind: "admin", roles: ["owner"] });

    const adminRow = await env.CONTROL_DB.prepare(
      "SELECT actor, details FROM admin_audit WHERE target = ? AND action = 'tenant.data_access'",
    )
      .bind(t.id)
      .first<{ actor: string; details: string }>();
    expect(adminRow?.actor).toBe("admin:ops-2");
    expect(JSON.parse(adminRow?.details ?? "{}").reason).toBe("ticket 4711: customer asked");

    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    const events = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql
        .exec<{ actor: string; details: string }>(
          "SELECT actor, details FROM audit_events WHERE action = 'platform_admin.access'",
        )
        .toArray(),
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.actor).toBe("admin:ops-2");
    expect(JSON.parse(events[0]?.details ?? "{}").reason).toBe("ticket 4711: customer asked");
  });

  it("headers from a non-admin select nothing: a reason does not grant access", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const res = await call("/v1/me", {
      token: a.ownerToken,
      headers: { "x-silo-tenant": b.id, "x-silo-reason": "please" },
    });
    expect(res.status).toBe(404);
  });
});

describe("membership", () => {
  it("refuses a valid token of a non-member unless autoJoinRole admits them", async () => {
    const t = await createTenant();
    const stranger = await userToken(t.id, "stranger");
    expect((await call("/v1/me", { token: stranger })).status).toBe(403);
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: "viewer" } },
    });
    const me = await json<{ principal: { roles: string[]; permissions: string[] } }>(
      await call("/v1/me", { token: stranger }),
    );
    expect(me.principal.roles).toEqual(["viewer"]);
    expect(me.principal.permissions).not.toContain("records:write");
  });

  it("roles in a token only narrow the member's permissions", async () => {
    const t = await createTenant();
    const narrowed = await json<{ principal: { permissions: string[] } }>(
      await call("/v1/me", { token: await userToken(t.id, t.owner, { roles: ["viewer"] }) }),
    );
    expect(narrowed.principal.permissions.sort()).toEqual(["files:read", "records:read"]);
    // A viewer claiming owner in the token gains nothing.
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: "viewer" } },
    });
    const widened = await json<{ principal: { permissions: string[] } }>(
      await call("/v1/me", { token: await userToken(t.id, "vera", { roles: ["owner"] }) }),
    );
    expect(widened.principal.permissions.sort()).toEqual(["files:read", "records:read"]);
  });
});
