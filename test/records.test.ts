// Records: validation from the collection definition, versions with ETag/If-Match, soft delete
// and restore, history and as_of, batches (all or nothing), idempotency, keyset pagination,
// the query language, permissions, pii masking and the record quota.
import { describe, expect, it } from "vitest";
import { create, list, NOTES, type Page, type Rec, tenantWithNotes } from "./data-helpers";
import { adminToken, call, json, userToken } from "./helpers";

const rec = (t: { ownerToken: string }, id: string, init: Parameters<typeof call>[1] = {}) =>
  call(`/v1/collections/notes/records/${id}`, { token: t.ownerToken, ...init });

describe("record validation", () => {
  it("refuses unknown, system and mistyped fields and missing required ones, naming the field", async () => {
    const t = await tenantWithNotes();
    const cases: [Record<string, unknown>, string][] = [
      [{ title: "a", colour: "red" }, "colour"],
      [{ title: "a", id: "mine" }, "id"],
      [{ title: "a", version: 7 }, "version"],
      [{ title: "a", createdAt: "2020-01-01T00:00:00Z" }, "createdAt"],
      [{ title: 5 }, "title"],
      [{ title: "a", rank: 1.5 }, "rank"],
      [{ title: "a", done: "yes" }, "done"],
      [{ body: "no title" }, "title"],
    ];
    for (const [body, field] of cases) {
      const res = await call("/v1/collections/notes/records", { method: "POST", token: t.ownerToken, body });
      const problem = await json(res);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(problem.code).toBe("validation_failed");
      expect(String(problem.detail)).toContain(field);
    }
    expect((await list(t.ownerToken)).items).toEqual([]);
  });

  it("validates each tenant's writes by its own definition, however alike the definitions (schemas are shared by text)", async () => {
    const strict = await tenantWithNotes();
    const lax = await tenantWithNotes({ ...NOTES, fields: NOTES.fields.map((f) => ({ ...f, required: false })) });
    const twin = await tenantWithNotes();
    const noTitle = { body: "no title" };
    const post = (t: { ownerToken: string }) =>
      call("/v1/collections/notes/records", { method: "POST", token: t.ownerToken, body: noTitle });
    expect((await post(lax)).status).toBe(201);
    expect((await post(strict)).status).toBe(400);
    expect((await post(twin)).status).toBe(400);
    // A changed definition is a new text: the old schema no longer applies to it.
    const changed = await call("/v1/collections/notes", {
      method: "PATCH",
      token: strict.ownerToken,
      body: { add: [{ name: "colour", type: "string" }] },
    });
    expect(changed.status).toBe(200);
    const colour = { title: "a", colour: "red" };
    const withColour = (t: { ownerToken: string }) =>
      call("/v1/collections/notes/records", { method: "POST", token: t.ownerToken, body: colour });
    expect((await withColour(strict)).status).toBe(201);
    expect((await withColour(twin)).status).toBe(400);
  });

  it("returns the record with system fields, defaults and an ETag", async () => {
    const t = await tenantWithNotes();
    const res = await call("/v1/collections/notes/records", {
      method: "POST",
      token: t.ownerToken,
      body: { title: "a" },
    });
    const body = await json<Rec>(res);
    expect(res.status).toBe(201);
    expect(res.headers.get("etag")).toBe('"1"');
    expect(body).toMatchObject({ title: "a", done: false, version: 1, body: null });
    expect(Date.parse(String(body.createdAt))).not.toBeNaN();
    expect(body.updatedAt).toBe(body.createdAt);
  });
});

describe("versions and concurrency", () => {
  it("increments the version and honours If-Match", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "v1" });
    const ok = await rec(t, r.id, { method: "PATCH", body: { title: "v2" }, headers: { "if-match": '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe('"2"');
    const stale = await rec(t, r.id, { method: "PATCH", body: { title: "v3" }, headers: { "if-match": '"1"' } });
    expect(stale.status).toBe(412);
    expect((await json(stale)).code).toBe("precondition_failed");
    expect((await json<Rec>(await rec(t, r.id))).title).toBe("v2");
  });

  it("compares If-Match strongly: a weak tag of the current version is 412 and changes nothing", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "v1" });
    for (const method of ["PATCH", "PUT", "DELETE"]) {
      const weak = await rec(t, r.id, { method, body: { title: "weak" }, headers: { "if-match": 'W/"1"' } });
      expect(weak.status, method).toBe(412);
      expect((await json(weak)).code).toBe("precondition_failed");
    }
    const now = await json<Rec>(await rec(t, r.id));
    expect(now).toMatchObject({ title: "v1", version: 1 });
  });

  it("answers 304 to If-None-Match naming the current version, 200 with the record otherwise", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "v1" });
    for (const tag of ['"1"', 'W/"1"', '"7", "1"', "*"]) {
      const same = await rec(t, r.id, { headers: { "if-none-match": tag } });
      expect(same.status, tag).toBe(304);
      expect(same.headers.get("etag")).toBe('"1"');
      expect(await same.text()).toBe("");
    }
    await rec(t, r.id, { method: "PATCH", body: { title: "v2" } });
    const changed = await rec(t, r.id, { headers: { "if-none-match": '"1"' } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).toBe('"2"');
    expect((await json<Rec>(changed)).title).toBe("v2");
  });

  it("lets exactly one of two concurrent writers with the same If-Match win", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "start" });
    const [a, b] = await Promise.all(
      ["a", "b"].map((title) => rec(t, r.id, { method: "PATCH", body: { title }, headers: { "if-match": '"1"' } })),
    );
    expect([a?.status, b?.status].sort()).toEqual([200, 412]);
    const final = await json<Rec>(await rec(t, r.id));
    expect(final.version).toBe(2);
  });

  it("PUT replaces all fields: the ones left out become null", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "t", body: "b", rank: 3 });
    const res = await json<Rec>(await rec(t, r.id, { method: "PUT", body: { title: "only" } }));
    expect(res).toMatchObject({ title: "only", body: null, rank: null, version: 2 });
  });

  it("soft-deletes, hides, shows admins with include_deleted, and restores", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "gone soon" });
    expect((await rec(t, r.id, { method: "DELETE" })).status).toBe(200);
    expect((await rec(t, r.id)).status).toBe(404);
    expect((await list(t.ownerToken)).items).toEqual([]);
    const withDeleted = await list(t.ownerToken, "include_deleted=true");
    expect(withDeleted.items.map((x) => x.id)).toEqual([r.id]);
    expect(withDeleted.items[0]?.deletedAt).toBeTruthy();
    const restored = await json<Rec>(await rec(t, `${r.id}/restore`, { method: "POST" }));
    expect(restored.version).toBe(3);
    expect((await rec(t, r.id)).status).toBe(200);
    expect((await rec(t, `${r.id}/restore`, { method: "POST" })).status).toBe(409);
  });
});

describe("history and as_of", () => {
  it("keeps every version with its operation and actor", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "one" });
    await rec(t, r.id, { method: "PATCH", body: { title: "two" } });
    await rec(t, r.id, { method: "DELETE" });
    await rec(t, `${r.id}/restore`, { method: "POST" });
    const h = await json<Page<{ version: number; op: string; actor: string; data: Rec }>>(
      await rec(t, `${r.id}/history`),
    );
    expect(h.items.map((v) => [v.version, v.op, v.data.title])).toEqual([
      [1, "create", "one"],
      [2, "update", "two"],
      [3, "delete", "two"],
      [4, "restore", "two"],
    ]);
    expect(h.items.every((v) => v.actor === `user:${t.owner}`)).toBe(true);
    const paged = await json<Page>(await rec(t, `${r.id}/history?limit=3`));
    expect(paged.items).toHaveLength(3);
    const rest = await json<Page>(await rec(t, `${r.id}/history?limit=3&cursor=${paged.nextCursor}`));
    expect(rest.items).toHaveLength(1);
  });

  it("reads the collection as it was at a past instant", async () => {
    const t = await tenantWithNotes();
    const before = new Date(Date.now() - 1000).toISOString();
    const a = await create(t.ownerToken, { title: "first", rank: 1 });
    const b = await create(t.ownerToken, { title: "second", rank: 2 });
    await new Promise((r) => setTimeout(r, 5)); // a distinct instant between the writes
    const t1 = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await rec(t, a.id, { method: "PATCH", body: { title: "first, edited" } });
    await rec(t, b.id, { method: "DELETE" });

    const then = await list(t.ownerToken, `as_of=${t1}&sort=rank`);
    expect(then.items.map((r) => r.title)).toEqual(["first", "second"]);
    const filtered = await list(t.ownerToken, `as_of=${t1}&title=eq.first`);
    expect(filtered.items.map((r) => r.id)).toEqual([a.id]);
    const now = await list(t.ownerToken, `as_of=${new Date(Date.now() + 1000).toISOString()}`);
    expect(now.items.map((r) => r.title)).toEqual(["first, edited"]);
    expect((await list(t.ownerToken, `as_of=${before}`)).items).toEqual([]);
  });
});

describe("batches", () => {
  it("applies up to 100 writes in one transaction", async () => {
    const t = await tenantWithNotes();
    const existing = await create(t.ownerToken, { title: "old" });
    const gone = await create(t.ownerToken, { title: "gone" });
    const res = await call("/v1/collections/notes/records:batch", {
      method: "POST",
      token: t.ownerToken,
      body: {
        operations: [
          { op: "create", data: { title: "new" } },
          { op: "update", id: existing.id, data: { title: "old, edited" } },
          { op: "delete", id: gone.id },
        ],
      },
    });
    const body = await json<{ results: Rec[] }>(res);
    expect(res.status).toBe(200);
    expect(body.results.map((r) => r.title)).toEqual(["new", "old, edited", "gone"]);
    expect((await list(t.ownerToken, "sort=title")).items.map((r) => r.title)).toEqual(["new", "old, edited"]);
  });

  it("is all or nothing: a failing operation leaves no trace of the others", async () => {
    const t = await tenantWithNotes();
    const existing = await create(t.ownerToken, { title: "keep" });
    const auditBefore = await json<Page>(await call("/v1/audit?limit=1000", { token: t.ownerToken }));
    const res = await call("/v1/collections/notes/records:batch", {
      method: "POST",
      token: t.ownerToken,
      body: {
        operations: [
          { op: "create", data: { title: "phantom" } },
          { op: "update", id: existing.id, data: { title: "changed" } },
          { op: "update", id: "does-not-exist", data: { title: "x" } },
        ],
      },
    });
    const problem = await json(res);
    expect(res.status).toBe(404);
    expect(problem.operation).toBe(2);
    expect((await list(t.ownerToken)).items.map((r) => r.title)).toEqual(["keep"]);
    const auditAfter = await json<Page>(await call("/v1/audit?limit=1000", { token: t.ownerToken }));
    expect(auditAfter.items.length).toBe(auditBefore.items.length);
    const tooMany = await call("/v1/collections/notes/records:batch", {
      method: "POST",
      token: t.ownerToken,
      body: { operations: Array.from({ length: 101 }, () => ({ op: "create", data: { title: "x" } })) },
    });
    expect(tooMany.status).toBe(400);
  });
});

describe("idempotency", () => {
  it("returns the first answer for a retried POST and refuses a reused key", async () => {
    const t = await tenantWithNotes();
    const send = (title: string) =>
      call("/v1/collections/notes/records", {
        method: "POST",
        token: t.ownerToken,
        body: { title },
        headers: { "idempotency-key": "k-1" },
      });
    const first = await json<Rec>(await send("once"));
    const retry = await send("once");
    expect(retry.status).toBe(201);
    expect((await json<Rec>(retry)).id).toBe(first.id);
    expect((await list(t.ownerToken)).items).toHaveLength(1);
    const reused = await send("different");
    expect(reused.status).toBe(409);
  });
});

describe("keyset pagination", () => {
  it("returns each record exactly once while records are inserted between pages", async () => {
    const t = await tenantWithNotes();
    const original: string[] = [];
    for (let i = 0; i < 23; i++) {
      original.push((await create(t.ownerToken, { title: `r${i}`, rank: i % 4 === 0 ? null : i % 5 })).id);
    }
    for (const sort of ["rank", "-rank", "title,-createdAt", "-updatedAt"]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let round = 0;
      do {
        const page: Page = await list(t.ownerToken, `sort=${sort}&limit=6${cursor ? `&cursor=${cursor}` : ""}`);
        seen.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor;
        await create(t.ownerToken, { title: `late-${sort}-${round++}`, rank: round % 3 });
      } while (cursor);
      const originalsSeen = seen.filter((id) => original.includes(id));
      expect(originalsSeen.sort(), sort).toEqual([...original].sort());
      expect(new Set(seen).size, `no duplicates for ${sort}`).toBe(seen.length);
    }
  });

  it("refuses a cursor from another sort order", async () => {
    const t = await tenantWithNotes();
    for (let i = 0; i < 3; i++) await create(t.ownerToken, { title: `r${i}` });
    const page = await list(t.ownerToken, "sort=title&limit=1");
    const res = await call(`/v1/collections/notes/records?sort=-title&cursor=${page.nextCursor}`, {
      token: t.ownerToken,
    });
    expect(res.status).toBe(400);
  });
});

describe("query language", () => {
  it("filters with every operator and projects fields", async () => {
    const t = await tenantWithNotes();
    const a = await create(t.ownerToken, { title: "Alpha", rank: 1, done: true, body: "50% off_today" });
    const b = await create(t.ownerToken, { title: "Beta", rank: 2 });
    const c = await create(t.ownerToken, { title: "Gamma", rank: 3 });
    const ids = async (query: string) => (await list(t.ownerToken, `${query}&sort=rank`)).items.map((r) => r.id);
    expect(await ids("rank=eq.2")).toEqual([b.id]);
    expect(await ids("rank=ne.2")).toEqual([a.id, c.id]);
    expect(await ids("rank=gt.1")).toEqual([b.id, c.id]);
    expect(await ids("rank=gte.2")).toEqual([b.id, c.id]);
    expect(await ids("rank=lt.2")).toEqual([a.id]);
    expect(await ids("rank=lte.2")).toEqual([a.id, b.id]);
    expect(await ids("title=in.Alpha,Gamma")).toEqual([a.id, c.id]);
    expect(await ids("title=like.*ta")).toEqual([b.id]);
    expect(await ids("body=like.50%25*")).toEqual([a.id]);
    expect(await ids("body=like.*off_t*")).toEqual([a.id]);
    expect(await ids("body=is.null")).toEqual([b.id, c.id]);
    expect(await ids("body=is.notnull")).toEqual([a.id]);
    expect(await ids("done=eq.true")).toEqual([a.id]);
    expect(await ids(`id=eq.${c.id}`)).toEqual([c.id]);
    expect((await list(t.ownerToken, "sort=-rank")).items.map((r) => r.id)).toEqual([c.id, b.id, a.id]);
    const projected = await list(t.ownerToken, "fields=title&sort=rank&limit=1");
    expect(projected.items).toEqual([{ id: a.id, title: "Alpha" }]);
  });

  it("answers an unknown field or operator with 400 naming it", async () => {
    const t = await tenantWithNotes();
    const res = await call("/v1/collections/notes/records?colour=eq.red", { token: t.ownerToken });
    expect(res.status).toBe(400);
    expect(String((await json(res)).detail)).toContain("colour");
    const op = await call("/v1/collections/notes/records?title=regex.a", { token: t.ownerToken });
    expect(String((await json(op)).detail)).toContain("regex");
  });
});

describe("permissions and masking", () => {
  it("viewers read, editors write, admins manage collections", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "x", email: "ann@example.com" });
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: "viewer" } },
    });
    const viewer = await userToken(t.id, "vic");
    expect((await call(`/v1/collections/notes/records/${r.id}`, { token: viewer })).status).toBe(200);
    const write = await call("/v1/collections/notes/records", { method: "POST", token: viewer, body: { title: "no" } });
    expect(write.status).toBe(403);
    expect((await call("/v1/collections", { method: "POST", token: viewer, body: NOTES })).status).toBe(403);
    // An owner narrowed to editor by the token can write records but not manage collections.
    const editor = await userToken(t.id, t.owner, { roles: ["editor"] });
    expect(
      (await call("/v1/collections/notes/records", { method: "POST", token: editor, body: { title: "ok" } })).status,
    ).toBe(201);
    expect((await call("/v1/collections/notes", { method: "DELETE", token: editor })).status).toBe(403);
  });

  it("masks pii for callers without pii:read, everywhere, and refuses filtering on it", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "x", email: "ann@example.com" });
    await rec(t, r.id, { method: "PATCH", body: { email: "bob@example.org" } });
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: "viewer" } },
    });
    const viewer = await userToken(t.id, "vic");
    expect((await json<Rec>(await call(`/v1/collections/notes/records/${r.id}`, { token: viewer }))).email).toBe(
      "b***@example.org",
    );
    expect((await list(viewer)).items[0]?.email).toBe("b***@example.org");
    const history = await json<Page<{ data: Rec }>>(
      await call(`/v1/collections/notes/records/${r.id}/history`, { token: viewer }),
    );
    expect(history.items.map((v) => v.data.email)).toEqual(["a***@example.com", "b***@example.org"]);
    expect((await list(viewer, `as_of=${new Date(Date.now() + 1000).toISOString()}`)).items[0]?.email).toBe(
      "b***@example.org",
    );
    expect((await call("/v1/collections/notes/records?email=eq.bob@example.org", { token: viewer })).status).toBe(403);
    // The owner reads it in clear.
    expect((await json<Rec>(await rec(t, r.id))).email).toBe("bob@example.org");
  });

  it("refuses a create over the record quota with the limit and current use", async () => {
    const t = await tenantWithNotes();
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { limits: { maxRecords: 2 } },
    });
    await create(t.ownerToken, { title: "1" });
    await create(t.ownerToken, { title: "2" });
    const res = await call("/v1/collections/notes/records", {
      method: "POST",
      token: t.ownerToken,
      body: { title: "3" },
    });
    const problem = await json(res);
    expect(res.status).toBe(403);
    expect(problem).toMatchObject({ code: "quota_exceeded", limit: 2, current: 2 });
    // The refused create counted nothing: the gauge is counted up and checked in one statement,
    // and the refusal rolls it back with the rest of the write (a batch as a whole).
    const batch = await call("/v1/collections/notes/records:batch", {
      method: "POST",
      token: t.ownerToken,
      body: { operations: [{ op: "create", data: { title: "4" } }] },
    });
    expect(batch.status).toBe(403);
    const me = await json<{ usage: { records: number } }>(await call("/v1/me", { token: t.ownerToken }));
    expect(me.usage.records).toBe(2);
  });
});
