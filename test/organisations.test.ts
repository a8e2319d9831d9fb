// Organisations (DESIGN §13): parents, the org:manage routes over descendants, entering a
// descendant's data plane with a reason (audited in both chains), and the tree's rules.
import { describe, expect, it } from "vitest";
import { create, NOTES } from "./data-helpers";
import { adminToken, call, createTenant, json, orgTree, uniqueId, userToken } from "./helpers";

type Tenant = Awaited<ReturnType<typeof createTenant>>;

/** root ─┬─ child ── grandchild, root ── sibling; and an unrelated root `other`. */
const org = orgTree;

async function addMember(t: Tenant, sub: string, roles: string[]) {
  const res = await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles } });
  expect(res.status, await res.clone().text()).toBe(201);
  return userToken(t.id, sub);
}

const post = (path: string, token: string, body?: unknown, headers?: Record<string, string>) =>
  call(path, { method: "POST", token, body, headers });

const auditOf = async (t: Tenant, action: string) =>
  (
    await json<{ items: { action: string; actor: string; resource: string; details: Record<string, unknown> }[] }>(
      await call(`/v1/audit?action=${action}`, { token: t.ownerToken }),
    )
  ).items;

const inTenant = (id: string, reason?: string) => ({
  "x-silo-tenant": id,
  ...(reason === undefined ? {} : { "x-silo-reason": reason }),
});

describe("the tree", () => {
  it("a tenant shows its parent; an unknown parent is 400", async () => {
    const { root, child } = await org();
    const view = await json(await call(`/v1/tenants/${child.id}`, { token: await adminToken() }));
    expect(view.parent).toBe(root.id);
    expect((await json(await call(`/v1/tenants/${root.id}`, { token: await adminToken() }))).parent).toBeNull();
    const res = await post("/v1/tenants", await adminToken(), {
      name: "x",
      owner: { sub: "a" },
      parent: "no-such-parent",
    });
    expect(res.status).toBe(400);
    expect((await json(res)).field).toBe("parent");
  });

  it("refuses a fourth level, at creation and by moving a subtree under a deeper tenant", async () => {
    const { child, grandchild, sibling } = await org();
    const res = await post("/v1/tenants", await adminToken(), {
      id: uniqueId("deep"),
      name: "x",
      owner: { sub: "a" },
      parent: grandchild.id,
    });
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({ code: "conflict", reason: "depth", limit: 3, current: 4 });
    // child has a child of its own: under sibling (level 2) it would reach level 4.
    const moved = await call(`/v1/tenants/${child.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { parent: sibling.id },
    });
    expect(moved.status).toBe(409);
    expect((await json(moved)).reason).toBe("depth");
  });

  it("refuses cycles: a tenant under itself or under its own descendant", async () => {
    const { root, child, grandchild } = await org();
    const admin = await adminToken();
    for (const [id, parent] of [
      [root.id, root.id],
      [root.id, grandchild.id],
      [child.id, grandchild.id],
    ] as const) {
      const res = await call(`/v1/tenants/${id}`, { method: "PUT", token: admin, body: { parent } });
      expect(res.status, `${id} under ${parent}`).toBe(409);
      expect(await json(res)).toMatchObject({ code: "conflict", reason: "cycle" });
    }
    expect((await json(await call(`/v1/tenants/${root.id}`, { token: admin }))).parent).toBeNull();
    // A move that keeps the rules is taken; null makes a root again.
    const leaf = await createTenant(uniqueId("leaf"));
    const ok = await call(`/v1/tenants/${leaf.id}`, { method: "PUT", token: admin, body: { parent: child.id } });
    expect(ok.status).toBe(200);
    expect((await json(ok)).parent).toBe(child.id);
    const back = await call(`/v1/tenants/${leaf.id}`, { method: "PUT", token: admin, body: { parent: null } });
    expect((await json(back)).parent).toBeNull();
  });
});

describe("org routes", () => {
  it("refuse members without org:manage (403), and take a custom role that grants it", async () => {
    const { root, child } = await org();
    const viewer = await addMember(root, "vera", ["viewer"]);
    for (const res of [
      await call("/v1/org/tenants", { token: viewer }),
      await post("/v1/org/tenants", viewer, { name: "x", owner: { sub: "x" } }),
      await post(`/v1/org/tenants/${child.id}/suspend`, viewer),
      await post("/v1/org/query", viewer, { collection: "notes", aggregate: "count" }),
    ]) {
      expect(res.status).toBe(403);
      expect((await json(res)).code).toBe("forbidden");
    }
    const role = await call("/v1/roles/org_ops", {
      method: "PUT",
      token: root.ownerToken,
      body: { permissions: ["org:manage"] },
    });
    expect(role.status).toBe(200);
    const ops = await addMember(root, "otto", ["org_ops"]);
    expect((await call("/v1/org/tenants", { token: ops })).status).toBe(200);
  });

  it("list the caller's descendants with depth, status and usage; a child sees only its own subtree", async () => {
    const { root, child, grandchild, sibling, other } = await org();
    const page = await json<{ items: { id: string; depth: number; status: string; parent: string }[] }>(
      await call("/v1/org/tenants", { token: root.ownerToken }),
    );
    const byId = Object.fromEntries(page.items.map((t) => [t.id, t]));
    expect(Object.keys(byId).sort()).toEqual([child.id, grandchild.id, sibling.id].sort());
    expect(byId[grandchild.id]).toMatchObject({ depth: 2, parent: child.id, status: "active" });
    expect(byId[child.id]).toMatchObject({ depth: 1, parent: root.id });
    expect(byId[other.id]).toBeUndefined();
    const mine = await json<{ items: { id: string }[] }>(await call("/v1/org/tenants", { token: child.ownerToken }));
    expect(mine.items.map((t) => t.id)).toEqual([grandchild.id]);
    const paged = await json<{ items: unknown[]; nextCursor: string }>(
      await call("/v1/org/tenants?limit=2", { token: root.ownerToken }),
    );
    expect(paged.items).toHaveLength(2);
    const rest = await json<{ items: unknown[]; nextCursor: null }>(
      await call(`/v1/org/tenants?limit=2&cursor=${paged.nextCursor}`, { token: root.ownerToken }),
    );
    expect(rest.items).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
  });

  it("shows a child on trial as trial, with its end, as the tenant view does", async () => {
    const root = await createTenant(uniqueId("root"));
    const trial = await createTenant(uniqueId("trial"), "tia", { parent: root.id, trialDays: 7 });
    const view = await json<{ status: string; trialEndsAt: string }>(
      await call(`/v1/tenants/${trial.id}`, { token: await adminToken() }),
    );
    expect(view.status).toBe("trial");
    const page = await json<{ items: { id: string; status: string; trialEndsAt: string | null }[] }>(
      await call("/v1/org/tenants", { token: root.ownerToken }),
    );
    expect(page.items).toEqual([
      expect.objectContaining({ id: trial.id, status: "trial", trialEndsAt: view.trialEndsAt }),
    ]);
  });

  it("suspend and resume descendants only: the parent, a sibling or another tenant answer 404", async () => {
    const { root, child, grandchild, sibling, other } = await org();
    const suspended = await post(`/v1/org/tenants/${grandchild.id}/suspend`, root.ownerToken);
    expect(suspended.status).toBe(200);
    expect((await json(suspended)).status).toBe("suspended");
    expect((await call("/v1/me", { token: grandchild.ownerToken })).status).toBe(403);
    expect((await post(`/v1/org/tenants/${grandchild.id}/resume`, root.ownerToken)).status).toBe(200);
    expect((await call("/v1/me", { token: grandchild.ownerToken })).status).toBe(200);
    for (const [token, id] of [
      [root.ownerToken, other.id],
      [child.ownerToken, root.id],
      [child.ownerToken, sibling.id],
      [child.ownerToken, child.id],
      [root.ownerToken, "no-such-tenant"],
    ] as const) {
      const res = await post(`/v1/org/tenants/${id}/suspend`, token);
      expect(res.status, id).toBe(404);
    }
    for (const t of [root, sibling, other, child]) {
      expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    }
    const events = await auditOf(root, "org.tenant_suspend");
    expect(events.map((e) => e.resource)).toEqual([`tenant:${grandchild.id}`]);
  });

  it("resume only what an organisation suspended: a platform suspension stays", async () => {
    const { root, child } = await org();
    await post(`/v1/tenants/${child.id}/suspend`, await adminToken());
    const res = await post(`/v1/org/tenants/${child.id}/resume`, root.ownerToken);
    expect(res.status).toBe(403);
    expect((await call("/v1/me", { token: child.ownerToken })).status).toBe(403);
    await post(`/v1/tenants/${child.id}/resume`, await adminToken());
    expect((await post(`/v1/org/tenants/${child.id}/suspend`, root.ownerToken)).status).toBe(200);
    expect((await post(`/v1/org/tenants/${child.id}/resume`, root.ownerToken)).status).toBe(200);
  });

  it("create children within the parent's plan and the three levels", async () => {
    const { root, grandchild } = await org();
    const id = uniqueId("made");
    const res = await post("/v1/org/tenants", root.ownerToken, { id, name: "Made", owner: { sub: "mia" } });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await json(res)).toMatchObject({ id, parent: root.id, depth: 1, tier: "pro", status: "active" });
    expect((await call("/v1/me", { token: await userToken(id, "mia") })).status).toBe(200);
    expect((await auditOf(root, "org.tenant_create")).map((e) => e.resource)).toEqual([`tenant:${id}`]);
    // A richer plan than the parent's is refused.
    const richer = await post("/v1/org/tenants", root.ownerToken, {
      name: "Rich",
      tier: "enterprise",
      owner: { sub: "r" },
    });
    expect(richer.status).toBe(403);
    expect((await json(richer)).field).toBe("tier");
    const deep = await post("/v1/org/tenants", grandchild.ownerToken, { name: "Deep", owner: { sub: "d" } });
    expect(deep.status).toBe(409);
  });
});

describe("entering a descendant's data plane", () => {
  it("needs X-Silo-Reason; with it the parent reads, and both audit chains record it", async () => {
    const { root, child } = await org();
    await call("/v1/collections", { method: "POST", token: child.ownerToken, body: NOTES });
    await create(child.ownerToken, { title: "child's own" });
    // Without the header the parent's member reads its own tenant, which has no notes.
    expect((await call("/v1/collections/notes/records", { token: root.ownerToken })).status).toBe(404);
    const noReason = await call("/v1/collections/notes/records", {
      token: root.ownerToken,
      headers: inTenant(child.id),
    });
    expect(noReason.status).toBe(400);
    expect(await auditOf(child, "org_admin.access")).toEqual([]);

    const res = await call("/v1/collections/notes/records", {
      token: root.ownerToken,
      headers: inTenant(child.id, "ticket 7: audit of EU orders"),
    });
    expect(res.status).toBe(200);
    expect((await json<{ items: { title: string }[] }>(res)).items.map((r) => r.title)).toEqual(["child's own"]);
    const inChild = await auditOf(child, "org_admin.access");
    expect(inChild).toHaveLength(1);
    expect(inChild[0]).toMatchObject({ actor: `org:${root.id}:alice` });
    expect(inChild[0]?.details).toMatchObject({ reason: "ticket 7: audit of EU orders", org: root.id });
    const inRoot = await auditOf(root, "org.data_access");
    expect(inRoot).toHaveLength(1);
    expect(inRoot[0]).toMatchObject({ actor: "user:alice", resource: `tenant:${child.id}` });
    expect(inRoot[0]?.details).toMatchObject({ reason: "ticket 7: audit of EU orders" });
  });

  it("reaches a grandchild, never the parent, a sibling, another tenant, nor without org:manage", async () => {
    const { root, child, grandchild, sibling, other } = await org();
    for (const t of [root, sibling, other, grandchild]) {
      await call("/v1/collections", { method: "POST", token: t.ownerToken, body: NOTES });
      await create(t.ownerToken, { title: `in ${t.id}` });
    }
    const reason = "checking";
    const grand = await call("/v1/collections/notes/records", {
      token: root.ownerToken,
      headers: inTenant(grandchild.id, reason),
    });
    expect(grand.status).toBe(200);
    const viewer = await addMember(root, "vic", ["viewer"]);
    for (const [token, target] of [
      [child.ownerToken, root.id],
      [child.ownerToken, sibling.id],
      [root.ownerToken, other.id],
      [sibling.ownerToken, grandchild.id],
      [viewer, child.id],
      [viewer, grandchild.id],
    ] as const) {
      for (const headers of [inTenant(target, reason), inTenant(target)]) {
        const res = await call("/v1/collections/notes/records", { token, headers });
        expect(res.status, `${target} ${JSON.stringify(headers)}`).toBe(404);
      }
    }
    expect(await auditOf(root, "org_admin.access")).toEqual([]);
    expect(await auditOf(sibling, "org_admin.access")).toEqual([]);
  });
});

describe("the organisation's aggregate query", () => {
  it("counts over descendants only; a named non-descendant answers like an unknown id", async () => {
    const { root, child, grandchild, sibling, other } = await org();
    for (const [t, n] of [
      [child, 2],
      [grandchild, 1],
      [other, 5],
      [root, 3],
    ] as const) {
      await call("/v1/collections", { method: "POST", token: t.ownerToken, body: NOTES });
      for (let i = 0; i < n; i++) await create(t.ownerToken, { title: `n${i}` });
    }
    const query = async (body: Record<string, unknown>) => {
      const res = await post("/v1/org/query", root.ownerToken, body);
      expect(res.headers.get("content-type")).toBe("application/x-ndjson");
      const lines = (await res.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      return Object.fromEntries(lines.map((l) => [l.tenant, l.result ?? l.error.code]));
    };
    expect(await query({ collection: "notes", aggregate: "count" })).toEqual({
      [child.id]: 2,
      [grandchild.id]: 1,
      [sibling.id]: "not_found",
    });
    expect(await query({ collection: "notes", aggregate: "count", tenants: [child.id, other.id, root.id] })).toEqual({
      [child.id]: 2,
      [other.id]: "not_found",
      [root.id]: "not_found",
    });
    expect((await auditOf(root, "org.query")).length).toBe(2);
  });
});
