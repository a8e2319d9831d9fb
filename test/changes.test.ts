// The change log and GET /v1/changes (DESIGN §10): every committed change appends one event in
// the change's own transaction (an aborted write leaves none), seq is gapless under concurrent
// writers, pages follow since/limit/collection, a since older than the kept log is 410
// changes_expired, and a reader sees only what its reads would show: no event of a record it
// may not read, pii masked, never another tenant's events; a legal hold keeps the log whole.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { create, NOTES, type Page, type Rec, tenantWithNotes } from "./data-helpers";
import { adminToken, call, callRaw, createTenant, json, userToken } from "./helpers";

interface Change {
  seq: number;
  at: string;
  type: string;
  collection: string | null;
  id: string | null;
  version: number | null;
  actor: string;
  record?: Record<string, unknown>;
}

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

async function changes(token: string, query = ""): Promise<Page<Change>> {
  const res = await call(`/v1/changes${query ? `?${query}` : ""}`, { token });
  if (res.status !== 200) throw new Error(`changes: ${res.status} ${await res.text()}`);
  return json<Page<Change>>(res);
}

/** Every event the caller may see, following nextCursor to the end. */
async function allChanges(token: string, query = ""): Promise<Change[]> {
  const out: Change[] = [];
  let since: string | null = null;
  do {
    const page: Page<Change> = await changes(token, [query, since ? `since=${since}` : ""].filter(Boolean).join("&"));
    out.push(...page.items);
    since = page.nextCursor;
  } while (since);
  return out;
}

/** The raw log as the object holds it (seq and type), for gaplessness. */
const rawLog = (tenant: string) =>
  runInDurableObject(stubOf(tenant), (_i, state) =>
    state.storage.sql.exec<{ seq: number; type: string }>("SELECT seq, type FROM change_events ORDER BY seq").toArray(),
  );

const expectGapless = (seqs: number[]) => {
  expect(seqs.length).toBeGreaterThan(0);
  expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
};

const addMember = (token: string, sub: string, roles: string[]) =>
  call("/v1/members", { method: "POST", token, body: { sub, roles } });

describe("the change log", () => {
  it("records every kind of change in order, with the record for record events", async () => {
    const t = await tenantWithNotes();
    const a = await create(t.ownerToken, { title: "a" });
    await call(`/v1/collections/notes/records/${a.id}`, { method: "PATCH", token: t.ownerToken, body: { rank: 2 } });
    await call(`/v1/collections/notes/records/${a.id}`, { method: "DELETE", token: t.ownerToken });
    await call(`/v1/collections/notes/records/${a.id}/restore`, { method: "POST", token: t.ownerToken });
    const batch = await call("/v1/collections/notes/records:batch", {
      method: "POST",
      token: t.ownerToken,
      body: {
        operations: [
          { op: "create", data: { title: "b" } },
          { op: "update", id: a.id, data: { title: "a2" } },
          { op: "delete", id: a.id },
        ],
      },
    });
    expect(batch.status).toBe(200);
    const b = (await json<{ results: Rec[] }>(batch)).results[0] as Rec;
    await call("/v1/collections/notes", {
      method: "PATCH",
      token: t.ownerToken,
      body: { add: [{ name: "x", type: "string" }] },
    });
    const put = await callRaw("/v1/files/docs/a.txt", {
      method: "PUT",
      token: t.ownerToken,
      body: "hello",
      headers: { "content-type": "text/plain" },
    });
    expect(put.status).toBe(201);
    await call("/v1/files/docs/a.txt", { method: "DELETE", token: t.ownerToken });
    await addMember(t.ownerToken, "bob", ["viewer"]);
    await call("/v1/members/bob", { method: "PATCH", token: t.ownerToken, body: { roles: ["editor"] } });
    await call("/v1/members/bob", { method: "DELETE", token: t.ownerToken });

    const events = await allChanges(t.ownerToken);
    expect(events.map((e) => [e.type, e.collection, e.id, e.version])).toEqual([
      ["collection.changed", "notes", null, null],
      ["record.created", "notes", a.id, 1],
      ["record.updated", "notes", a.id, 2],
      ["record.deleted", "notes", a.id, 3],
      ["record.restored", "notes", a.id, 4],
      ["record.created", "notes", b.id, 1],
      ["record.updated", "notes", a.id, 5],
      ["record.deleted", "notes", a.id, 6],
      ["collection.changed", "notes", null, null],
      ["file.put", null, "docs/a.txt", null],
      ["file.deleted", null, "docs/a.txt", null],
      ["member.changed", null, "bob", null],
      ["member.changed", null, "bob", null],
      ["member.changed", null, "bob", null],
    ]);
    expectGapless(events.map((e) => e.seq));
    expect(events[2]).toMatchObject({ actor: "user:alice", record: { id: a.id, title: "a", rank: 2, version: 2 } });
    expect(events[7]?.record).toMatchObject({ title: "a2", version: 6, deletedAt: expect.any(String) });
    expect(events[0]).not.toHaveProperty("record");
    expect(Date.parse(events[0]?.at ?? "")).not.toBeNaN();
  });

  it("an aborted write leaves no event, and the next one takes the next seq", async () => {
    const t = await tenantWithNotes({
      name: "notes",
      fields: [
        { name: "title", type: "string", required: true },
        { name: "code", type: "string", unique: true },
      ],
    });
    await create(t.ownerToken, { title: "first", code: "A" });
    const before = await rawLog(t.id);

    // One operation of a batch fails inside the transaction: the batch's earlier create goes too.
    const batch = await call("/v1/collections/notes/records:batch", {
      method: "POST",
      token: t.ownerToken,
      body: {
        operations: [
          { op: "create", data: { title: "would be second" } },
          { op: "update", id: "nosuchrecord000000000", data: { title: "x" } },
        ],
      },
    });
    expect(batch.status).toBe(404);
    const unique = await call("/v1/collections/notes/records", {
      method: "POST",
      token: t.ownerToken,
      body: { title: "dup", code: "A" },
    });
    expect(unique.status).toBe(409);
    const conflictBatch = await call("/v1/collections/notes/records:batch", {
      method: "POST",
      token: t.ownerToken,
      body: {
        operations: [
          { op: "create", data: { title: "c", code: "B" } },
          { op: "create", data: { title: "d", code: "B" } },
        ],
      },
    });
    expect(conflictBatch.status).toBe(409);
    expect(await rawLog(t.id)).toEqual(before);

    const next = await create(t.ownerToken, { title: "second", code: "C" });
    const after = await rawLog(t.id);
    expect(after.length).toBe(before.length + 1);
    expectGapless(after.map((e) => e.seq));
    expect((await allChanges(t.ownerToken)).at(-1)).toMatchObject({ type: "record.created", id: next.id });
  });

  it("seq stays gapless and each write appears once under concurrent writers", async () => {
    const t = await tenantWithNotes();
    const made = await Promise.all(Array.from({ length: 40 }, (_, i) => create(t.ownerToken, { title: `n${i}` })));
    const log = await rawLog(t.id);
    expectGapless(log.map((e) => e.seq));
    const created = (await allChanges(t.ownerToken)).filter((e) => e.type === "record.created").map((e) => e.id);
    expect(created.length).toBe(40);
    expect(new Set(created)).toEqual(new Set(made.map((r) => r.id)));
  });

  it("pages by since and limit, filters by collection, and refuses bad parameters", async () => {
    const t = await tenantWithNotes();
    await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "tasks", fields: [{ name: "title", type: "string" }] },
    });
    for (let i = 0; i < 5; i++) await create(t.ownerToken, { title: `n${i}` });
    for (let i = 0; i < 2; i++) await create(t.ownerToken, { title: `t${i}` }, "tasks");

    const first = await changes(t.ownerToken, "limit=3");
    expect(first.items.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(first.nextCursor).toBe("3");
    const second = await changes(t.ownerToken, "limit=3&since=3");
    expect(second.items.map((e) => e.seq)).toEqual([4, 5, 6]);
    const last = await changes(t.ownerToken, "since=6");
    expect(last.items.map((e) => e.seq)).toEqual([7, 8, 9]);
    expect(last.nextCursor).toBeNull();
    expect((await changes(t.ownerToken, "since=9")).items).toEqual([]);
    expect((await changes(t.ownerToken)).items.length).toBe(9); // default limit 100

    const tasks = await allChanges(t.ownerToken, "collection=tasks&limit=1");
    expect(tasks.map((e) => [e.type, e.collection])).toEqual([
      ["collection.changed", "tasks"],
      ["record.created", "tasks"],
      ["record.created", "tasks"],
    ]);

    for (const q of ["limit=0", "limit=1001", "limit=x", "since=-1", "since=1.5"]) {
      const res = await call(`/v1/changes?${q}`, { token: t.ownerToken });
      expect(res.status, q).toBe(400);
      expect((await json(res)).code).toBe("validation_failed");
    }
  });

  it("after the retention trim a since older than the kept log is 410 changes_expired", async () => {
    const t = await tenantWithNotes();
    for (let i = 0; i < 3; i++) await create(t.ownerToken, { title: `n${i}` });
    // Within changeLogDays nothing is trimmed.
    const early = await stubOf(t.id).retention(inDays(6));
    expect(early.ok && early.value.changesTrimmed).toBe(0);
    expect((await changes(t.ownerToken, "since=0")).items.length).toBe(4);

    const run = await stubOf(t.id).retention(inDays(8));
    expect(run.ok && run.value.changesTrimmed).toBe(4);
    const res = await call("/v1/changes?since=0", { token: t.ownerToken });
    expect(res.status).toBe(410);
    expect(await json(res)).toMatchObject({ status: 410, code: "changes_expired" });
    expect((await call("/v1/changes?since=3", { token: t.ownerToken })).status).toBe(410);
    // A reader that saw everything before the trim goes on; the log continues at the next seq.
    expect((await changes(t.ownerToken, "since=4")).items).toEqual([]);
    const next = await create(t.ownerToken, { title: "after" });
    expect((await changes(t.ownerToken, "since=4")).items).toMatchObject([{ seq: 5, id: next.id }]);
    expect((await changes(t.ownerToken)).items.map((e) => e.seq)).toEqual([5]);
  });

  it("a legal hold stops the trim: the log is data", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "evidence" });
    const hold = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { legalHold: true },
    });
    expect(hold.status).toBe(200);
    const run = await stubOf(t.id).retention(inDays(30));
    expect(run.ok && run.value).toMatchObject({ held: true, changesTrimmed: 0 });
    expect((await changes(t.ownerToken, "since=0")).items.map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe("the reader's rules on every event", () => {
  async function aclTenant() {
    const t = await createTenant();
    const res = await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: {
        name: "docs",
        acl: true,
        fields: [
          { name: "title", type: "string" },
          { name: "email", type: "string", pii: true },
        ],
      },
    });
    expect(res.status).toBe(201);
    await addMember(t.ownerToken, "bob", ["editor"]);
    await addMember(t.ownerToken, "carol", ["viewer"]);
    return { ...t, bob: await userToken(t.id, "bob"), carol: await userToken(t.id, "carol") };
  }

  it("a viewer never receives a private record's event, and sees pii masked as in reads", async () => {
    const t = await aclTenant();
    const secret = await create(t.bob, { title: "secret", email: "bob@example.com" }, "docs");
    const open = await create(t.bob, { title: "open", email: "bob@example.com", visibility: "public" }, "docs");
    const restricted = await create(
      t.bob,
      { title: "above clearance", visibility: "public", classification: "confidential" },
      "docs",
    );
    await call(`/v1/collections/docs/records/${secret.id}`, { method: "PATCH", token: t.bob, body: { title: "s2" } });

    const carol = await allChanges(t.carol);
    const seen = carol.filter((e) => e.type.startsWith("record.")).map((e) => e.id);
    expect(seen).toEqual([open.id]);
    expect(JSON.stringify(carol)).not.toContain("secret");
    expect(JSON.stringify(carol)).not.toContain("bob@example.com");
    const read = await json<Rec>(await call(`/v1/collections/docs/records/${open.id}`, { token: t.carol }));
    expect(carol.find((e) => e.id === open.id)?.record).toEqual(read);
    expect(read.email).toBe("b***@example.com");
    expect((await call(`/v1/collections/docs/records/${restricted.id}`, { token: t.carol })).status).toBe(404);

    // The owner (admin, pii:read) sees every record event, pii in clear.
    const alice = await allChanges(t.ownerToken);
    expect(alice.filter((e) => e.type.startsWith("record.")).map((e) => e.id)).toEqual([
      secret.id,
      open.id,
      restricted.id,
      secret.id,
    ]);
    expect(alice.find((e) => e.id === open.id)?.record?.email).toBe("bob@example.com");
  });

  it("judges each event on the record as it stands, like a read: made private, its past events go too", async () => {
    const t = await aclTenant();
    const doc = await create(t.bob, { title: "was public", visibility: "public" }, "docs");
    expect((await allChanges(t.carol)).some((e) => e.id === doc.id)).toBe(true);
    const patched = await call(`/v1/collections/docs/records/${doc.id}`, {
      method: "PATCH",
      token: t.bob,
      body: { visibility: "private" },
    });
    expect(patched.status).toBe(200);
    expect((await call(`/v1/collections/docs/records/${doc.id}`, { token: t.carol })).status).toBe(404);
    expect((await allChanges(t.carol)).some((e) => e.id === doc.id)).toBe(false);
    // A share opens the record, and its events, to the grantee (sharing it is an update too).
    await call(`/v1/collections/docs/records/${doc.id}/shares`, {
      method: "POST",
      token: t.bob,
      body: { principal: "user:carol", permission: "read" },
    });
    const opened = (await allChanges(t.carol)).filter((e) => e.id === doc.id);
    expect(opened.map((e) => [e.type, e.version])).toEqual([
      ["record.created", 1],
      ["record.updated", 2],
      ["record.updated", 3],
    ]);
  });

  it("file events need files:read, member events members:manage, the feed records:read", async () => {
    const t = await tenantWithNotes();
    await call("/v1/roles/reader", { method: "PUT", token: t.ownerToken, body: { permissions: ["records:read"] } });
    await call("/v1/roles/nothing", { method: "PUT", token: t.ownerToken, body: { permissions: ["files:read"] } });
    await addMember(t.ownerToken, "rita", ["reader"]);
    await addMember(t.ownerToken, "carol", ["viewer"]);
    await addMember(t.ownerToken, "nora", ["nothing"]);
    await callRaw("/v1/files/a.txt", {
      method: "PUT",
      token: t.ownerToken,
      body: "x",
      headers: { "content-type": "text/plain" },
    });
    await create(t.ownerToken, { title: "n" });

    const types = async (sub: string) => [
      ...new Set((await allChanges(await userToken(t.id, sub))).map((e) => e.type)),
    ];
    expect(await types("rita")).toEqual(["collection.changed", "record.created"]);
    expect(await types("carol")).toEqual(["collection.changed", "file.put", "record.created"]);
    expect(await types(t.owner)).toEqual(["collection.changed", "member.changed", "file.put", "record.created"]);
    const nora = await call("/v1/changes", { token: await userToken(t.id, "nora") });
    expect(nora.status).toBe(403);
  });

  it("another tenant's events are never visible", async () => {
    const a = await tenantWithNotes();
    const b = await tenantWithNotes(NOTES);
    const mine = await create(a.ownerToken, { title: "tenant a only" });
    const theirs = await allChanges(b.ownerToken);
    expect(theirs.map((e) => e.type)).toEqual(["collection.changed"]);
    expect(JSON.stringify(theirs)).not.toContain(mine.id);
    // Naming the other tenant selects nothing for a tenant user.
    const named = await call("/v1/changes", { token: b.ownerToken, headers: { "x-silo-tenant": a.id } });
    expect(named.status).toBe(404);
  });

  it("erasure blanks the subject's pii in the log too, and records the erasure as an update", async () => {
    const t = await tenantWithNotes();
    await addMember(t.ownerToken, "bob", ["editor"]);
    const rec = await create(await userToken(t.id, "bob"), { title: "cv", email: "bob@example.com" });
    const erased = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: "bob" } });
    expect(erased.status).toBe(200);
    const events = (await allChanges(t.ownerToken)).filter((e) => e.id === rec.id);
    expect(events.map((e) => [e.type, e.version, e.record?.email])).toEqual([
      ["record.created", 1, null],
      ["record.updated", 2, null],
    ]);
    const raw = await runInDurableObject(stubOf(t.id), (_i, state) =>
      state.storage.sql.exec<{ record: string | null }>("SELECT record FROM change_events").toArray(),
    );
    expect(JSON.stringify(raw)).not.toContain("bob@example.com");
  });

  it("erasure tells the feed of the member and the files it removes, under the pseudonym", async () => {
    const t = await tenantWithNotes();
    await addMember(t.ownerToken, "bob", ["editor"]);
    const bob = await userToken(t.id, "bob");
    const headers = { "content-type": "text/plain" };
    expect((await callRaw("/v1/files/docs/cv.txt", { method: "PUT", token: bob, body: "cv", headers })).status).toBe(
      201,
    );
    const res = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: "bob" } });
    expect(res.status).toBe(200);
    const { pseudonym } = await json<{ pseudonym: string }>(res);
    const events = await allChanges(t.ownerToken);
    expect(events.slice(-2).map((e) => [e.type, e.id])).toEqual([
      ["member.changed", pseudonym],
      ["file.deleted", "docs/cv.txt"],
    ]);
    // The member's earlier event names the pseudonym too: the feed holds no trace of the subject.
    expect(events.filter((e) => e.type === "member.changed").map((e) => e.id)).toEqual([pseudonym, pseudonym]);
    expect(JSON.stringify(events)).not.toContain("bob");
    // The object went after the commit, and no delete intent is left open.
    expect((await env.FILES.list({ prefix: `tenant-${t.id}/files/` })).objects).toEqual([]);
    const open = await runInDurableObject(stubOf(t.id), (_i, state) =>
      state.storage.sql.exec("SELECT key FROM meta WHERE key LIKE 'file-op:%'").toArray(),
    );
    expect(open).toEqual([]);
  });

  it("a value sealed under a key no longer held shows as null; the page still answers", async () => {
    const t = await tenantWithNotes({
      name: "notes",
      fields: [
        { name: "title", type: "string" },
        { name: "secret", type: "string", encrypted: true },
      ],
    });
    const rec = await create(t.ownerToken, { title: "a", secret: "s3cret" });
    expect((await allChanges(t.ownerToken)).at(-1)?.record).toMatchObject({ id: rec.id, secret: "s3cret" });
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec(
        "UPDATE change_events SET record = json_set(record, '$.secret', 'e1.gone.AAAA.AAAA') WHERE resource_id = ?",
        rec.id,
      );
    });
    expect((await allChanges(t.ownerToken)).at(-1)?.record).toMatchObject({ id: rec.id, title: "a", secret: null });
  });

  it("a dropped collection takes its record events with it; its collection event stays", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "gone" });
    expect((await call("/v1/collections/notes", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    const events = await allChanges(t.ownerToken);
    expect(events.map((e) => e.type)).toEqual(["collection.changed", "collection.changed"]);
    expect(JSON.stringify(events)).not.toContain(r.id);
    // Gone from the log itself, not only hidden: the dropped data keeps no copy there.
    expect((await rawLog(t.id)).map((e) => e.type)).toEqual(["collection.changed", "collection.changed"]);
  });
});
