// Reference data (DESIGN §13): an ancestor's collections created with "shared": true are readable,
// never writable, by its descendants' members at /v1/reference/…, ACL-filtered and masked; its
// private collections and any sibling's are never reachable.
import { describe, expect, it } from "vitest";
import { create } from "./data-helpers";
import { adminToken, call, type createTenant, json, orgTree, userToken } from "./helpers";

type Tenant = Awaited<ReturnType<typeof createTenant>>;
interface Page {
  items: Record<string, unknown>[];
  nextCursor: string | null;
}

const COUNTRIES = {
  name: "countries",
  shared: true,
  fields: [
    { name: "code", type: "string", required: true, indexed: true },
    { name: "name", type: "string" },
    { name: "contact", type: "string", pii: true },
  ],
};

async function collection(t: Tenant, body: Record<string, unknown>) {
  const res = await call("/v1/collections", { method: "POST", token: t.ownerToken, body });
  expect(res.status, await res.clone().text()).toBe(201);
}

async function org() {
  const tree = await orgTree();
  const { root } = tree;
  await collection(root, COUNTRIES);
  for (const [code, name] of [
    ["DE", "Germany"],
    ["FR", "France"],
    ["IT", "Italy"],
  ])
    await create(root.ownerToken, { code, name, contact: "desk@example.com" }, "countries");
  await collection(root, { name: "salaries", fields: [{ name: "amount", type: "integer" }] });
  await create(root.ownerToken, { amount: 100 }, "salaries");
  return tree;
}

const ref = (path: string, token: string, opts: { method?: string; body?: unknown } = {}) =>
  call(`/v1/reference/${path}`, { token, ...opts });

describe("reference data", () => {
  it("a child's member reads the parent's shared collection with filters, sort, cursor and masking", async () => {
    const { child } = await org();
    const viewer = await userToken(child.id, "vic");
    await call("/v1/members", { method: "POST", token: child.ownerToken, body: { sub: "vic", roles: ["viewer"] } });
    const all = await json<Page>(await ref("countries/records?sort=code", viewer));
    expect(all.items.map((r) => r.code)).toEqual(["DE", "FR", "IT"]);
    // pii is masked for every reference reader: they hold no pii:read in the parent, even owners.
    const own = await json<Page>(await ref("countries/records?code=eq.FR", child.ownerToken));
    expect(own.items).toHaveLength(1);
    expect(own.items[0]?.contact).toBe("d***@example.com");
    const first = await json<Page>(await ref("countries/records?sort=code&limit=2", viewer));
    expect(first.items.map((r) => r.code)).toEqual(["DE", "FR"]);
    const next = await json<Page>(await ref(`countries/records?sort=code&limit=2&cursor=${first.nextCursor}`, viewer));
    expect(next.items.map((r) => r.code)).toEqual(["IT"]);
    const one = await ref(`countries/records/${all.items[0]?.id}`, viewer);
    expect(one.status).toBe(200);
    expect((await json(one)).name).toBe("Germany");
    expect((await ref("countries/records?nope=eq.1", viewer)).status).toBe(400);
  });

  it("a grandchild reads from the nearest ancestor that shares the name; a private one there does not hide it", async () => {
    const { root, child, grandchild } = await org();
    // The child has a private collection of the same name: it is not reference data.
    await collection(child, { ...COUNTRIES, shared: false });
    await create(child.ownerToken, { code: "XX", name: "child-private" }, "countries");
    const fromRoot = await json<Page>(await ref("countries/records?sort=code", grandchild.ownerToken));
    expect(fromRoot.items.map((r) => r.code)).toEqual(["DE", "FR", "IT"]);
    // The child shares one of its own: the grandchild now reads the child's.
    await collection(child, { name: "regions", shared: true, fields: [{ name: "label", type: "string" }] });
    await collection(root, { name: "regions", shared: true, fields: [{ name: "label", type: "string" }] });
    await create(child.ownerToken, { label: "child-region" }, "regions");
    await create(root.ownerToken, { label: "root-region" }, "regions");
    const near = await json<Page>(await ref("regions/records", grandchild.ownerToken));
    expect(near.items.map((r) => r.label)).toEqual(["child-region"]);
    expect((await json<Page>(await ref("regions/records", child.ownerToken))).items.map((r) => r.label)).toEqual([
      "root-region",
    ]);
  });

  it("never reaches private collections, a sibling's or a descendant's shared ones, or another tenant's", async () => {
    const { root, child, sibling, other, grandchild } = await org();
    await collection(sibling, { name: "sib_shared", shared: true, fields: [{ name: "v", type: "string" }] });
    await create(sibling.ownerToken, { v: "sibling's" }, "sib_shared");
    await collection(other, { name: "other_shared", shared: true, fields: [{ name: "v", type: "string" }] });
    await create(other.ownerToken, { v: "other's" }, "other_shared");
    await collection(grandchild, { name: "down", shared: true, fields: [{ name: "v", type: "string" }] });
    const salary = await json<Page>(await call("/v1/collections/salaries/records", { token: root.ownerToken }));
    for (const [token, path] of [
      [child.ownerToken, "salaries/records"],
      [child.ownerToken, `salaries/records/${salary.items[0]?.id}`],
      [child.ownerToken, "sib_shared/records"],
      [child.ownerToken, "other_shared/records"],
      [child.ownerToken, "down/records"],
      [root.ownerToken, "countries/records"],
      [other.ownerToken, "countries/records"],
      [child.ownerToken, "nothing/records"],
    ] as const) {
      const res = await ref(path, token);
      expect(res.status, path).toBe(404);
      expect(JSON.stringify(await json(res))).not.toMatch(/sibling's|other's|amount/);
    }
    // Naming the parent with X-Silo-Tenant from the child reaches nothing either.
    const named = await call("/v1/collections/salaries/records", {
      token: child.ownerToken,
      headers: { "x-silo-tenant": root.id, "x-silo-reason": "curious" },
    });
    expect(named.status).toBe(404);
  });

  it("is read-only: writes to reference paths do not exist and nothing changes", async () => {
    const { root, child } = await org();
    const all = await json<Page>(await ref("countries/records", child.ownerToken));
    const id = all.items[0]?.id as string;
    for (const [method, path] of [
      ["POST", "countries/records"],
      ["PUT", `countries/records/${id}`],
      ["PATCH", `countries/records/${id}`],
      ["DELETE", `countries/records/${id}`],
    ] as const) {
      const res = await ref(path, child.ownerToken, { method, body: method === "DELETE" ? undefined : { code: "ZZ" } });
      expect([404, 405], `${method} ${path}`).toContain(res.status);
    }
    const after = await json<Page>(
      await call("/v1/collections/countries/records?sort=code", { token: root.ownerToken }),
    );
    expect(after.items.map((r) => [r.code, r.version])).toEqual([
      ["DE", 1],
      ["FR", 1],
      ["IT", 1],
    ]);
  });

  it("in a collection with ACLs, descendants see public records of public or internal classification only", async () => {
    const { root, child } = await org();
    await collection(root, {
      name: "policies",
      shared: true,
      acl: true,
      fields: [{ name: "title", type: "string" }],
    });
    const make = (title: string, visibility: string, classification: string) =>
      create(root.ownerToken, { title, visibility, classification }, "policies");
    await make("handbook", "public", "internal");
    await make("press", "public", "public");
    await make("board-minutes", "public", "restricted");
    await make("draft", "private", "public");
    const toViewers = await make("for-viewers", "shared", "internal");
    const share = await call(`/v1/collections/policies/records/${toViewers.id}/shares`, {
      method: "POST",
      token: root.ownerToken,
      body: { principal: "role:viewer", permission: "read" },
    });
    expect(share.status).toBe(201);
    const seen = await json<Page>(await ref("policies/records?sort=title", child.ownerToken));
    expect(seen.items.map((r) => r.title)).toEqual(["handbook", "press"]);
    expect((await ref(`policies/records/${toViewers.id}`, child.ownerToken)).status).toBe(404);
    // Deleted records stay out, and include_deleted is not for reference readers.
    expect((await ref("policies/records?include_deleted=true", child.ownerToken)).status).toBe(403);
  });

  it("needs records:read in the reader's own tenant, and a suspended parent shares nothing", async () => {
    const { root, child } = await org();
    const role = await call("/v1/roles/nothing", {
      method: "PUT",
      token: child.ownerToken,
      body: { permissions: ["audit:read"] },
    });
    expect(role.status).toBe(200);
    await call("/v1/members", { method: "POST", token: child.ownerToken, body: { sub: "nora", roles: ["nothing"] } });
    expect((await ref("countries/records", await userToken(child.id, "nora"))).status).toBe(403);
    expect((await ref("countries/records", await userToken(child.id, "stranger"))).status).toBe(403);
    await call(`/v1/tenants/${root.id}/suspend`, { method: "POST", token: await adminToken() });
    expect((await ref("countries/records", child.ownerToken)).status).toBe(404);
  });
});
