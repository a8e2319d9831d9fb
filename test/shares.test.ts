// Shares are honest: a 201 means the grantee can now do what the share says (its GET succeeds),
// a private record opens to its shares in the same transaction, and a share that would grant
// nothing is refused (unknown role or non-member 400, missing permission or clearance 409).
import { describe, expect, it } from "vitest";
import { create, type Page, type Rec } from "./data-helpers";
import { call, createTenant, json, userToken } from "./helpers";

async function docsTenant() {
  const t = await createTenant();
  const res = await call("/v1/collections", {
    method: "POST",
    token: t.ownerToken,
    body: { name: "docs", acl: true, fields: [{ name: "title", type: "string" }] },
  });
  expect(res.status).toBe(201);
  await call("/v1/roles/auditor", { method: "PUT", token: t.ownerToken, body: { permissions: ["audit:read"] } });
  await call("/v1/roles/vetted", {
    method: "PUT",
    token: t.ownerToken,
    body: { permissions: ["records:read"], clearance: "restricted" },
  });
  for (const [sub, roles] of [
    ["bob", ["editor"]],
    ["carol", ["viewer"]],
    ["ann", ["auditor"]],
  ] as const) {
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles } });
  }
  return { ...t, bob: await userToken(t.id, "bob"), carol: await userToken(t.id, "carol") };
}

const share = (token: string, id: string, principal: string, permission = "read") =>
  call(`/v1/collections/docs/records/${id}/shares`, { method: "POST", token, body: { principal, permission } });

const get = (token: string, id: string) => call(`/v1/collections/docs/records/${id}`, { token });

describe("shares take effect", () => {
  it("sharing a private record makes it shared in the same change, and the grantee reads it", async () => {
    const t = await docsTenant();
    const doc = await create(t.bob, { title: "plan" }, "docs");
    expect(doc.visibility).toBe("private");
    expect((await get(t.carol, doc.id)).status).toBe(404);

    const res = await share(t.bob, doc.id, "user:carol");
    expect(res.status).toBe(201);
    expect((await get(t.carol, doc.id)).status).toBe(200);
    const now = await json<Rec>(await get(t.bob, doc.id));
    expect(now).toMatchObject({ visibility: "shared", version: 2 });
    const history = await json<Page<{ op: string; data: Rec }>>(
      await call(`/v1/collections/docs/records/${doc.id}/history`, { token: t.bob }),
    );
    expect(history.items.map((v) => [v.op, v.data.visibility])).toEqual([
      ["create", "private"],
      ["update", "shared"],
    ]);
    const audit = await json<Page<{ resource: string; details: Record<string, unknown> }>>(
      await call("/v1/audit?action=share.add", { token: t.ownerToken }),
    );
    const added = audit.items.find((e) => e.resource === `record:docs/${doc.id}`);
    expect(added?.details).toMatchObject({ principal: "user:carol", permission: "read", visibility: "shared" });
  });

  it("a write share lets the grantee write; a role share reaches the role's members", async () => {
    const t = await docsTenant();
    const doc = await create(t.ownerToken, { title: "budget", classification: "confidential" }, "docs");
    expect((await share(t.ownerToken, doc.id, "role:editor", "write")).status).toBe(201);
    const patch = await call(`/v1/collections/docs/records/${doc.id}`, {
      method: "PATCH",
      token: t.bob,
      body: { title: "budget v2" },
    });
    expect(patch.status).toBe(200);
    const secret = await create(t.ownerToken, { title: "salaries", classification: "restricted" }, "docs");
    expect((await share(t.ownerToken, secret.id, "role:vetted")).status).toBe(201);
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "vera", roles: ["vetted"] } });
    expect((await get(await userToken(t.id, "vera"), secret.id)).status).toBe(200);
  });
});

describe("shares that would grant nothing are refused", () => {
  it("a grantee without the clearance for the record's classification: 409, and the record stays private", async () => {
    const t = await docsTenant();
    const doc = await create(t.ownerToken, { title: "merger", classification: "restricted" }, "docs");
    for (const principal of ["user:carol", "user:bob", "role:viewer", "role:editor"]) {
      const res = await share(t.ownerToken, doc.id, principal);
      expect(res.status, principal).toBe(409);
      expect((await json(res)).code).toBe("conflict");
    }
    expect((await get(t.carol, doc.id)).status).toBe(404);
    expect(await json<Rec>(await get(t.ownerToken, doc.id))).toMatchObject({ visibility: "private", version: 1 });
    const shares = await json<Rec[] | Page<Rec>>(
      await call(`/v1/collections/docs/records/${doc.id}/shares`, { token: t.ownerToken }),
    );
    expect(JSON.stringify(shares)).not.toContain("carol");
  });

  it("a grantee without the permission the share is for: 409", async () => {
    const t = await docsTenant();
    const doc = await create(t.bob, { title: "notes" }, "docs");
    expect((await share(t.bob, doc.id, "user:carol", "write")).status).toBe(409); // a viewer cannot write
    expect((await share(t.bob, doc.id, "user:ann")).status).toBe(409); // an auditor cannot read records
    expect((await share(t.bob, doc.id, "role:auditor")).status).toBe(409);
    expect(await json<Rec>(await get(t.bob, doc.id))).toMatchObject({ visibility: "private", version: 1 });
  });

  it("an unknown role or a user who is not a member: 400", async () => {
    const t = await docsTenant();
    const doc = await create(t.bob, { title: "notes" }, "docs");
    for (const principal of ["role:nonexistent", "user:mallory"]) {
      const res = await share(t.bob, doc.id, principal);
      expect(res.status, principal).toBe(400);
      expect((await json(res)).code).toBe("validation_failed");
    }
    expect(await json<Rec>(await get(t.bob, doc.id))).toMatchObject({ visibility: "private", version: 1 });
  });
});
