// The object caches its users' principals (durable-objects/access/principal-cache.ts). A change
// to a member, a role or an erasure must reach the very next request: each test first makes the
// member call (so the principal is cached), changes it, and checks the next call is refused.
import { describe, expect, it } from "vitest";
import { create, tenantWithNotes } from "./data-helpers";
import { call, userToken } from "./helpers";

async function member(tenant: string, owner: string, sub: string, roles: string[]) {
  const res = await call("/v1/members", { method: "POST", token: owner, body: { sub, roles } });
  expect(res.status, await res.clone().text()).toBe(201);
  return userToken(tenant, sub);
}

const write = (token: string) => call("/v1/collections/notes/records", { method: "POST", token, body: { title: "x" } });
const read = (token: string) => call("/v1/collections/notes/records", { token });

describe("cached principals follow every change at once", () => {
  it("a demoted editor's next write is refused", async () => {
    const t = await tenantWithNotes();
    const bob = await member(t.id, t.ownerToken, "bob", ["editor"]);
    expect((await write(bob)).status).toBe(201);
    expect((await write(bob)).status).toBe(201);
    const res = await call("/v1/members/bob", { method: "PATCH", token: t.ownerToken, body: { roles: ["viewer"] } });
    expect(res.status).toBe(200);
    expect((await write(bob)).status).toBe(403);
    expect((await read(bob)).status).toBe(200);
  });

  it("a removed member's next read is refused", async () => {
    const t = await tenantWithNotes();
    const bob = await member(t.id, t.ownerToken, "bob", ["viewer"]);
    expect((await read(bob)).status).toBe(200);
    expect((await call("/v1/members/bob", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    expect((await read(bob)).status).toBe(403);
  });

  it("a custom role's narrowed permissions hold from the next request", async () => {
    const t = await tenantWithNotes();
    const put = (permissions: string[]) =>
      call("/v1/roles/scribe", { method: "PUT", token: t.ownerToken, body: { permissions, clearance: "internal" } });
    expect((await put(["records:read", "records:write"])).status).toBe(200);
    const bob = await member(t.id, t.ownerToken, "bob", ["scribe"]);
    expect((await write(bob)).status).toBe(201);
    expect((await put(["records:read"])).status).toBe(200);
    expect((await write(bob)).status).toBe(403);
  });

  it("an erased member's next read is refused", async () => {
    const t = await tenantWithNotes();
    const bob = await member(t.id, t.ownerToken, "bob", ["editor"]);
    await create(bob, { title: "bob's" });
    expect((await read(bob)).status).toBe(200);
    const res = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: "bob" } });
    expect(res.status).toBe(200);
    expect((await read(bob)).status).toBe(403);
  });

  it("a token narrowed by its roles claim is not answered from the same member's full principal", async () => {
    const t = await tenantWithNotes();
    expect((await write(t.ownerToken)).status).toBe(201);
    const narrowed = await userToken(t.id, t.owner, { roles: ["viewer"] });
    expect((await write(narrowed)).status).toBe(403);
    expect((await read(narrowed)).status).toBe(200);
    expect((await write(t.ownerToken)).status).toBe(201);
  });

  it("a member removed then added again gets the new roles, not the cached ones", async () => {
    const t = await tenantWithNotes();
    const bob = await member(t.id, t.ownerToken, "bob", ["editor"]);
    expect((await write(bob)).status).toBe(201);
    expect((await call("/v1/members/bob", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    await member(t.id, t.ownerToken, "bob", ["viewer"]);
    expect((await write(bob)).status).toBe(403);
    expect((await read(bob)).status).toBe(200);
  });
});
