// GET|PATCH /v1/settings (DESIGN §9): any member reads, settings:manage changes; values are
// bounded (a bad one is a 400 naming the field), the audit floor is 7 years for tenant callers,
// the change is audited, applies at once and survives later config pushes from the control plane.
import { describe, expect, it } from "vitest";
import { adminToken, call, callRaw, createTenant, json, userToken } from "./helpers";

async function member(t: { id: string; ownerToken: string }, sub: string, roles: string[]) {
  const res = await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles } });
  expect(res.status).toBe(201);
  return userToken(t.id, sub);
}

const patch = (token: string, body: unknown) => call("/v1/settings", { method: "PATCH", token, body });

describe("tenant settings", () => {
  it("any member reads the whole settings shape, with defaults", async () => {
    const t = await createTenant();
    const viewer = await member(t, "vic", ["viewer"]);
    const res = await call("/v1/settings", { token: viewer });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      softDeleteDays: 30,
      historyDays: 365,
      auditRetentionDays: 2557,
      changeLogDays: 7,
      allowedFileTypes: [],
      maxFileBytes: 100 * 1024 * 1024,
      autoJoinRole: null,
      archiveAfterDays: null,
      branding: {},
    });
    expect((await call("/v1/settings", { token: await userToken(t.id, "stranger") })).status).toBe(403);
  });

  it("lets settings:manage change them: audited in both trails, applied at once, kept through later pushes", async () => {
    const t = await createTenant();
    const res = await patch(t.ownerToken, {
      softDeleteDays: 14,
      changeLogDays: 30,
      allowedFileTypes: ["image/*"],
      branding: { color: "#123456" },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json(res)).toMatchObject({ softDeleteDays: 14, changeLogDays: 30, historyDays: 365 });

    // Applied in the tenant's object: a text upload is now refused.
    const upload = await callRaw("/v1/files/a.txt", {
      method: "PUT",
      token: t.ownerToken,
      body: "x",
      headers: { "content-type": "text/plain" },
    });
    expect(upload.status).toBe(400);

    // A later push from the control plane (an admin renaming the tenant) keeps the change.
    const admin = await adminToken();
    expect((await call(`/v1/tenants/${t.id}`, { method: "PUT", token: admin, body: { name: "Renamed" } })).status).toBe(
      200,
    );
    const after = await json(await call("/v1/settings", { token: t.ownerToken }));
    expect(after).toMatchObject({ softDeleteDays: 14, changeLogDays: 30, allowedFileTypes: ["image/*"] });
    const registry = await json<{ settings: Record<string, unknown> }>(
      await call(`/v1/tenants/${t.id}`, { token: admin }),
    );
    expect(registry.settings).toMatchObject({ softDeleteDays: 14, branding: { color: "#123456" } });

    const audit = await json<{ items: { actor: string; action: string; details: { changed?: string[] } }[] }>(
      await call("/v1/audit?action=tenant.configured", { token: t.ownerToken }),
    );
    expect(audit.items.some((e) => e.actor === "user:alice" && e.details.changed?.includes("settings"))).toBe(true);
    const logs = await json<{ adminEvents: { actor: string; action: string; details: { fields: string[] } }[] }>(
      await call(`/v1/tenants/${t.id}/audit-logs`, { token: admin }),
    );
    expect(logs.adminEvents.find((e) => e.action === "tenant.settings.update")).toMatchObject({
      actor: "user:alice",
      details: { fields: ["allowedFileTypes", "branding", "changeLogDays", "softDeleteDays"] },
    });
  });

  it("refuses members without settings:manage (403) and changes nothing", async () => {
    const t = await createTenant();
    for (const roles of [["viewer"], ["editor"]]) {
      const token = await member(t, `m-${roles[0]}`, roles);
      const res = await patch(token, { softDeleteDays: 1 });
      expect(res.status, roles[0]).toBe(403);
      expect((await json(res)).code).toBe("forbidden");
    }
    expect(await json(await call("/v1/settings", { token: t.ownerToken }))).toMatchObject({ softDeleteDays: 30 });
  });

  it("refuses a bad value with 400 naming the field", async () => {
    const t = await createTenant();
    const cases: [Record<string, unknown>, string][] = [
      [{ softDeleteDays: 366 }, "softDeleteDays"],
      [{ softDeleteDays: -1 }, "softDeleteDays"],
      [{ softDeleteDays: 1.5 }, "softDeleteDays"],
      [{ historyDays: 0 }, "historyDays"],
      [{ historyDays: 3651 }, "historyDays"],
      [{ auditRetentionDays: 2556 }, "auditRetentionDays"],
      [{ changeLogDays: 0 }, "changeLogDays"],
      [{ allowedFileTypes: ["not a type"] }, "allowedFileTypes"],
      [{ maxFileBytes: 0 }, "maxFileBytes"],
      [{ autoJoinRole: "owner" }, "autoJoinRole"],
      [{ autoJoinRole: "ghost" }, "autoJoinRole"],
      [{ branding: { logo: "x".repeat(5000) } }, "branding"],
      [{ colour: "red" }, "colour"],
    ];
    for (const [body, field] of cases) {
      const res = await patch(t.ownerToken, body);
      const problem = await json(res);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(problem.code).toBe("validation_failed");
      expect(String(problem.detail), JSON.stringify(body)).toContain(field);
    }
    expect((await patch(t.ownerToken, {})).status).toBe(400);
    expect(await json(await call("/v1/settings", { token: t.ownerToken }))).toMatchObject({
      softDeleteDays: 30,
      auditRetentionDays: 2557,
      autoJoinRole: null,
    });
  });

  it("keeps the audit floor at 2557 days for tenant callers; a platform admin may lower it", async () => {
    const t = await createTenant();
    expect((await patch(t.ownerToken, { auditRetentionDays: 2556 })).status).toBe(400);
    expect((await patch(t.ownerToken, { auditRetentionDays: 2557 })).status).toBe(200);
    expect((await patch(t.ownerToken, { auditRetentionDays: 4000 })).status).toBe(200);
    // The platform admin too goes below the floor only by stating why (kept in the admin audit).
    const body = { settings: { auditRetentionDays: 1000 } };
    const unexplained = await call(`/v1/tenants/${t.id}`, { method: "PUT", token: await adminToken(), body });
    expect(unexplained.status).toBe(400);
    expect((await json(unexplained)).field).toBe("settings.auditRetentionDays");
    expect(await json(await call("/v1/settings", { token: t.ownerToken }))).toMatchObject({ auditRetentionDays: 4000 });
    const created = await call("/v1/tenants", {
      method: "POST",
      token: await adminToken(),
      body: { name: "Short", owner: { sub: "x" }, settings: { auditRetentionDays: 1 } },
    });
    expect(created.status).toBe(400);
    const lowered = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      headers: { "x-silo-reason": "Customer contract ABC-1 limits audit retention" },
      body,
    });
    expect(lowered.status).toBe(200);
    const logs = await json<{ adminEvents: { action: string; details: { reason?: string } }[] }>(
      await call(`/v1/tenants/${t.id}/audit-logs`, { token: await adminToken() }),
    );
    expect(logs.adminEvents.find((e) => e.action === "tenant.audit_floor_lowered")?.details.reason).toBe(
      "Customer contract ABC-1 limits audit retention",
    );
    expect(await json(await call("/v1/settings", { token: t.ownerToken }))).toMatchObject({ auditRetentionDays: 1000 });
  });

  it("sets autoJoinRole only to a role within the caller's clearance", async () => {
    const t = await createTenant();
    for (const [name, body] of [
      ["auditor", { permissions: ["records:read"], clearance: "restricted" }],
      ["settings_keeper", { permissions: ["settings:manage", "records:read", "files:read"] }],
    ] as const) {
      expect((await call(`/v1/roles/${name}`, { method: "PUT", token: t.ownerToken, body })).status).toBe(200);
    }
    const keeper = await member(t, "kim", ["settings_keeper"]);
    const escalate = await patch(keeper, { autoJoinRole: "auditor" });
    expect(escalate.status).toBe(403);
    expect((await json<{ detail: string }>(escalate)).detail).toMatch(/clearance 'restricted'/);
    expect(await json(await call("/v1/settings", { token: t.ownerToken }))).toMatchObject({ autoJoinRole: null });
    expect((await patch(t.ownerToken, { autoJoinRole: "auditor" })).status).toBe(200);
  });

  it("sets autoJoinRole only to a role whose permissions the caller holds", async () => {
    const t = await createTenant();
    const role = await call("/v1/roles/settings_keeper", {
      method: "PUT",
      token: t.ownerToken,
      body: { permissions: ["settings:manage", "records:read", "files:read"] },
    });
    expect(role.status).toBe(200);
    const keeper = await member(t, "kim", ["settings_keeper"]);
    const escalate = await patch(keeper, { autoJoinRole: "admin" });
    expect(escalate.status).toBe(403);
    expect(await json(await call("/v1/settings", { token: t.ownerToken }))).toMatchObject({ autoJoinRole: null });
    expect((await patch(keeper, { autoJoinRole: "viewer" })).status).toBe(200);
    // It takes effect: a stranger with a token for the tenant joins as a viewer.
    const stranger = await userToken(t.id, "newcomer");
    const me = await json<{ principal: { roles: string[] } }>(await call("/v1/me", { token: stranger }));
    expect(me.principal.roles).toEqual(["viewer"]);
  });
});
