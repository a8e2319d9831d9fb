// Live changes over WebSockets (DESIGN §10): replay after `since` then live, in order and each
// once, across reconnects; the reader's own rules on every event; tickets single use; a
// subscriber whose access is withdrawn closed with 4403.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { create, NOTES, tenantWithNotes } from "./data-helpers";
import { adminToken, call, createTenant, json, userToken } from "./helpers";

interface Message {
  type: string;
  event?: string;
  seq?: number;
  id?: string;
  record?: Record<string, unknown>;
  code?: string;
}

async function open(path: string, token?: string) {
  const res = await call(path, { token, headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket as WebSocket;
  ws.accept();
  const inbox: Message[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.addEventListener("message", (e) => inbox.push(JSON.parse(String(e.data))));
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  return {
    ws,
    inbox,
    changes: () => inbox.filter((m) => m.type === "change"),
    closed: () => closed,
    subscribe: (since: number | null, collection: string | null = null) =>
      ws.send(JSON.stringify({ type: "subscribe", since, collection })),
    until: (test: () => boolean) =>
      vi.waitFor(
        () => {
          if (!test()) throw new Error(`waiting; got ${JSON.stringify(inbox)} closed=${JSON.stringify(closed)}`);
        },
        { timeout: 5000, interval: 20 },
      ),
  };
}

const subscribed = (s: { inbox: Message[] }) => s.inbox.some((m) => m.type === "subscribed");
const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

describe("realtime: replay then live", () => {
  it("sends what was missed after since, then live events, in order and each once, from any point", async () => {
    const t = await tenantWithNotes();
    for (let i = 0; i < 4; i++) await create(t.ownerToken, { title: `n${i}` });
    const all = await json<{ items: { seq: number }[] }>(await call("/v1/changes?since=0", { token: t.ownerToken }));
    const seqs = all.items.map((e) => e.seq);
    // Reconnects from every point of the log: exactly the events after it, then live ones.
    for (const since of [0, ...seqs]) {
      const s = await open("/v1/realtime", t.ownerToken);
      s.subscribe(since);
      await s.until(() => subscribed(s));
      expect(s.changes().map((m) => m.seq)).toEqual(seqs.filter((q) => q > since));
      s.ws.close();
    }
    const live = await open("/v1/realtime", t.ownerToken);
    live.subscribe(seqs.at(-1) as number);
    await live.until(() => subscribed(live));
    const later = [await create(t.ownerToken, { title: "live 1" }), await create(t.ownerToken, { title: "live 2" })];
    await live.until(() => live.changes().length === 2);
    expect(live.changes().map((m) => m.id)).toEqual(later.map((r) => r.id));
    expect(live.changes().map((m) => m.event)).toEqual(["record.created", "record.created"]);
    const got = live.changes().map((m) => m.seq as number);
    expect(got[1]).toBe((got[0] as number) + 1);
    expect(got[0]).toBe((seqs.at(-1) as number) + 1);
    // since null: live only, from now.
    const fresh = await open("/v1/realtime", t.ownerToken);
    fresh.subscribe(null);
    await fresh.until(() => subscribed(fresh));
    expect(fresh.changes()).toEqual([]);
    await create(t.ownerToken, { title: "after" });
    await fresh.until(() => fresh.changes().length === 1);
    live.ws.close();
    fresh.ws.close();
  });

  it("filters by collection, and never sends another tenant's events", async () => {
    const a = await tenantWithNotes();
    const b = await tenantWithNotes();
    await call("/v1/collections", { method: "POST", token: a.ownerToken, body: { ...NOTES, name: "other" } });
    const s = await open("/v1/realtime", a.ownerToken);
    s.subscribe(null, "notes");
    await s.until(() => subscribed(s));
    await create(b.ownerToken, { title: "b's" });
    await create(a.ownerToken, { title: "a's other" }, "other");
    const mine = await create(a.ownerToken, { title: "a's note" });
    await s.until(() => s.changes().length >= 1);
    expect(s.changes().map((m) => m.id)).toEqual([mine.id]);
    s.ws.close();
  });

  it("applies the reader's rules: no event of a record it may not read, pii masked", async () => {
    const t = await tenantWithNotes({ ...NOTES, acl: true });
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "vic", roles: ["viewer"] } });
    const viewer = await open("/v1/realtime", await userToken(t.id, "vic"));
    viewer.subscribe(null);
    await viewer.until(() => subscribed(viewer));
    await create(t.ownerToken, { title: "secret", visibility: "private", email: "ann@example.com" });
    const open_ = await create(t.ownerToken, { title: "open", visibility: "public", email: "ann@example.com" });
    await viewer.until(() => viewer.changes().length >= 1);
    // One more write to be sure nothing else was queued before it.
    const last = await create(t.ownerToken, { title: "last", visibility: "public" });
    await viewer.until(() => viewer.changes().some((m) => m.id === last.id));
    expect(viewer.changes().map((m) => m.id)).toEqual([open_.id, last.id]);
    expect(viewer.changes()[0]?.record?.email).toBe("a***@example.com");
    expect(JSON.stringify(viewer.inbox)).not.toContain("secret");
    viewer.ws.close();
  });
});

describe("realtime: credentials and withdrawal", () => {
  it("takes a single-use ticket instead of a header, for browsers", async () => {
    const t = await tenantWithNotes();
    const res = await call("/v1/realtime/tickets", { method: "POST", token: t.ownerToken });
    expect(res.status).toBe(201);
    const { ticket } = await json<{ ticket: string }>(res);
    const s = await open(`/v1/realtime?ticket=${ticket}`);
    s.subscribe(null);
    await s.until(() => subscribed(s));
    await create(t.ownerToken, { title: "via ticket" });
    await s.until(() => s.changes().length === 1);
    s.ws.close();
    // Used once: never again, and never at another tenant.
    const again = await call(`/v1/realtime?ticket=${ticket}`, { headers: { upgrade: "websocket" } });
    expect(again.status).toBe(401);
    const other = await createTenant();
    const elsewhere = ticket.replace(t.id, other.id);
    expect((await call(`/v1/realtime?ticket=${elsewhere}`, { headers: { upgrade: "websocket" } })).status).toBe(401);
    expect((await call("/v1/realtime?ticket=nonsense", { headers: { upgrade: "websocket" } })).status).toBe(401);
  });

  it("refuses a request that is no upgrade, and a caller who may not read", async () => {
    const t = await tenantWithNotes();
    expect((await call("/v1/realtime", { token: t.ownerToken })).status).toBe(400);
    const stranger = await userToken(t.id, "nobody");
    expect((await call("/v1/realtime", { token: stranger, headers: { upgrade: "websocket" } })).status).toBe(403);
    expect((await call("/v1/realtime", { headers: { upgrade: "websocket" } })).status).toBe(401);
  });

  it("closes a subscriber with 4403 when its membership is removed or the tenant suspended", async () => {
    const t = await tenantWithNotes();
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "bob", roles: ["editor"] } });
    const bob = await open("/v1/realtime", await userToken(t.id, "bob"));
    bob.subscribe(null);
    const owner = await open("/v1/realtime", t.ownerToken);
    owner.subscribe(null);
    await bob.until(() => subscribed(bob));
    await owner.until(() => subscribed(owner));
    await call("/v1/members/bob", { method: "DELETE", token: t.ownerToken });
    await bob.until(() => bob.closed()?.code === 4403);
    expect(owner.closed()).toBeNull();
    await call(`/v1/tenants/${t.id}/suspend`, { method: "POST", token: await adminToken() });
    await owner.until(() => owner.closed()?.code === 4403);
  });

  it("closes a removed member under autoJoinRole, never joining them again for the socket", async () => {
    const t = await tenantWithNotes();
    const put = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { settings: { autoJoinRole: "viewer" } },
    });
    expect(put.status).toBe(200);
    const bobToken = await userToken(t.id, "bob");
    expect((await call("/v1/me", { token: bobToken })).status).toBe(200); // joins as a viewer
    const bob = await open("/v1/realtime", bobToken);
    bob.subscribe(null);
    await bob.until(() => subscribed(bob));
    expect((await call("/v1/members/bob", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    await bob.until(() => bob.closed()?.code === 4403);
    const members = await json<{ items: { sub: string }[] }>(await call("/v1/members", { token: t.ownerToken }));
    expect(members.items.map((m) => m.sub)).toEqual([t.owner]);
  });

  it("refuses a platform admin's socket and ticket: its access is checked by its request alone", async () => {
    const t = await tenantWithNotes();
    const headers = { "x-silo-tenant": t.id, "x-silo-reason": "support ticket 42" };
    const token = await adminToken();
    const socket = await call("/v1/realtime", { token, headers: { ...headers, upgrade: "websocket" } });
    expect(socket.status).toBe(403);
    const ticket = await call("/v1/realtime/tickets", { method: "POST", token, headers });
    expect(ticket.status).toBe(403);
  });

  it("closes with 4410 a subscriber whose since is older than the kept log", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "a" });
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('changes_trimmed', '5')");
    });
    const s = await open("/v1/realtime", t.ownerToken);
    s.subscribe(2);
    await s.until(() => s.closed()?.code === 4410);
    expect(s.inbox[0]).toMatchObject({ type: "error", code: "changes_expired" });
  });
});
