// pii stays masked wherever a value appears, also after the field was renamed or dropped
// (history, as_of, search), a name under which history holds pii is never reused in clear, and
// erasure reaches every stored version of every field that held the subject's data.
import { describe, expect, it } from "vitest";
import { create, type Page, type Rec, tenantWithNotes } from "./data-helpers";
import { call, json, userToken } from "./helpers";

const CLEAR = "bob@private.example";
const LATER = "bob@later.example";

/** A notes tenant with viewer carol and one record whose pii email changed once. */
async function withHistory() {
  const t = await tenantWithNotes();
  await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "carol", roles: ["viewer"] } });
  const rec = await create(t.ownerToken, { title: "bob's note", email: CLEAR });
  await call(`/v1/collections/notes/records/${rec.id}`, {
    method: "PATCH",
    token: t.ownerToken,
    body: { email: LATER },
  });
  return { ...t, carol: await userToken(t.id, "carol"), recordId: rec.id };
}

const patchCollection = (token: string, body: unknown) =>
  call("/v1/collections/notes", { method: "PATCH", token, body });

/** Every surface a viewer reads old values on, as one string. */
async function surfaces(token: string, id: string) {
  const history = await call(`/v1/collections/notes/records/${id}/history`, { token });
  expect(history.status).toBe(200);
  const asOf = await call(`/v1/collections/notes/records?as_of=${new Date(Date.now() + 1000).toISOString()}`, {
    token,
  });
  expect(asOf.status).toBe(200);
  const search = await call("/v1/search?q=bob", { token });
  expect(search.status).toBe(200);
  return {
    history: await json<Page<{ data: Rec }>>(history),
    asOf: await json<Page>(asOf),
    search: JSON.stringify(await json(search)),
  };
}

describe("pii after a rename", () => {
  it("stays masked under its new name in history, as_of and search for a viewer, clear for the owner", async () => {
    const t = await withHistory();
    expect((await patchCollection(t.ownerToken, { rename: { email: "contact" } })).status).toBe(200);
    const viewer = await surfaces(t.carol, t.recordId);
    expect(viewer.history.items.map((v) => v.data.contact)).toEqual(["b***@private.example", "b***@later.example"]);
    expect(viewer.asOf.items.map((r) => r.contact)).toEqual(["b***@later.example"]);
    for (const text of [JSON.stringify(viewer.history), JSON.stringify(viewer.asOf), viewer.search]) {
      expect(text).not.toContain(CLEAR);
      expect(text).not.toContain(LATER);
    }
    const owner = await surfaces(t.ownerToken, t.recordId);
    expect(owner.history.items.map((v) => v.data.contact)).toEqual([CLEAR, LATER]);
    // No probing old values through a filter either.
    expect((await call(`/v1/collections/notes/records?contact=eq.${LATER}`, { token: t.carol })).status).toBe(403);
  });
});

describe("pii after a drop", () => {
  it("stays masked in history and as_of for a viewer; the owner still sees the clear value", async () => {
    const t = await withHistory();
    const res = await patchCollection(t.ownerToken, { drop: ["email"] });
    expect(res.status).toBe(200);
    expect((await json<{ formerPii: string[] }>(res)).formerPii).toEqual(["email"]);
    const viewer = await surfaces(t.carol, t.recordId);
    expect(viewer.history.items.map((v) => v.data.email)).toEqual(["b***@private.example", "b***@later.example"]);
    expect(viewer.asOf.items.map((r) => r.email)).toEqual(["b***@later.example"]);
    for (const text of [JSON.stringify(viewer.history), JSON.stringify(viewer.asOf), viewer.search]) {
      expect(text).not.toContain(CLEAR);
      expect(text).not.toContain(LATER);
    }
    const owner = await surfaces(t.ownerToken, t.recordId);
    expect(owner.history.items.map((v) => v.data.email)).toEqual([CLEAR, LATER]);
    const probe = `email=eq.${LATER}&as_of=${new Date(Date.now() + 1000).toISOString()}`;
    expect((await call(`/v1/collections/notes/records?${probe}`, { token: t.carol })).status).toBe(400);
  });

  it("a renamed then dropped field stays masked under both names", async () => {
    const t = await withHistory();
    await patchCollection(t.ownerToken, { rename: { email: "contact" } });
    await call(`/v1/collections/notes/records/${t.recordId}`, {
      method: "PATCH",
      token: t.ownerToken,
      body: { contact: "bob@third.example" },
    });
    const res = await patchCollection(t.ownerToken, { drop: ["contact"] });
    expect((await json<{ formerPii: string[] }>(res)).formerPii.sort()).toEqual(["contact", "email"]);
    const text = JSON.stringify((await surfaces(t.carol, t.recordId)).history);
    for (const clear of [CLEAR, LATER, "bob@third.example"]) expect(text).not.toContain(clear);
  });

  it("a name under which history holds pii is taken only by a pii field", async () => {
    const t = await withHistory();
    await patchCollection(t.ownerToken, { drop: ["email"] });
    const plain = await patchCollection(t.ownerToken, { add: [{ name: "email", type: "string" }] });
    expect(plain.status).toBe(409);
    expect((await patchCollection(t.ownerToken, { rename: { title: "email" } })).status).toBe(409);
    const renamed = await tenantWithNotes();
    await patchCollection(renamed.ownerToken, { rename: { email: "contact" } });
    expect((await patchCollection(renamed.ownerToken, { add: [{ name: "email", type: "string" }] })).status).toBe(409);
    expect((await patchCollection(t.ownerToken, { add: [{ name: "email", type: "string", pii: true }] })).status).toBe(
      200,
    );
    const text = JSON.stringify((await surfaces(t.carol, t.recordId)).history);
    expect(text).not.toContain(CLEAR);
  });
});

describe("exports to tenant users", () => {
  it("an export (raw data, pii in clear) needs pii:read beside export", async () => {
    const t = await withHistory();
    await call("/v1/roles/exporter", { method: "PUT", token: t.ownerToken, body: { permissions: ["export"] } });
    await call("/v1/roles/trusted", {
      method: "PUT",
      token: t.ownerToken,
      body: { permissions: ["export", "pii:read"] },
    });
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "eve", roles: ["exporter"] } });
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "tim", roles: ["trusted"] } });
    const start = async (sub: string) =>
      call(`/v1/tenants/${t.id}/export`, { method: "POST", token: await userToken(t.id, sub), body: {} });
    const refused = await start("eve");
    expect(refused.status).toBe(403);
    expect((await json(refused)).code).toBe("forbidden");
    const started = await start("tim");
    expect(started.status).toBe(202);
    const { id } = await json<{ id: string }>(started);
    expect((await call(`/v1/tenants/${t.id}/exports/${id}`, { token: await userToken(t.id, "eve") })).status).toBe(403);
  });
});

describe("erasure after renames and drops", () => {
  async function bobsRecord() {
    const t = await tenantWithNotes();
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "bob", roles: ["editor"] } });
    const bob = await userToken(t.id, "bob");
    const rec = await create(bob, { title: "bob's note", email: CLEAR });
    await call(`/v1/collections/notes/records/${rec.id}`, { method: "PATCH", token: bob, body: { email: LATER } });
    return { ...t, recordId: rec.id };
  }

  const erase = async (token: string) => {
    const res = await call("/v1/privacy/erasure", { method: "POST", token, body: { subject: "bob" } });
    expect(res.status).toBe(200);
    return json<{ records: number }>(res);
  };

  const historyText = async (token: string, id: string) =>
    JSON.stringify(await json(await call(`/v1/collections/notes/records/${id}/history`, { token })));

  it("reaches every version of a dropped pii field", async () => {
    const t = await bobsRecord();
    await patchCollection(t.ownerToken, { drop: ["email"] });
    expect(await historyText(t.ownerToken, t.recordId)).toContain(CLEAR);
    expect((await erase(t.ownerToken)).records).toBe(1);
    const text = await historyText(t.ownerToken, t.recordId);
    expect(text).not.toContain(CLEAR);
    expect(text).not.toContain(LATER);
  });

  it("reaches every version of a renamed pii field, under its old and new names", async () => {
    const t = await bobsRecord();
    await patchCollection(t.ownerToken, { rename: { email: "contact" } });
    expect((await erase(t.ownerToken)).records).toBe(1);
    const text = await historyText(t.ownerToken, t.recordId);
    expect(text).not.toContain(CLEAR);
    expect(text).not.toContain(LATER);
  });
});
