// Collections as real tables changed with real DDL; FTS5 search that takes any text; the audit
// chain with its verification; and two tenants with the same collection never meeting.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { create, list, NOTES, type Page, type Rec, tenantWithNotes } from "./data-helpers";
import { adminToken, call, json, userToken } from "./helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

async function columns(tenant: string, table: string) {
  return runInDurableObject(stubOf(tenant), (_i, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM pragma_table_info(?)", table)
      .toArray()
      .map((r) => r.name),
  );
}

async function indexes(tenant: string, table: string) {
  return runInDurableObject(stubOf(tenant), (_i, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM pragma_index_list(?)", table)
      .toArray()
      .map((r) => r.name)
      .sort(),
  );
}

describe("collections", () => {
  it("creates a real table with typed columns and indexes", async () => {
    const t = await tenantWithNotes();
    expect(await columns(t.id, "c_notes")).toEqual(
      expect.arrayContaining(["id", "version", "title", "body", "email", "rank", "done"]),
    );
    expect(await indexes(t.id, "c_notes")).toContain("i_notes_f_rank");
    const again = await call("/v1/collections", { method: "POST", token: t.ownerToken, body: NOTES });
    expect(again.status).toBe(409);
    const listed = await json<Page<{ name: string }>>(await call("/v1/collections", { token: t.ownerToken }));
    expect(listed.items.map((c) => c.name)).toEqual(["notes"]);
  });

  it("migrates an existing collection with its data: add, rename, drop, indexes", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "keep me", body: "old body", rank: 5 });
    const res = await call("/v1/collections/notes", {
      method: "PATCH",
      token: t.ownerToken,
      body: {
        add: [{ name: "status", type: "enum", values: ["draft", "sent"], default: "draft", indexed: true }],
        rename: { body: "content" },
        drop: ["done"],
        addIndex: [{ name: "by_title_rank", fields: ["title", "rank"] }],
      },
    });
    const def = await json<{ renames: Record<string, string>; fields: { name: string }[] }>(res);
    expect(res.status, JSON.stringify(def)).toBe(200);
    expect(def.renames).toEqual({ body: "content" });
    expect(await columns(t.id, "c_notes")).toEqual(expect.arrayContaining(["content", "status"]));
    expect(await columns(t.id, "c_notes")).not.toContain("done");
    expect(await indexes(t.id, "c_notes")).toEqual(
      expect.arrayContaining(["i_notes_f_status", "i_notes_x_by_title_rank"]),
    );

    const now = await json<Rec>(await call(`/v1/collections/notes/records/${r.id}`, { token: t.ownerToken }));
    expect(now).toMatchObject({ title: "keep me", content: "old body", status: "draft", rank: 5 });
    expect(now).not.toHaveProperty("body");
    // History written under the old name reads under the new one.
    const h = await json<Page<{ data: Rec }>>(
      await call(`/v1/collections/notes/records/${r.id}/history`, { token: t.ownerToken }),
    );
    expect(h.items[0]?.data.content).toBe("old body");
    expect((await list(t.ownerToken, "content=eq.old body")).items).toHaveLength(1);
    expect(
      (await list(t.ownerToken, `as_of=${new Date(Date.now() + 1000).toISOString()}&content=eq.old body`)).items,
    ).toHaveLength(1);

    const dropIx = await call("/v1/collections/notes", {
      method: "PATCH",
      token: t.ownerToken,
      body: { dropIndex: ["by_title_rank"] },
    });
    expect(dropIx.status).toBe(200);
    expect(await indexes(t.id, "c_notes")).not.toContain("i_notes_x_by_title_rank");
  });

  it("refuses changes that cannot apply, leaving the table as it was", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "dup" });
    await create(t.ownerToken, { title: "dup" });
    const before = await columns(t.id, "c_notes");
    const bad: [Record<string, unknown>, number][] = [
      [{ add: [{ name: "must", type: "string", required: true }] }, 400],
      [{ rename: { nope: "x" } }, 400],
      [{ rename: { title: "rank" } }, 409],
      [{ drop: ["ghost"] }, 400],
      [{ addIndex: [{ name: "u", fields: ["title"], unique: true }], add: [{ name: "extra", type: "string" }] }, 409],
      [{ add: [{ name: "bad", type: "integer", default: "x" }] }, 400],
    ];
    for (const [body, status] of bad) {
      const res = await call("/v1/collections/notes", { method: "PATCH", token: t.ownerToken, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
    }
    expect(await columns(t.id, "c_notes")).toEqual(before);
  });

  it("enforces the platform's column limit and unique fields", async () => {
    const t = await tenantWithNotes();
    const wide = Array.from({ length: 91 }, (_, i) => ({ name: `f${i}`, type: "integer" }));
    expect(
      (await call("/v1/collections", { method: "POST", token: t.ownerToken, body: { name: "wide", fields: wide } }))
        .status,
    ).toBe(400);
    await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "users", fields: [{ name: "handle", type: "string", unique: true }] },
    });
    await create(t.ownerToken, { handle: "ann" }, "users");
    const dup = await call("/v1/collections/users/records", {
      method: "POST",
      token: t.ownerToken,
      body: { handle: "ann" },
    });
    expect(dup.status).toBe(409);
    expect((await json(dup)).field).toBe("handle");
  });

  it("refuses names whose table, index or blind column would be cut short, and index names another collection holds", async () => {
    const t = await tenantWithNotes();
    const post = (body: unknown) => call("/v1/collections", { method: "POST", token: t.ownerToken, body });
    const long = (n: number) => `n${"x".repeat(n - 1)}`;
    for (const body of [
      { name: long(62), fields: [{ name: "title", type: "string" }] },
      { name: "secrets", fields: [{ name: long(60), type: "string", encrypted: true }] },
      { name: "secrets", fields: [{ name: long(60), type: "string", indexed: true }] },
    ]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect((await json(res)).code).toBe("validation_failed");
    }
    expect((await post({ name: long(61), fields: [{ name: long(59), type: "string", encrypted: true }] })).status).toBe(
      201,
    );
    // "a" with an index named f_b, then "a_x" with a unique field b: both would be i_a_x_f_b.
    const a = await post({
      name: "a",
      fields: [{ name: "c", type: "string" }],
      indexes: [{ name: "f_b", fields: ["c"] }],
    });
    expect(a.status, await a.clone().text()).toBe(201);
    const ax = await post({ name: "a_x", fields: [{ name: "b", type: "string", unique: true }] });
    expect(ax.status).toBe(409);
    expect((await json(ax)).code).toBe("conflict");
    expect((await call("/v1/collections/a_x", { token: t.ownerToken })).status).toBe(404);
  });

  it("drops a collection with its records", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "x" });
    expect((await call("/v1/collections/notes", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    expect((await call("/v1/collections/notes/records", { token: t.ownerToken })).status).toBe(404);
    expect(await columns(t.id, "c_notes")).toEqual([]);
  });
});

describe("search", () => {
  it("ranks hits with snippets and never shows deleted records", async () => {
    const t = await tenantWithNotes();
    const a = await create(t.ownerToken, {
      title: "Quarterly campaign",
      body: "campaign campaign results for the campaign",
    });
    const b = await create(t.ownerToken, { title: "Notes", body: "one campaign mention" });
    const res = await json<Page<{ id: string; score: number; snippet: string; collection: string }>>(
      await call("/v1/search?q=campaign", { token: t.ownerToken }),
    );
    expect(res.items.map((h) => h.id)).toEqual([a.id, b.id]);
    expect(res.items[0]?.score).toBeGreaterThan(res.items[1]?.score ?? 0);
    expect(res.items[0]?.snippet).toContain("**campaign**");
    expect(res.items[0]?.collection).toBe("notes");
    await call(`/v1/collections/notes/records/${a.id}`, { method: "DELETE", token: t.ownerToken });
    const after = await json<Page<{ id: string }>>(await call("/v1/search?q=campaign", { token: t.ownerToken }));
    expect(after.items.map((h) => h.id)).toEqual([b.id]);
    await call(`/v1/collections/notes/records/${b.id}`, {
      method: "PATCH",
      token: t.ownerToken,
      body: { body: "nothing" },
    });
    expect((await json<Page>(await call("/v1/search?q=campaign", { token: t.ownerToken }))).items).toEqual([]);
  });

  it("takes any text as a query: FTS5 syntax is matched literally, never an error", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "Ticket OPS-306", body: "col:term and NEAR(this) stay text" });
    for (const q of [
      '"',
      "NEAR(",
      "col:term",
      "*",
      "OPS-306",
      "\u0000",
      "AND OR NOT",
      "title:x*",
      ")(",
      "",
      "💥",
      '"unterminated',
    ]) {
      const res = await call(`/v1/search?q=${encodeURIComponent(q)}`, { token: t.ownerToken });
      expect(res.status, JSON.stringify(q)).toBe(200);
    }
    const hit = async (q: string) =>
      (
        await json<Page<{ id: string }>>(await call(`/v1/search?q=${encodeURIComponent(q)}`, { token: t.ownerToken }))
      ).items.map((h) => h.id);
    expect(await hit("OPS-306")).toEqual([r.id]);
    expect(await hit("col:term")).toEqual([r.id]);
    expect(await hit("NEAR(this)")).toEqual([r.id]);
    expect(await hit("absent words")).toEqual([]);
  });
});

describe("audit chain", () => {
  it("records every mutation with its actor and verifies intact", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "x" });
    await call(`/v1/collections/notes/records/${r.id}`, { method: "PATCH", token: t.ownerToken, body: { title: "y" } });
    const events = await json<
      Page<{ seq: number; action: string; actor: string; resource: string; hash: string; prevHash: string }>
    >(await call("/v1/audit", { token: t.ownerToken }));
    expect(events.items.map((e) => e.action)).toEqual([
      "tenant.provisioned",
      "collection.create",
      "record.create",
      "record.update",
    ]);
    expect(events.items[2]).toMatchObject({ actor: `user:${t.owner}`, resource: `record:notes/${r.id}` });
    for (let i = 1; i < events.items.length; i++) expect(events.items[i]?.prevHash).toBe(events.items[i - 1]?.hash);
    const filtered = await json<Page<{ action: string }>>(
      await call("/v1/audit?action=record.update", { token: t.ownerToken }),
    );
    expect(filtered.items.map((e) => e.action)).toEqual(["record.update"]);
    const paged = await json<Page>(await call("/v1/audit?limit=2", { token: t.ownerToken }));
    const next = await json<Page<{ seq: number }>>(
      await call(`/v1/audit?limit=2&cursor=${paged.nextCursor}`, { token: t.ownerToken }),
    );
    expect(next.items.map((e) => e.seq)).toEqual([3, 4]);
    expect(await json(await call("/v1/audit/verify", { token: t.ownerToken }))).toEqual({ ok: true, count: 4 });
  });

  it("chains the next event to the true head after a write that was rolled back", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "kept" });
    // The batch's create appends its event, then the missing record aborts the whole batch: the
    // event is rolled back with it, and the next one continues from the last committed event.
    const batch = await call("/v1/collections/notes/records:batch", {
      method: "POST",
      token: t.ownerToken,
      body: {
        operations: [
          { op: "create", data: { title: "rolled back" } },
          { op: "update", id: "missing", data: { title: "x" } },
        ],
      },
    });
    expect(batch.status).toBe(404);
    await create(t.ownerToken, { title: "after" });
    const events = await json<Page<{ seq: number; action: string; hash: string; prevHash: string }>>(
      await call("/v1/audit", { token: t.ownerToken }),
    );
    expect(events.items.map((e) => [e.seq, e.action])).toEqual([
      [1, "tenant.provisioned"],
      [2, "collection.create"],
      [3, "record.create"],
      [4, "record.create"],
    ]);
    for (let i = 1; i < events.items.length; i++) expect(events.items[i]?.prevHash).toBe(events.items[i - 1]?.hash);
    expect(await json(await call("/v1/audit/verify", { token: t.ownerToken }))).toEqual({ ok: true, count: 4 });
  });

  it("reports where a tampered chain breaks", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "x" });
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 2");
    });
    expect(await json(await call("/v1/audit/verify", { token: t.ownerToken }))).toMatchObject({
      ok: false,
      brokenAt: 2,
    });
  });

  it("is for owners, admins and auditors; platform admins read it through the control plane", async () => {
    const t = await tenantWithNotes();
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: "viewer" } },
    });
    expect((await call("/v1/audit", { token: await userToken(t.id, "vic") })).status).toBe(403);
    const res = await call(`/v1/tenants/${t.id}/audit-logs`, { token: await adminToken() });
    const body = await json<Page<{ action: string }> & { adminEvents: { action: string }[] }>(res);
    expect(res.status).toBe(200);
    expect(body.items.map((e) => e.action)).toContain("collection.create");
    expect(body.adminEvents.map((e) => e.action)).toEqual(["tenant.update", "tenant.create"]);
    expect((await call(`/v1/tenants/${t.id}/audit-logs`, { token: t.ownerToken })).status).toBe(403);
  });
});

describe("two tenants with the same collection", () => {
  it("never see each other's records, search hits or audit events", async () => {
    const a = await tenantWithNotes();
    const b = await tenantWithNotes();
    const ra = await create(a.ownerToken, { title: "secret of a" });
    await create(b.ownerToken, { title: "public of b" });
    expect((await call(`/v1/collections/notes/records/${ra.id}`, { token: b.ownerToken })).status).toBe(404);
    expect((await call(`/v1/collections/notes/records/${ra.id}/history`, { token: b.ownerToken })).status).toBe(404);
    expect((await list(b.ownerToken)).items.map((r) => r.title)).toEqual(["public of b"]);
    expect((await json<Page>(await call("/v1/search?q=secret", { token: b.ownerToken }))).items).toEqual([]);
    const auditB = JSON.stringify(await json(await call("/v1/audit", { token: b.ownerToken })));
    expect(auditB).not.toContain(ra.id);
    const patch = await call(`/v1/collections/notes/records/${ra.id}`, {
      method: "PATCH",
      token: b.ownerToken,
      body: { title: "x" },
    });
    expect(patch.status).toBe(404);
    expect((await json<Rec>(await call(`/v1/collections/notes/records/${ra.id}`, { token: a.ownerToken }))).title).toBe(
      "secret of a",
    );
  });
});
