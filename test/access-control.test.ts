// Access control in depth: a role × permission × endpoint matrix, custom roles, token narrowing,
// last-owner protection, API keys, record ACLs with shares and clearances, and the cross-tenant
// query of platform admins.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BUILTIN_ROLES } from "../durable-objects/access/permissions";
import type { Permission } from "../durable-objects/contract/access";
import { create, list, type Page } from "./data-helpers";
import { adminToken, call, callRaw, createTenant, json, userToken } from "./helpers";

async function addMember(owner: string, sub: string, roles: string[]) {
  const res = await call("/v1/members", { method: "POST", token: owner, body: { sub, roles } });
  expect(res.status, await res.clone().text()).toBe(201);
}

const ENDPOINTS: { permission: Permission; call: (token: string, tenant: string) => Promise<Response> }[] = [
  { permission: "records:read", call: (t) => call("/v1/collections/notes/records", { token: t }) },
  {
    permission: "records:write",
    call: (t) => call("/v1/collections/notes/records", { method: "POST", token: t, body: { title: "x" } }),
  },
  {
    permission: "collections:manage",
    call: (t) =>
      call("/v1/collections", {
        method: "POST",
        token: t,
        body: { name: `c${crypto.randomUUID().slice(0, 6)}`, fields: [] },
      }),
  },
  { permission: "audit:read", call: (t) => call("/v1/audit", { token: t }) },
  { permission: "members:manage", call: (t) => call("/v1/members", { token: t }) },
  { permission: "keys:manage", call: (t) => call("/v1/api-keys", { token: t }) },
  { permission: "files:read", call: (t) => call("/v1/files", { token: t }) },
  {
    permission: "files:write",
    call: (t) =>
      callRaw("/v1/files/m.txt", { method: "PUT", token: t, body: "x", headers: { "content-type": "text/plain" } }),
  },
  { permission: "usage:read", call: (t, tenant) => call(`/v1/tenants/${tenant}/usage`, { token: t }) },
];

describe("roles and permissions", () => {
  it("every built-in and custom role gets exactly its permissions on every endpoint", async () => {
    const t = await createTenant();
    await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "notes", fields: [{ name: "title", type: "string" }] },
    });
    const custom = { auditor: ["audit:read", "records:read"] as Permission[] };
    const put = await call("/v1/roles/auditor", {
      method: "PUT",
      token: t.ownerToken,
      body: { permissions: custom.auditor },
    });
    expect(put.status).toBe(200);
    const roles: Record<string, readonly Permission[]> = { ...BUILTIN_ROLES, ...custom };
    for (const role of Object.keys(roles)) if (role !== "owner") await addMember(t.ownerToken, `u-${role}`, [role]);
    for (const [role, granted] of Object.entries(roles)) {
      const token = role === "owner" ? t.ownerToken : await userToken(t.id, `u-${role}`);
      for (const e of ENDPOINTS) {
        const res = await e.call(token, t.id);
        const allowed = granted.includes(e.permission);
        expect(res.status < 400, `${role} ${e.permission}: ${res.status}`).toBe(allowed);
        if (!allowed) expect(res.status).toBe(403);
      }
    }
  });

  it("custom roles are checked: unknown permissions, built-in names, roles in use", async () => {
    const t = await createTenant();
    expect(
      (await call("/v1/roles/x", { method: "PUT", token: t.ownerToken, body: { permissions: ["root:all"] } })).status,
    ).toBe(400);
    expect(
      (await call("/v1/roles/viewer", { method: "PUT", token: t.ownerToken, body: { permissions: [] } })).status,
    ).toBe(409);
    await call("/v1/roles/auditor", { method: "PUT", token: t.ownerToken, body: { permissions: ["audit:read"] } });
    await addMember(t.ownerToken, "ann", ["auditor"]);
    expect((await call("/v1/roles/auditor", { method: "DELETE", token: t.ownerToken })).status).toBe(409);
    const listed = await json<Page<{ name: string; builtin: boolean }>>(
      await call("/v1/roles", { token: t.ownerToken }),
    );
    expect(listed.items.map((r) => `${r.name}:${r.builtin}`)).toEqual([
      "owner:true",
      "admin:true",
      "editor:true",
      "viewer:true",
      "auditor:false",
    ]);
    expect(
      (await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "x", roles: ["ghost"] } })).status,
    ).toBe(400);
  });

  it("token roles narrow a write; role changes apply on the next request", async () => {
    const t = await createTenant();
    await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "notes", fields: [{ name: "title", type: "string" }] },
    });
    const narrowed = await userToken(t.id, t.owner, { roles: ["viewer"] });
    expect(
      (await call("/v1/collections/notes/records", { method: "POST", token: narrowed, body: { title: "x" } })).status,
    ).toBe(403);
    await addMember(t.ownerToken, "bob", ["editor"]);
    const bob = await userToken(t.id, "bob");
    expect(
      (await call("/v1/collections/notes/records", { method: "POST", token: bob, body: { title: "x" } })).status,
    ).toBe(201);
    await call("/v1/members/bob", { method: "PATCH", token: t.ownerToken, body: { roles: ["viewer"] } });
    expect(
      (await call("/v1/collections/notes/records", { method: "POST", token: bob, body: { title: "y" } })).status,
    ).toBe(403);
    await call("/v1/members/bob", { method: "DELETE", token: t.ownerToken });
    expect((await call("/v1/collections/notes/records", { token: bob })).status).toBe(403);
  });

  it("protects the last owner and the member quota", async () => {
    const t = await createTenant(undefined, "alice", { limits: { maxMembers: 2 } });
    expect((await call(`/v1/members/${t.owner}`, { method: "DELETE", token: t.ownerToken })).status).toBe(409);
    expect(
      (await call(`/v1/members/${t.owner}`, { method: "PATCH", token: t.ownerToken, body: { roles: ["admin"] } }))
        .status,
    ).toBe(409);
    await addMember(t.ownerToken, "olga", ["owner"]);
    const third = await call("/v1/members", {
      method: "POST",
      token: t.ownerToken,
      body: { sub: "third", roles: ["viewer"] },
    });
    expect(third.status).toBe(403);
    expect(await json(third)).toMatchObject({ code: "quota_exceeded", limit: 2, current: 2 });
    expect(
      (await call(`/v1/members/${t.owner}`, { method: "PATCH", token: t.ownerToken, body: { roles: ["admin"] } }))
        .status,
    ).toBe(200);
  });
});

describe("member ids", () => {
  it("refuses a member sub with control characters, and an empty or overlong one, with 400", async () => {
    const t = await createTenant();
    for (const sub of ["a\u0000b", "bob\n", "del\u007f", "c1\u0085", "", "x".repeat(256)]) {
      const res = await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles: ["viewer"] } });
      expect(res.status, JSON.stringify(sub)).toBe(400);
      expect((await json(res)).code).toBe("validation_failed");
    }
    // Provider-shaped ids are fine.
    for (const sub of ["auth0|64f1c2d3e4b5a6978899aabb", "user_2bQxWvUtSrPq0NmLk", "ümlaut@example.com"]) {
      await addMember(t.ownerToken, sub, ["viewer"]);
    }
  });

  it("refuses a tenant owner sub with control characters with 400", async () => {
    const res = await call("/v1/tenants", {
      method: "POST",
      token: await adminToken(),
      body: { name: "x", owner: { sub: "root\u0000" } },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).code).toBe("validation_failed");
  });
});

describe("API keys", () => {
  it("lives through create, use, scope refusal, revocation and expiry", async () => {
    const t = await createTenant();
    await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "notes", fields: [{ name: "title", type: "string" }] },
    });
    const res = await call("/v1/api-keys", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "etl", scopes: ["records:read"] },
    });
    const created = await json<{ id: string; key: string; scopes: string[] }>(res);
    expect(res.status).toBe(201);
    expect(created.key).toMatch(new RegExp(`^silo_${t.id}_[a-z0-9]{12}[A-Za-z0-9]{32}$`));
    const listed = JSON.stringify(await json(await call("/v1/api-keys", { token: t.ownerToken })));
    expect(listed).not.toContain(created.key);
    expect(listed).not.toContain("hash");

    expect((await call("/v1/collections/notes/records", { token: created.key })).status).toBe(200);
    const write = await call("/v1/collections/notes/records", {
      method: "POST",
      token: created.key,
      body: { title: "x" },
    });
    expect(write.status).toBe(403);
    const keys = await json<Page<{ lastUsedAt: string | null }>>(await call("/v1/api-keys", { token: t.ownerToken }));
    expect(keys.items[0]?.lastUsedAt).toBeTruthy();

    expect((await call(`/v1/api-keys/${created.id}`, { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    const revoked = await call("/v1/collections/notes/records", { token: created.key });
    expect(revoked.status).toBe(401);

    const second = await json<{ id: string; key: string }>(
      await call("/v1/api-keys", {
        method: "POST",
        token: t.ownerToken,
        body: { name: "soon", scopes: ["records:read"] },
      }),
    );
    await runInDurableObject(env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id)), (_i, state) => {
      state.storage.sql.exec("UPDATE api_keys SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", second.id);
    });
    expect((await call("/v1/collections/notes/records", { token: second.key })).status).toBe(401);
  });

  it("a key of tenant A never reaches B, and malformed keys are refused", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const { key } = await json<{ key: string }>(
      await call("/v1/api-keys", {
        method: "POST",
        token: a.ownerToken,
        body: { name: "k", scopes: ["records:read"] },
      }),
    );
    const forged = key.replace(`silo_${a.id}_`, `silo_${b.id}_`);
    expect((await call("/v1/me", { token: forged })).status).toBe(401);
    expect((await call("/v1/me", { token: key, headers: { "x-silo-tenant": b.id } })).status).toBe(404);
    for (const bad of ["silo_", "silo_acme", `silo_${a.id}_short`, `silo_BAD_${"a".repeat(44)}`]) {
      expect((await call("/v1/me", { token: bad })).status, bad).toBe(401);
    }
  });

  it("grants only scopes its creator holds, and follows the creator's permissions", async () => {
    const t = await createTenant();
    await call("/v1/roles/keymaker", {
      method: "PUT",
      token: t.ownerToken,
      body: { permissions: ["keys:manage", "records:read"] },
    });
    await addMember(t.ownerToken, "kim", ["keymaker"]);
    const kim = await userToken(t.id, "kim");
    const beyond = await call("/v1/api-keys", {
      method: "POST",
      token: kim,
      body: { name: "k", scopes: ["records:write"] },
    });
    expect(beyond.status).toBe(403);
    const ok = await json<{ key: string }>(
      await call("/v1/api-keys", { method: "POST", token: kim, body: { name: "k", scopes: ["records:read"] } }),
    );
    expect((await call("/v1/me", { token: ok.key })).status).toBe(200);
    await call("/v1/members/kim", { method: "DELETE", token: t.ownerToken });
    expect((await call("/v1/me", { token: ok.key })).status).toBe(401);
  });
});

describe("record ACLs", () => {
  async function aclTenant() {
    const t = await createTenant();
    const res = await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "docs", acl: true, fields: [{ name: "title", type: "string", searchable: true }] },
    });
    expect(res.status).toBe(201);
    await addMember(t.ownerToken, "bob", ["editor"]);
    await addMember(t.ownerToken, "carol", ["viewer"]);
    await addMember(t.ownerToken, "dave", ["editor"]);
    return {
      ...t,
      bob: await userToken(t.id, "bob"),
      carol: await userToken(t.id, "carol"),
      dave: await userToken(t.id, "dave"),
    };
  }

  const canRead = async (token: string, id: string) => {
    const get = (await call(`/v1/collections/docs/records/${id}`, { token })).status;
    const inList = (await list(token, "limit=100", "docs")).items.some((r) => r.id === id);
    const hits = await json<Page<{ id: string }>>(await call("/v1/search?q=quarterly", { token }));
    const history = (await call(`/v1/collections/docs/records/${id}/history`, { token })).status;
    return { get, inList, inSearch: hits.items.some((h) => h.id === id), history };
  };

  it("hides a private record from other users on every read surface, and shares open it", async () => {
    const t = await aclTenant();
    const doc = await create(t.bob, { title: "Quarterly plan" }, "docs");
    expect(doc).toMatchObject({ owner: "bob", visibility: "private", classification: "internal" });
    expect(await canRead(t.carol, doc.id)).toEqual({ get: 404, inList: false, inSearch: false, history: 404 });
    expect(await canRead(t.ownerToken, doc.id)).toEqual({ get: 200, inList: true, inSearch: true, history: 200 });
    const batch = await call("/v1/collections/docs/records:batch", {
      method: "POST",
      token: t.dave,
      body: { operations: [{ op: "update", id: doc.id, data: { title: "mine now" } }] },
    });
    expect(batch.status).toBe(404);

    // Shared with carol for reading: visible, not writable.
    await call(`/v1/collections/docs/records/${doc.id}`, {
      method: "PATCH",
      token: t.bob,
      body: { visibility: "shared" },
    });
    const share = await json<{ id: string }>(
      await call(`/v1/collections/docs/records/${doc.id}/shares`, {
        method: "POST",
        token: t.bob,
        body: { principal: "user:carol", permission: "read" },
      }),
    );
    expect(await canRead(t.carol, doc.id)).toEqual({ get: 200, inList: true, inSearch: true, history: 200 });
    expect(
      (await call(`/v1/collections/docs/records/${doc.id}`, { method: "PATCH", token: t.carol, body: { title: "x" } }))
        .status,
    ).toBe(403);
    expect(
      (
        await call(`/v1/collections/docs/records/${doc.id}/shares`, {
          method: "POST",
          token: t.carol,
          body: { principal: "user:carol", permission: "write" },
        })
      ).status,
    ).toBe(403);

    // Revoking is immediate.
    await call(`/v1/collections/docs/records/${doc.id}/shares/${share.id}`, { method: "DELETE", token: t.bob });
    expect((await canRead(t.carol, doc.id)).get).toBe(404);
  });

  it("write shares, role shares, owner-only fields and classification clearances", async () => {
    const t = await aclTenant();
    const doc = await create(t.bob, { title: "Quarterly budget", visibility: "shared" }, "docs");
    await call(`/v1/collections/docs/records/${doc.id}/shares`, {
      method: "POST",
      token: t.bob,
      body: { principal: "role:editor", permission: "write" },
    });
    expect(
      (
        await call(`/v1/collections/docs/records/${doc.id}`, {
          method: "PATCH",
          token: t.dave,
          body: { title: "edited by dave" },
        })
      ).status,
    ).toBe(200);
    const visibility = await call(`/v1/collections/docs/records/${doc.id}`, {
      method: "PATCH",
      token: t.dave,
      body: { visibility: "public" },
    });
    expect(visibility.status).toBe(403);
    const owner = await call(`/v1/collections/docs/records/${doc.id}`, {
      method: "PATCH",
      token: t.bob,
      body: { owner: "dave" },
    });
    expect(owner.status).toBe(400);
    expect((await canRead(t.carol, doc.id)).get).toBe(404);

    const secret = await create(
      t.bob,
      { title: "Quarterly salaries", visibility: "public", classification: "confidential" },
      "docs",
    );
    expect((await canRead(t.carol, secret.id)).get).toBe(404); // a viewer's clearance is internal
    expect((await canRead(t.dave, secret.id)).get).toBe(200); // an editor's is confidential
    const open = await create(t.bob, { title: "Quarterly newsletter", visibility: "public" }, "docs");
    expect((await canRead(t.carol, open.id)).get).toBe(200);
  });

  it("a token's roles narrow clearance and role shares as they narrow permissions", async () => {
    const t = await aclTenant();
    // dave is an editor (confidential clearance); signed in as a viewer he clears what viewers do.
    const secret = await create(
      t.bob,
      { title: "Quarterly salaries", visibility: "public", classification: "confidential" },
      "docs",
    );
    expect((await canRead(t.dave, secret.id)).get).toBe(200);
    const daveAsViewer = await userToken(t.id, "dave", { roles: ["viewer"] });
    expect(await canRead(daveAsViewer, secret.id)).toMatchObject({ get: 404, inList: false, inSearch: false });
    // A share to a role reaches a narrowed token only when the token names that role.
    const role = await call("/v1/roles/finance", {
      method: "PUT",
      token: t.ownerToken,
      body: { permissions: ["records:read"] },
    });
    expect(role.status).toBe(200);
    const roles = await call("/v1/members/carol", {
      method: "PATCH",
      token: t.ownerToken,
      body: { roles: ["viewer", "finance"] },
    });
    expect(roles.status).toBe(200);
    const budget = await create(t.bob, { title: "Quarterly budget", visibility: "shared" }, "docs");
    const shared = await call(`/v1/collections/docs/records/${budget.id}/shares`, {
      method: "POST",
      token: t.bob,
      body: { principal: "role:finance", permission: "read" },
    });
    expect(shared.status, await shared.clone().text()).toBe(201);
    expect((await canRead(t.carol, budget.id)).get).toBe(200);
    expect((await canRead(await userToken(t.id, "carol", { roles: ["viewer"] }), budget.id)).get).toBe(404);
    const asFinance = await userToken(t.id, "carol", { roles: ["viewer", "finance"] });
    expect((await canRead(asFinance, budget.id)).get).toBe(200);
  });
});

describe("cross-tenant query", () => {
  it("aggregates one collection over tenants with different schemas, line by line", async () => {
    const withRank = await createTenant();
    const plain = await createTenant();
    const without = await createTenant();
    await call("/v1/collections", {
      method: "POST",
      token: withRank.ownerToken,
      body: {
        name: "notes",
        fields: [
          { name: "rank", type: "integer" },
          { name: "tag", type: "string" },
          { name: "email", type: "string", pii: true },
        ],
      },
    });
    await call("/v1/collections", {
      method: "POST",
      token: plain.ownerToken,
      body: { name: "notes", fields: [{ name: "tag", type: "string" }] },
    });
    for (const [rank, tag] of [
      [1, "a"],
      [2, "a"],
      [4, "b"],
    ] as const)
      await create(withRank.ownerToken, { rank, tag });
    await create(plain.ownerToken, { tag: "a" });
    const query = async (body: Record<string, unknown>) => {
      const res = await call("/v1/admin/query", { method: "POST", token: await adminToken(), body });
      expect(res.headers.get("content-type")).toBe("application/x-ndjson");
      const lines = (await res.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      return Object.fromEntries(lines.map((l) => [l.tenant, l.result ?? l.error]));
    };
    const tenants = [withRank.id, plain.id, without.id, "no-such-tenant"];
    expect(await query({ collection: "notes", aggregate: "count", tenants })).toEqual({
      [withRank.id]: 3,
      [plain.id]: 1,
      [without.id]: expect.objectContaining({ code: "not_found" }),
      "no-such-tenant": expect.objectContaining({ code: "not_found" }),
    });
    const sums = await query({
      collection: "notes",
      aggregate: "sum",
      field: "rank",
      tenants: [withRank.id, plain.id],
    });
    expect(sums[withRank.id]).toBe(7);
    expect(sums[plain.id]).toMatchObject({ code: "validation_failed" });
    const grouped = await query({ collection: "notes", aggregate: "count", groupBy: "tag", tenants: [withRank.id] });
    expect(grouped[withRank.id]).toEqual([
      { group: "a", value: 2 },
      { group: "b", value: 1 },
    ]);
    const pii = await query({ collection: "notes", aggregate: "count", groupBy: "email", tenants: [withRank.id] });
    expect(pii[withRank.id]).toMatchObject({ code: "validation_failed" });
    expect(
      (
        await call("/v1/admin/query", {
          method: "POST",
          token: withRank.ownerToken,
          body: { collection: "notes", aggregate: "count" },
        })
      ).status,
    ).toBe(403);
  });
});
