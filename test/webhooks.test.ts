// Webhooks (DESIGN §10): signed deliveries from the object's outbox, retried with backoff until
// the receiver takes them, given up after 24 h; only public https endpoints; each endpoint gets
// what its registrant may read.

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { urlProblem } from "../durable-objects/changes/webhooks";
import { create, NOTES, tenantWithNotes } from "./data-helpers";
import { adminToken, call, json, userToken } from "./helpers";

interface Received {
  url: string;
  headers: Headers;
  body: string;
}

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
const original = globalThis.fetch;

/** A receiver at https://hooks.example/: answers `status()` and records what it got. */
function receiver(status: () => number) {
  const got: Received[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.startsWith("https://hooks.example/")) return original(input, init);
    got.push({ url, headers: new Headers(init?.headers), body: String(init?.body) });
    return new Response(null, { status: status() });
  });
  return got;
}

async function register(token: string, body: Record<string, unknown>) {
  const res = await call("/v1/webhooks", { method: "POST", token, body });
  return { res, hook: res.status === 201 ? await json<{ id: string; secret: string }>(res) : null };
}

interface Delivery {
  seq: number;
  status: string;
  attempts: number;
  lastStatus: number | null;
}
const deliveries = async (token: string, id: string) =>
  (await json<{ items: Delivery[] }>(await call(`/v1/webhooks/${id}/deliveries`, { token }))).items;

/** Lets the outbox's alarm run (as the runtime would, at once). */
const tick = (tenant: string) => runDurableObjectAlarm(stubOf(tenant));

/** Makes every pending delivery due now, as if its backoff had passed, optionally `ageMs` old. */
const makeDue = (tenant: string, ageMs = 0) =>
  runInDurableObject(stubOf(tenant), (_i, state) => {
    const now = Date.now();
    state.storage.sql.exec(
      "UPDATE webhook_deliveries SET next_at = ?, created_at = ? WHERE status = 'pending'",
      new Date(now - 1000).toISOString(),
      new Date(now - ageMs).toISOString(),
    );
    state.storage.setAlarm(now);
  });

afterEach(() => vi.restoreAllMocks());

describe("webhooks", () => {
  it("delivers each event signed, with an event id the receiver can verify", async () => {
    const got = receiver(() => 204);
    const t = await tenantWithNotes();
    const { res, hook } = await register(t.ownerToken, { url: "https://hooks.example/a", events: ["record.created"] });
    expect(res.status).toBe(201);
    expect(hook?.secret).toMatch(/^whsec_/);
    // The secret is shown once: never in the listing.
    expect(JSON.stringify(await json(await call("/v1/webhooks", { token: t.ownerToken })))).not.toContain("whsec_");
    const note = await create(t.ownerToken, { title: "hello" });
    await call(`/v1/collections/notes/records/${note.id}`, {
      method: "PATCH",
      token: t.ownerToken,
      body: { title: "x" },
    });
    await vi.waitFor(async () => {
      await tick(t.id);
      expect(got).toHaveLength(1);
    });
    const [r] = got as [Received];
    const event = JSON.parse(r.body);
    expect(event).toMatchObject({ type: "record.created", id: note.id, record: { title: "hello" } });
    const [, ts, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(r.headers.get("silo-signature") ?? "") ?? [];
    expect(v1).toBe(
      createHmac("sha256", hook?.secret as string)
        .update(`${ts}.${r.body}`)
        .digest("hex"),
    );
    expect(createHmac("sha256", "another secret").update(`${ts}.${r.body}`).digest("hex")).not.toBe(v1);
    expect(r.headers.get("silo-event-id")).toBe(`${hook?.id}:${event.seq}`);
    const listed = await deliveries(t.ownerToken, hook?.id as string);
    expect(listed).toMatchObject([{ seq: event.seq, status: "delivered", attempts: 1, lastStatus: 204 }]);
    const me = await json<{ usage: Record<string, number> }>(await call("/v1/me", { token: t.ownerToken }));
    expect(me.usage.webhookDeliveries).toBe(1);
  });

  it("retries a failing receiver until it takes the event, and gives up after 24 h", async () => {
    let status = 500;
    const got = receiver(() => status);
    const t = await tenantWithNotes();
    const { hook } = await register(t.ownerToken, { url: "https://hooks.example/b" });
    const id = hook?.id as string;
    await create(t.ownerToken, { title: "one" });
    await vi.waitFor(async () => {
      await tick(t.id);
      expect(got).toHaveLength(1);
    });
    expect(await deliveries(t.ownerToken, id)).toMatchObject([{ status: "pending", attempts: 1, lastStatus: 500 }]);
    // Not due yet: the next alarm sends nothing.
    await tick(t.id);
    expect(got).toHaveLength(1);
    await makeDue(t.id);
    await tick(t.id);
    expect(got).toHaveLength(2);
    status = 200;
    await makeDue(t.id);
    await tick(t.id);
    expect(got).toHaveLength(3);
    expect(got[2]?.headers.get("silo-event-id")).toBe(got[0]?.headers.get("silo-event-id"));
    expect(await deliveries(t.ownerToken, id)).toMatchObject([{ status: "delivered", attempts: 3, lastStatus: 200 }]);

    status = 503;
    await create(t.ownerToken, { title: "two" });
    await vi.waitFor(async () => {
      await tick(t.id);
      expect(got).toHaveLength(4);
    });
    await makeDue(t.id, 25 * 3600 * 1000);
    await tick(t.id);
    expect((await deliveries(t.ownerToken, id))[0]).toMatchObject({ status: "failed", attempts: 2, lastStatus: 503 });
    await tick(t.id);
    expect(got).toHaveLength(5);
  });

  it("sends an endpoint only what its registrant may read", async () => {
    const got = receiver(() => 200);
    const t = await tenantWithNotes({ ...NOTES, acl: true });
    await call("/v1/roles/hooks", {
      method: "PUT",
      token: t.ownerToken,
      body: { permissions: ["records:read", "settings:manage"], clearance: "internal" },
    });
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "ops", roles: ["hooks"] } });
    const { hook } = await register(await userToken(t.id, "ops"), { url: "https://hooks.example/c" });
    expect(hook).not.toBeNull();
    await create(t.ownerToken, { title: "private", visibility: "private" });
    const shown = await create(t.ownerToken, { title: "public", visibility: "public", email: "ann@example.com" });
    await vi.waitFor(async () => {
      await tick(t.id);
      expect(got.length).toBeGreaterThanOrEqual(1);
    });
    await tick(t.id);
    expect(got.map((r) => JSON.parse(r.body).id)).toEqual([shown.id]);
    expect(JSON.parse(got[0]?.body as string).record.email).toBe("a***@example.com");
  });

  it("refuses plain http and private, loopback and link-local addresses", async () => {
    const t = await tenantWithNotes();
    for (const url of [
      "http://hooks.example/a",
      "https://127.0.0.1/a",
      "https://localhost/a",
      "https://10.1.2.3/a",
      "https://172.20.0.1/a",
      "https://192.168.1.1/a",
      "https://169.254.169.254/latest",
      "https://[::1]/a",
      "https://[fd00::1]/a",
      "https://2130706433/a",
      "https://user:pw@hooks.example/a",
      "not a url",
    ]) {
      const { res } = await register(t.ownerToken, { url });
      expect(res.status, url).toBe(400);
    }
    expect(urlProblem("http://127.0.0.1:9000/hook", true)).toBeNull();
    expect(urlProblem("http://localhost:9000/hook", true)).toBeNull();
    expect(urlProblem("http://10.0.0.1/hook", true)).not.toBeNull();
    expect(urlProblem("https://hooks.example/a", false)).toBeNull();
  });

  it("needs settings:manage, keeps to ten endpoints, and deletes with its outbox", async () => {
    receiver(() => 200);
    const t = await tenantWithNotes();
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "ed", roles: ["editor"] } });
    expect((await register(await userToken(t.id, "ed"), { url: "https://hooks.example/e" })).res.status).toBe(403);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push((await register(t.ownerToken, { url: `https://hooks.example/${i}` })).hook?.id as string);
    expect((await register(t.ownerToken, { url: "https://hooks.example/11" })).res.status).toBe(409);
    expect((await call(`/v1/webhooks/${ids[0]}`, { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    expect((await call(`/v1/webhooks/${ids[0]}`, { token: t.ownerToken })).status).toBe(404);
    expect((await register(t.ownerToken, { url: "https://hooks.example/11" })).res.status).toBe(201);
  });

  it("sends nothing queued for a registrant who lost access before the receiver came back", async () => {
    let status = 500;
    const got = receiver(() => status);
    const t = await tenantWithNotes();
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "ops", roles: ["admin"] } });
    const { hook } = await register(await userToken(t.id, "ops"), { url: "https://hooks.example/d" });
    const id = hook?.id as string;
    await create(t.ownerToken, { title: "one", email: "ann@example.com" });
    await vi.waitFor(async () => {
      await tick(t.id);
      expect(got).toHaveLength(1);
    });
    expect(JSON.parse(got[0]?.body as string).record.email).toBe("ann@example.com");
    expect((await call("/v1/members/ops", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    status = 200;
    await makeDue(t.id);
    await tick(t.id);
    expect(got).toHaveLength(1);
    expect(await deliveries(t.ownerToken, id)).toMatchObject([
      { status: "failed", lastError: expect.stringMatching(/no longer has access/) },
    ]);
  });

  it("builds each attempt's body anew: a value erased while the receiver was down is never sent", async () => {
    let status = 500;
    const got = receiver(() => status);
    const t = await tenantWithNotes();
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "bob", roles: ["editor"] } });
    await register(t.ownerToken, { url: "https://hooks.example/e" });
    await create(await userToken(t.id, "bob"), { title: "cv", email: "bob@example.com" });
    await vi.waitFor(async () => {
      await tick(t.id);
      expect(got.length).toBeGreaterThanOrEqual(1);
    });
    expect(got.map((r) => r.body).join()).toContain("bob@example.com");
    const erased = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: "bob" } });
    expect(erased.status).toBe(200);
    status = 200;
    const before = got.length;
    await makeDue(t.id);
    await tick(t.id);
    const retried = got.slice(before);
    expect(retried.map((r) => JSON.parse(r.body).type)).toContain("record.created");
    expect(retried.map((r) => r.body).join()).not.toContain("bob@example.com");
  });

  it("refuses a platform admin's registration: its access is checked by its request alone", async () => {
    receiver(() => 200);
    const t = await tenantWithNotes();
    const res = await call("/v1/webhooks", {
      method: "POST",
      token: await adminToken(),
      headers: { "x-silo-tenant": t.id, "x-silo-reason": "support ticket 42" },
      body: { url: "https://hooks.example/f" },
    });
    expect(res.status).toBe(403);
    expect((await call("/v1/webhooks", { token: t.ownerToken })).status).toBe(200);
    const listed = await json<{ items: unknown[] }>(await call("/v1/webhooks", { token: t.ownerToken }));
    expect(listed.items).toEqual([]);
  });

  it("audits every registration and removal, never the secret", async () => {
    receiver(() => 200);
    const t = await tenantWithNotes();
    const { hook } = await register(t.ownerToken, { url: "https://hooks.example/audited", events: ["record.created"] });
    const id = hook?.id as string;
    expect((await call(`/v1/webhooks/${id}`, { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    const audit = await json<{ items: { action: string; actor: string; resource: string; details: unknown }[] }>(
      await call("/v1/audit?limit=1000", { token: t.ownerToken }),
    );
    const events = audit.items.filter((e) => e.action.startsWith("webhook."));
    expect(events.map((e) => [e.action, e.resource, e.actor])).toEqual([
      ["webhook.create", `webhook:${id}`, `user:${t.owner}`],
      ["webhook.delete", `webhook:${id}`, `user:${t.owner}`],
    ]);
    expect(events[0]?.details).toMatchObject({ url: "https://hooks.example/audited", events: ["record.created"] });
    expect(JSON.stringify(audit)).not.toContain(hook?.secret as string);
  });
});
