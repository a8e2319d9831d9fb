// Data subject erasure leaves no trace of the subject's personal data in records, history,
// search or later exports; data residency picks the jurisdiction's namespace when enabled.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { namespaceFor } from "../src/jurisdiction";
import { create, type Page, type Rec, tenantWithNotes } from "./data-helpers";
import { adminToken, call, createTenant, json, userToken } from "./helpers";
import { plainText } from "./sealed-helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

describe("data subject erasure", () => {
  it("erases the subject's pii from records and every version, their membership and uploads", async () => {
    const t = await tenantWithNotes();
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: "editor" } },
    });
    const bob = await userToken(t.id, "bob");
    const bobs = await create(bob, { title: "bob's note", email: "bob@private.example" });
    await call(`/v1/collections/notes/records/${bobs.id}`, {
      method: "PATCH",
      token: bob,
      body: { email: "bob@new.example" },
    });
    const alices = await create(t.ownerToken, { title: "alice's note", email: "alice@example.com" });
    await env.FILES.put(`tenant-${t.id}/files/bob/cv.pdf`, "cv");
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec(
        "INSERT INTO files (path, size, content_type, etag, uploaded_by, created_at, updated_at) VALUES ('bob/cv.pdf', 2, 'application/pdf', 'e', 'bob', 'now', 'now')",
      );
    });
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: null } },
    });

    const res = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: "bob" } });
    const result = await json<{ records: number; members: number; files: string[] }>(res);
    expect(res.status).toBe(200);
    expect(result).toMatchObject({ records: 1, members: 1, files: ["bob/cv.pdf"] });

    const now = await json<Rec>(await call(`/v1/collections/notes/records/${bobs.id}`, { token: t.ownerToken }));
    expect(now.email).toBeNull();
    expect(now.title).toBe("bob's note");
    const history = await json<Page<{ op: string; data: Rec }>>(
      await call(`/v1/collections/notes/records/${bobs.id}/history`, { token: t.ownerToken }),
    );
    expect(history.items.map((v) => v.op)).toEqual(["create", "update", "erase"]);
    expect(JSON.stringify(history)).not.toContain("example");
    expect(
      (await json<Rec>(await call(`/v1/collections/notes/records/${alices.id}`, { token: t.ownerToken }))).email,
    ).toBe("alice@example.com");
    expect((await call("/v1/me", { token: bob })).status).toBe(403);
    expect(await env.FILES.get(`tenant-${t.id}/files/bob/cv.pdf`)).toBeNull();

    const audit = JSON.stringify(await json(await call("/v1/audit?action=privacy.erasure", { token: t.ownerToken })));
    expect(audit).toContain('"subject":"erased:');
    expect(audit).not.toContain("bob@");

    // An export made afterwards carries no trace of the subject's personal data.
    const started = await json<{ id: string }>(
      await call(`/v1/tenants/${t.id}/export`, { method: "POST", token: t.ownerToken, body: {} }),
    );
    for (let i = 0; i < 100; i++) {
      const job = await json<{ status: string }>(
        await call(`/v1/tenants/${t.id}/exports/${started.id}`, { token: t.ownerToken }),
      );
      if (job.status === "completed") break;
      await runDurableObjectAlarm(stubOf(t.id));
    }
    const listed = await env.FILES.list({ prefix: `tenant-${t.id}/exports/${started.id}/` });
    let bundle = "";
    for (const o of listed.objects) bundle += await plainText(o.key);
    expect(bundle).toContain("alice@example.com");
    expect(bundle).not.toContain("bob@private.example");
    expect(bundle).not.toContain("bob@new.example");
  });

  it("refuses to erase the last owner, and is for owners and admins only", async () => {
    const t = await tenantWithNotes();
    const res = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: t.owner } });
    expect(res.status).toBe(409);
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: "viewer" } },
    });
    const viewer = await call("/v1/privacy/erasure", {
      method: "POST",
      token: await userToken(t.id, "vic"),
      body: { subject: "x" },
    });
    expect(viewer.status).toBe(403);
  });
});

describe("erasure takes what removing the member takes", () => {
  it("a members:manage-only member cannot erase an admin; an admin cannot erase an owner; an owner can", async () => {
    const t = await tenantWithNotes();
    await call("/v1/roles/manager", { method: "PUT", token: t.ownerToken, body: { permissions: ["members:manage"] } });
    for (const [sub, roles] of [
      ["mia", ["manager"]],
      ["adam", ["admin"]],
      ["olga", ["owner"]],
    ] as const) {
      await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles } });
    }
    const erase = async (token: string, subject: string) =>
      (await call("/v1/privacy/erasure", { method: "POST", token, body: { subject } })).status;
    expect(await erase(await userToken(t.id, "mia"), "adam")).toBe(403);
    expect((await call("/v1/me", { token: await userToken(t.id, "adam") })).status).toBe(200);
    expect(await erase(await userToken(t.id, "adam"), "olga")).toBe(403);
    expect((await call("/v1/me", { token: await userToken(t.id, "olga") })).status).toBe(200);
    expect(await erase(t.ownerToken, "olga")).toBe(200);
    expect((await call("/v1/me", { token: await userToken(t.id, "olga") })).status).toBe(403);
  });
});

describe("data residency", () => {
  it("chooses the jurisdiction's namespace only when jurisdictions are enabled", () => {
    const calls: string[] = [];
    const fake = {
      name: "default",
      jurisdiction(j: DurableObjectJurisdiction) {
        calls.push(j);
        return { ...fake, name: j };
      },
    };
    expect(namespaceFor(fake, "eu", true).name).toBe("eu");
    expect(namespaceFor(fake, "eu", false).name).toBe("default");
    expect(namespaceFor(fake, null, true).name).toBe("default");
    expect(calls).toEqual(["eu"]);
  });

  it("keeps working locally for a tenant with a jurisdiction (workerd does not implement them)", async () => {
    const t = await createTenant(undefined, "alice", { jurisdiction: "eu" });
    const res = await call(`/v1/tenants/${t.id}`, { token: await adminToken() });
    expect((await json<{ jurisdiction: string }>(res)).jurisdiction).toBe("eu");
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    expect(() => env.TENANT_DB.jurisdiction("eu").idFromName(t.id)).toThrow();
  });
});
