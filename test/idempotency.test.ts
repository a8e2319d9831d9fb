// Idempotency-Key on every POST (DESIGN §5): the same key and request answers the first answer
// without doing the work again; the same key with another request is 409. One case per POST
// route of /openapi.json, and a test that fails when a POST route has no case.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { create, NOTES, tenantWithNotes } from "./data-helpers";
import { adminToken, call, createTenant, json, uniqueId, userToken } from "./helpers";

interface Case {
  /** The first request: path, token and body. */
  first: { path: string; token: string; body?: unknown };
  /** The same key with another request (another body, or another path when there is no body). */
  other: { path: string; body?: unknown };
  /** What the work did, observed from outside: must not change when the request is replayed. */
  effect?: () => Promise<unknown>;
  /** A route this runtime always refuses (with this status): the refusal is never kept. */
  refused?: number;
}

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
const count = async (path: string, token: string) =>
  (await json<{ items: unknown[] }>(await call(path, { token }))).items.length;
const adminAudit = async (tenant: string, action: string) => {
  const page = await json<{ items: { action: string }[] }>(
    await call(`/v1/tenants/${tenant}/audit-logs?limit=1000`, { token: await adminToken() }),
  );
  return page.items.filter((e) => e.action === action).length;
};

const post = (path: string, token: string, key: string, body?: unknown) =>
  call(path, { method: "POST", token, body, headers: { "idempotency-key": key } });

/** Runs the tenant's alarms until its export is done. */
async function finish(tenant: string, exportId: string) {
  for (let i = 0; i < 100; i++) {
    const job = await json<{ status: string }>(
      await call(`/v1/tenants/${tenant}/exports/${exportId}`, { token: await adminToken() }),
    );
    if (job.status === "completed") return;
    await runDurableObjectAlarm(stubOf(tenant));
  }
  throw new Error("export did not finish");
}

/** A tenant with one note, and the note. */
async function withNote() {
  const t = await tenantWithNotes();
  return { t, note: await create(t.ownerToken, { title: "first" }) };
}

const CASES: Record<string, () => Promise<Case>> = {
  "/v1/tenants": async () => {
    const admin = await adminToken();
    const id = uniqueId();
    const body = { id, name: "Once", tier: "basic", owner: { sub: "alice" } };
    return {
      first: { path: "/v1/tenants", token: admin, body },
      other: { path: "/v1/tenants", body: { ...body, name: "Twice" } },
      effect: () => adminAudit(id, "tenant.created"),
    };
  },
  "/v1/tenants/{id}/suspend": async () => {
    const t = await createTenant();
    return {
      first: { path: `/v1/tenants/${t.id}/suspend`, token: await adminToken() },
      other: { path: `/v1/tenants/${t.id}/resume` },
      effect: () => adminAudit(t.id, "tenant.suspended"),
    };
  },
  "/v1/tenants/{id}/resume": async () => {
    const t = await createTenant();
    await call(`/v1/tenants/${t.id}/suspend`, { method: "POST", token: await adminToken() });
    return {
      first: { path: `/v1/tenants/${t.id}/resume`, token: await adminToken() },
      other: { path: `/v1/tenants/${t.id}/suspend` },
      effect: () => adminAudit(t.id, "tenant.resumed"),
    };
  },
  "/v1/tenants/{id}/restore": async () => {
    const t = await createTenant();
    await call(`/v1/tenants/${t.id}`, { method: "DELETE", token: await adminToken() });
    return {
      first: { path: `/v1/tenants/${t.id}/restore`, token: await adminToken() },
      other: { path: `/v1/tenants/${t.id}/suspend` },
      effect: () => adminAudit(t.id, "tenant.restored"),
    };
  },
  "/v1/tenants/{id}/export": async () => {
    const { t } = await withNote();
    return {
      first: { path: `/v1/tenants/${t.id}/export`, token: await adminToken(), body: {} },
      other: { path: `/v1/tenants/${t.id}/export`, body: { collection: "notes" } },
    };
  },
  "/v1/tenants/{id}/import": async () => {
    const { t: from } = await withNote();
    const exported = await json<{ id: string }>(
      await call(`/v1/tenants/${from.id}/export`, { method: "POST", token: await adminToken(), body: {} }),
    );
    await finish(from.id, exported.id);
    const into = await createTenant();
    const body = { fromTenant: from.id, exportId: exported.id };
    return {
      first: { path: `/v1/tenants/${into.id}/import`, token: await adminToken(), body },
      other: { path: `/v1/tenants/${into.id}/import`, body: { ...body, exportId: "x" } },
    };
  },
  "/v1/tenants/{id}/backups": async () => {
    const { t } = await withNote();
    return {
      first: { path: `/v1/tenants/${t.id}/backups`, token: await adminToken() },
      other: { path: `/v1/tenants/${t.id}/backups?again=1` },
    };
  },
  "/v1/tenants/{id}/backups/{backupId}/restore": async () => {
    const { t } = await withNote();
    const backup = await json<{ id: string }>(
      await call(`/v1/tenants/${t.id}/backups`, { method: "POST", token: await adminToken() }),
    );
    await finish(t.id, backup.id);
    return {
      first: { path: `/v1/tenants/${t.id}/backups/${backup.id}/restore`, token: await adminToken() },
      other: { path: `/v1/tenants/${t.id}/backups/${backup.id}/restore?again=1` },
    };
  },
  "/v1/tenants/{id}/restore-point": async () => {
    const t = await createTenant();
    const body = { at: new Date(Date.now() - 60_000).toISOString() };
    // Point-in-time recovery is the platform's: locally always 501, and a refusal is not kept.
    return {
      first: { path: `/v1/tenants/${t.id}/restore-point`, token: await adminToken(), body },
      other: { path: "" },
      refused: 501,
    };
  },
  "/v1/tenants/{id}/rotate-key": async () => {
    const t = await createTenant();
    return {
      first: { path: `/v1/tenants/${t.id}/rotate-key`, token: await adminToken(), body: { mode: "rewrap" } },
      other: { path: `/v1/tenants/${t.id}/rotate-key`, body: { mode: "data" } },
      effect: () => adminAudit(t.id, "tenant.key_rotated"),
    };
  },
  "/v1/sweeps": async () => ({
    first: { path: "/v1/sweeps", token: await adminToken(), body: { kind: "billing" } },
    other: { path: "/v1/sweeps", body: { kind: "retention" } },
    effect: async () => count("/v1/sweeps?limit=1000", await adminToken()),
  }),
  "/v1/admin/query": async () => {
    const { t } = await withNote();
    const body = { collection: "notes", aggregate: "count", tenants: [t.id] };
    return {
      first: { path: "/v1/admin/query", token: await adminToken(), body },
      other: { path: "/v1/admin/query", body: { ...body, collection: "other" } },
    };
  },
  "/v1/org/tenants": async () => {
    const root = await createTenant();
    const id = uniqueId("kid");
    const body = { id, name: "Once", owner: { sub: "kim" } };
    return {
      first: { path: "/v1/org/tenants", token: root.ownerToken, body },
      other: { path: "/v1/org/tenants", body: { ...body, name: "Twice" } },
      effect: () => count("/v1/org/tenants", root.ownerToken),
    };
  },
  "/v1/org/tenants/{id}/suspend": async () => {
    const root = await createTenant();
    const kid = await createTenant(uniqueId("kid"), "kim", { parent: root.id });
    return {
      first: { path: `/v1/org/tenants/${kid.id}/suspend`, token: root.ownerToken },
      other: { path: `/v1/org/tenants/${kid.id}/suspend?again=1` },
    };
  },
  "/v1/org/tenants/{id}/resume": async () => {
    const root = await createTenant();
    const kid = await createTenant(uniqueId("kid"), "kim", { parent: root.id });
    await call(`/v1/org/tenants/${kid.id}/suspend`, { method: "POST", token: root.ownerToken });
    return {
      first: { path: `/v1/org/tenants/${kid.id}/resume`, token: root.ownerToken },
      other: { path: `/v1/org/tenants/${kid.id}/resume?again=1` },
    };
  },
  "/v1/org/query": async () => {
    const root = await createTenant();
    await createTenant(uniqueId("kid"), "kim", { parent: root.id });
    const body = { collection: "notes", aggregate: "count" };
    return {
      first: { path: "/v1/org/query", token: root.ownerToken, body },
      other: { path: "/v1/org/query", body: { ...body, collection: "other" } },
    };
  },
  "/v1/collections": async () => {
    const t = await createTenant();
    return {
      first: { path: "/v1/collections", token: t.ownerToken, body: NOTES },
      other: { path: "/v1/collections", body: { ...NOTES, name: "others" } },
      effect: () => count("/v1/collections", t.ownerToken),
    };
  },
  "/v1/collections/{name}/records": async () => {
    const t = await tenantWithNotes();
    return {
      first: { path: "/v1/collections/notes/records", token: t.ownerToken, body: { title: "once" } },
      other: { path: "/v1/collections/notes/records", body: { title: "twice" } },
      effect: () => count("/v1/collections/notes/records", t.ownerToken),
    };
  },
  "/v1/collections/{name}/records:batch": async () => {
    const t = await tenantWithNotes();
    const body = { operations: [{ op: "create", data: { title: "a" } }] };
    return {
      first: { path: "/v1/collections/notes/records:batch", token: t.ownerToken, body },
      other: {
        path: "/v1/collections/notes/records:batch",
        body: { operations: [{ op: "create", data: { title: "b" } }] },
      },
      effect: () => count("/v1/collections/notes/records", t.ownerToken),
    };
  },
  "/v1/collections/{name}/records/{id}/restore": async () => {
    const { t, note } = await withNote();
    const other = await create(t.ownerToken, { title: "second" });
    for (const id of [note.id, other.id]) {
      await call(`/v1/collections/notes/records/${id}`, { method: "DELETE", token: t.ownerToken });
    }
    return {
      first: { path: `/v1/collections/notes/records/${note.id}/restore`, token: t.ownerToken },
      other: { path: `/v1/collections/notes/records/${other.id}/restore` },
      effect: () => count(`/v1/collections/notes/records/${note.id}/history`, t.ownerToken),
    };
  },
  "/v1/collections/{name}/records/{id}/shares": async () => {
    const t = await tenantWithNotes({ ...NOTES, acl: true });
    const note = await create(t.ownerToken, { title: "shared" });
    for (const sub of ["bob", "carol"]) {
      await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles: ["viewer"] } });
    }
    const path = `/v1/collections/notes/records/${note.id}/shares`;
    return {
      first: { path, token: t.ownerToken, body: { principal: "user:bob", permission: "read" } },
      other: { path, body: { principal: "user:carol", permission: "read" } },
      effect: () => count(path, t.ownerToken),
    };
  },
  "/v1/members": async () => {
    const t = await createTenant();
    return {
      first: { path: "/v1/members", token: t.ownerToken, body: { sub: "bob", roles: ["viewer"] } },
      other: { path: "/v1/members", body: { sub: "bob", roles: ["editor"] } },
      effect: () => count("/v1/members", t.ownerToken),
    };
  },
  "/v1/api-keys": async () => {
    const t = await createTenant();
    return {
      first: { path: "/v1/api-keys", token: t.ownerToken, body: { name: "etl", scopes: ["records:read"] } },
      other: { path: "/v1/api-keys", body: { name: "etl", scopes: ["records:write"] } },
      effect: () => count("/v1/api-keys", t.ownerToken),
    };
  },
  "/v1/files/{path}": async () => {
    const t = await createTenant();
    // Starting a multipart upload: a replay answers the first upload id, not a new upload.
    return {
      first: { path: "/v1/files/big/a.bin?uploads", token: t.ownerToken },
      other: { path: "/v1/files/big/b.bin?uploads" },
    };
  },
  "/v1/realtime/tickets": async () => {
    const t = await createTenant();
    // A replay answers the first ticket, not a second one.
    return {
      first: { path: "/v1/realtime/tickets", token: t.ownerToken },
      other: { path: "/v1/realtime/tickets?for=another" },
    };
  },
  "/v1/webhooks": async () => {
    const t = await createTenant();
    return {
      first: { path: "/v1/webhooks", token: t.ownerToken, body: { url: "https://hooks.example/once" } },
      other: { path: "/v1/webhooks", body: { url: "https://hooks.example/twice" } },
      effect: () => count("/v1/webhooks", t.ownerToken),
    };
  },
  "/v1/privacy/erasure": async () => {
    const t = await createTenant();
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "bob", roles: ["viewer"] } });
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "carol", roles: ["viewer"] } });
    return {
      first: { path: "/v1/privacy/erasure", token: t.ownerToken, body: { subject: "bob" } },
      other: { path: "/v1/privacy/erasure", body: { subject: "carol" } },
      effect: () => count("/v1/members", t.ownerToken),
    };
  },
};

describe("Idempotency-Key on every POST", () => {
  it("has a case for every POST route in /openapi.json, each declaring the header and its 409", async () => {
    const doc = await json<{
      paths: Record<string, { post?: { parameters?: { name: string }[]; responses: object } }>;
    }>(await call("/openapi.json"));
    const posts = Object.entries(doc.paths).filter(([, item]) => item.post);
    const paths = posts.map(([path]) => path);
    expect(
      paths.filter((path) => !(path in CASES)),
      "POST routes without a case",
    ).toEqual([]);
    expect(
      Object.keys(CASES).filter((path) => !paths.includes(path)),
      "cases without a route",
    ).toEqual([]);
    for (const [path, item] of posts) {
      expect(
        item.post?.parameters?.map((p) => p.name),
        path,
      ).toContain("Idempotency-Key");
      expect(Object.keys(item.post?.responses ?? {}), path).toContain("409");
    }
  });

  for (const [route, setup] of Object.entries(CASES)) {
    it(`POST ${route}: a retry gets the first answer, another request with the key 409`, async () => {
      const c = await setup();
      const key = crypto.randomUUID();
      const first = await post(c.first.path, c.first.token, key, c.first.body);
      if (c.refused) {
        expect(first.status).toBe(c.refused);
        const again = await post(c.first.path, c.first.token, key, c.first.body);
        expect(again.status).toBe(c.refused);
        expect(again.headers.get("idempotent-replayed")).toBeNull();
        return;
      }
      expect(first.status, await first.clone().text()).toBeLessThan(300);
      const firstBody = await first.text();
      const effect = await c.effect?.();

      const again = await post(c.first.path, c.first.token, key, c.first.body);
      expect(again.status).toBe(first.status);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(await again.text()).toBe(firstBody);
      if (c.effect) expect(await c.effect()).toEqual(effect);

      const other = await post(c.other.path, c.first.token, key, c.other.body);
      expect(other.status).toBe(409);
      expect((await json<{ code: string }>(other)).code).toBe("conflict");
      if (c.effect) expect(await c.effect()).toEqual(effect);
    });
  }
});

describe("Idempotency-Key rules", () => {
  it("never replays one caller's answer to another, and a new key does the work again", async () => {
    const t = await tenantWithNotes();
    const bob = await userToken(t.id, "bob");
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "bob", roles: ["editor"] } });
    const path = "/v1/collections/notes/records";
    const mine = await json<{ id: string }>(await post(path, t.ownerToken, "k", { title: "a" }));
    const bobs = await post(path, bob, "k", { title: "a" });
    expect(bobs.status).toBe(201);
    expect(bobs.headers.get("idempotent-replayed")).toBeNull();
    expect((await json<{ id: string }>(bobs)).id).not.toBe(mine.id);
    const fresh = await json<{ id: string }>(await post(path, t.ownerToken, "k2", { title: "a" }));
    expect(fresh.id).not.toBe(mine.id);
    expect(await count(path, t.ownerToken)).toBe(3);
  });

  it("keeps a first answer sealed: an API key's secret is never stored in the clear", async () => {
    const t = await createTenant();
    const res = await post("/v1/api-keys", t.ownerToken, "key-once", { name: "etl", scopes: ["records:read"] });
    const { key } = await json<{ key: string }>(res);
    // The replayed answer is the first key, and it authenticates.
    const again = await post("/v1/api-keys", t.ownerToken, "key-once", { name: "etl", scopes: ["records:read"] });
    expect((await json<{ key: string }>(again)).key).toBe(key);
    expect((await call("/v1/collections", { token: key })).status).toBe(200);
    const stored = await runInDurableObject(stubOf(t.id), (_i, state) =>
      state.storage.sql.exec<{ body: string }>("SELECT body FROM idempotency_keys").toArray(),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]?.body).toMatch(/^e1\./);
    expect(JSON.stringify(stored)).not.toContain(key.slice(-32));
  });

  it("does not keep a refusal: the retry of a refused request is decided again", async () => {
    const t = await tenantWithNotes();
    const body = { title: "x", rank: "not a number" };
    const refused = await post("/v1/collections/notes/records", t.ownerToken, "k", body);
    expect(refused.status).toBe(400);
    const fixed = await post("/v1/collections/notes/records", t.ownerToken, "k", { title: "x", rank: 1 });
    expect(fixed.status).toBe(201);
  });

  it("answers 409 while the first request is running, and lets an abandoned claim run again", async () => {
    const admin = await adminToken();
    const id = uniqueId();
    const body = { id, name: "Claimed", tier: "basic", owner: { sub: "alice" } };
    const claim = env.CONTROL_DB.prepare(
      "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) SELECT 'admin:root', ?, fingerprint, ? FROM idempotency_keys WHERE key = 'probe'",
    );
    // The fingerprint of this request, learnt from a completed probe of the same request.
    await post("/v1/tenants", admin, "probe", body);
    await call(`/v1/tenants/${id}`, { method: "DELETE", token: admin });
    await claim.bind("running", new Date().toISOString()).run();
    const running = await post("/v1/tenants", admin, "running", body);
    expect(running.status).toBe(409);
    expect(running.headers.get("retry-after")).toBe("1");
    await claim.bind("abandoned", new Date(Date.now() - 120_000).toISOString()).run();
    const taken = await post("/v1/tenants", admin, "abandoned", body);
    // The request ran again (the tenant exists, so creating it again is a conflict of its own).
    expect(taken.status).toBe(409);
    expect((await json<{ detail: string }>(taken)).detail).not.toMatch(/Idempotency-Key/);
  });

  it("refuses a malformed key", async () => {
    const t = await tenantWithNotes();
    const res = await post("/v1/collections/notes/records", t.ownerToken, "x".repeat(201), { title: "a" });
    expect(res.status).toBe(400);
    expect((await json<{ field: string }>(res)).field).toBe("Idempotency-Key");
  });
});
