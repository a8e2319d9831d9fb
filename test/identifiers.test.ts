// Control characters (C0, DEL, C1) are refused in every identifier with 400: member subs (in
// bodies and paths), share principals, erasure subjects, tenant owners, collection, field and
// role names, record ids (paths and batches). File paths have their own tests (file-path.test.ts).
import { describe, expect, it } from "vitest";
import { create, tenantWithNotes } from "./data-helpers";
import { adminToken, call, json, uniqueId, userToken } from "./helpers";

const CONTROLS = ["\u0000", "\u0001", "\n", "\u001b", "\u007f", "\u0085", "\u009b"];

describe("control characters in identifiers", () => {
  it("are refused with 400 validation_failed everywhere an identifier is taken, and nothing is written", async () => {
    const t = await tenantWithNotes({ name: "notes", fields: [{ name: "title", type: "string" }], acl: true });
    const rec = await create(t.ownerToken, { title: "a" });
    const admin = await adminToken();
    const o = t.ownerToken;
    for (const cc of CONTROLS) {
      const bad = `bo${cc}b`;
      const enc = encodeURIComponent(bad);
      const attempts: [string, () => Promise<Response>][] = [
        ["member sub", () => call("/v1/members", { method: "POST", token: o, body: { sub: bad, roles: ["viewer"] } })],
        ["member path", () => call(`/v1/members/${enc}`, { method: "PATCH", token: o, body: { roles: ["viewer"] } })],
        [
          "share principal",
          () =>
            call(`/v1/collections/notes/records/${rec.id}/shares`, {
              method: "POST",
              token: o,
              body: { principal: `user:${bad}`, permission: "read" },
            }),
        ],
        ["erasure subject", () => call("/v1/privacy/erasure", { method: "POST", token: o, body: { subject: bad } })],
        [
          "tenant owner",
          () =>
            call("/v1/tenants", {
              method: "POST",
              token: admin,
              body: { id: uniqueId(), name: "x", owner: { sub: bad } },
            }),
        ],
        [
          "collection name",
          () => call("/v1/collections", { method: "POST", token: o, body: { name: bad, fields: [] } }),
        ],
        [
          "field name",
          () =>
            call("/v1/collections/notes", {
              method: "PATCH",
              token: o,
              body: { add: [{ name: bad, type: "string" }] },
            }),
        ],
        ["role name", () => call(`/v1/roles/${enc}`, { method: "PUT", token: o, body: { permissions: [] } })],
        ["record id", () => call(`/v1/collections/notes/records/${enc}`, { token: o })],
        [
          "batch record id",
          () =>
            call("/v1/collections/notes/records:batch", {
              method: "POST",
              token: o,
              body: { operations: [{ op: "update", id: `${rec.id}${cc}`, data: { title: "b" } }] },
            }),
        ],
      ];
      for (const [what, attempt] of attempts) {
        const res = await attempt();
        expect(res.status, `${what} ${JSON.stringify(cc)}`).toBe(400);
        expect((await json(res)).code).toBe("validation_failed");
      }
    }
    const members = await json<{ items: { sub: string }[] }>(await call("/v1/members", { token: o }));
    expect(members.items.map((m) => m.sub)).toEqual(["alice"]);
    const shares = await json<{ items: unknown[] }>(
      await call(`/v1/collections/notes/records/${rec.id}/shares`, { token: o }),
    );
    expect(shares.items).toEqual([]);
  });

  it("still takes printable Unicode in subs and principals", async () => {
    const t = await tenantWithNotes({ name: "notes", fields: [{ name: "title", type: "string" }], acl: true });
    const rec = await create(t.ownerToken, { title: "a" });
    const sub = "auth0|ünïcødé 用户";
    const added = await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles: ["viewer"] } });
    expect(added.status).toBe(201);
    const shared = await call(`/v1/collections/notes/records/${rec.id}/shares`, {
      method: "POST",
      token: t.ownerToken,
      body: { principal: `user:${sub}`, permission: "read" },
    });
    expect(shared.status, await shared.clone().text()).toBe(201);
    const patched = await call(`/v1/members/${encodeURIComponent(sub)}`, {
      method: "PATCH",
      token: t.ownerToken,
      body: { roles: ["editor"] },
    });
    expect(patched.status).toBe(200);
  });

  it("refuses a lone surrogate (no character at all) in a sub, a principal and an erasure subject", async () => {
    const t = await tenantWithNotes({ name: "notes", fields: [{ name: "title", type: "string" }], acl: true });
    const rec = await create(t.ownerToken, { title: "a" });
    const o = t.ownerToken;
    const bad = "ann\ud800";
    const asks: [string, Promise<Response>][] = [
      ["member", call("/v1/members", { method: "POST", token: o, body: { sub: bad, roles: ["viewer"] } })],
      [
        "share",
        call(`/v1/collections/notes/records/${rec.id}/shares`, {
          method: "POST",
          token: o,
          body: { principal: `user:${bad}`, permission: "read" },
        }),
      ],
      ["erasure", call("/v1/privacy/erasure", { method: "POST", token: o, body: { subject: bad } })],
    ];
    for (const [what, ask] of asks) {
      const res = await ask;
      expect(res.status, what).toBe(400);
      expect((await json<{ code: string }>(res)).code, what).toBe("validation_failed");
    }
    const members = await json<{ items: { sub: string }[] }>(await call("/v1/members", { token: o }));
    expect(members.items.map((m) => m.sub)).toEqual([t.owner]);
  });
});

describe("names that are members of every JavaScript object", () => {
  it("are plain names: a field, a filter, a rename, a role and a token's roles named after Object's members", async () => {
    const t = await tenantWithNotes({
      name: "things",
      fields: [
        { name: "constructor", type: "string" },
        { name: "tostring", type: "string" },
      ],
    });
    const o = t.ownerToken;
    const rec = await create(o, { constructor: "c1", tostring: "t1" }, "things");
    const listed = await call("/v1/collections/things/records?constructor=eq.c1&sort=constructor", { token: o });
    expect(listed.status, await listed.clone().text()).toBe(200);
    expect((await json<{ items: { id: string }[] }>(listed)).items.map((r) => r.id)).toEqual([rec.id]);
    const counted = await call("/v1/collections/things/aggregate?groupBy=constructor", { token: o });
    expect(counted.status, await counted.clone().text()).toBe(200);
    // A rename keeps the field's values in its history under the new name.
    const renamed = await call("/v1/collections/things", {
      method: "PATCH",
      token: o,
      body: { rename: { tostring: "label" } },
    });
    expect(renamed.status, await renamed.clone().text()).toBe(200);
    const history = await json<{ items: { data: Record<string, unknown> }[] }>(
      await call(`/v1/collections/things/records/${rec.id}/history`, { token: o }),
    );
    expect(history.items[0]?.data).toMatchObject({ constructor: "c1", label: "t1" });
    // No role is called constructor or toString: giving one is a 400, a token naming them grants nothing.
    const give = await call("/v1/members", { method: "POST", token: o, body: { sub: "ann", roles: ["constructor"] } });
    expect(give.status).toBe(400);
    const me = await call("/v1/me", {
      token: await userToken(t.id, t.owner, { roles: ["constructor", "toString", "__proto__"] }),
    });
    expect(me.status, await me.clone().text()).toBe(200);
    expect((await json<{ principal: { permissions: string[] } }>(me)).principal.permissions).toEqual([]);
  });
});
