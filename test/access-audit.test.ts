// Access audit: every event carries the request's ip and user agent (and they are hashed, so
// they cannot be altered); reads of auditReads collections and files, export downloads and
// refused credentials naming a tenant land in its trail, buffered; other reads write nothing.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { resetRefusedNotes } from "../src/auth/refused-token";
import { create, NOTES, tenantWithNotes } from "./data-helpers";
import { adminToken, call, callRaw, createTenant, json } from "./helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
const ORIGIN = { "cf-connecting-ip": "203.0.113.7", "user-agent": "SiloTest/1.0 (audit)" };

interface Event {
  seq: number;
  actor: string;
  action: string;
  resource: string;
  success: boolean;
  details: Record<string, unknown>;
  ip?: string | null;
  userAgent?: string | null;
}

async function events(token: string, action?: string): Promise<Event[]> {
  const res = await call(`/v1/audit${action ? `?action=${action}` : ""}`, { token });
  expect(res.status).toBe(200);
  return (await json<{ items: Event[] }>(res)).items;
}

async function verified(token: string) {
  return json<{ ok: boolean; count: number }>(await call("/v1/audit/verify", { token }));
}

describe("access audit", () => {
  it("records the caller's ip and user agent on events, hashed: altering them breaks the chain", async () => {
    const t = await tenantWithNotes();
    const res = await call("/v1/collections/notes/records", {
      method: "POST",
      token: t.ownerToken,
      headers: ORIGIN,
      body: { title: "a" },
    });
    expect(res.status).toBe(201);
    const [created] = await events(t.ownerToken, "record.create");
    expect(created).toMatchObject({ ip: "203.0.113.7", userAgent: "SiloTest/1.0 (audit)" });
    // Events written before (tenant and collection creation, no such headers) carry none.
    const all = await events(t.ownerToken);
    expect(all.find((e) => e.action === "collection.create")?.ip ?? null).toBeNull();
    expect(await verified(t.ownerToken)).toMatchObject({ ok: true });

    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec("UPDATE audit_events SET ip = '198.51.100.1' WHERE seq = ?", created?.seq);
    });
    expect(await verified(t.ownerToken)).toMatchObject({ ok: false });
  });

  it("keeps old events (written without ip columns) verifying beside new ones", async () => {
    const t = await tenantWithNotes();
    // An event as the chain stored them before ip and userAgent existed: hash over the old content.
    await runInDurableObject(stubOf(t.id), async (_i, state) => {
      const { eventHash } = await import("../durable-objects/audit/audit-chain");
      const last = state.storage.sql
        .exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        .one();
      const event = {
        seq: last.seq + 1,
        at: new Date().toISOString(),
        actor: "user:legacy",
        action: "legacy.event",
        resource: "tenant",
        success: true,
        details: { n: 1 },
      };
      state.storage.sql.exec(
        "INSERT INTO audit_events (seq, at, actor, action, resource, success, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
        event.seq,
        event.at,
        event.actor,
        event.action,
        event.resource,
        JSON.stringify(event.details),
        last.hash,
        eventHash(last.hash, event),
      );
    });
    await call("/v1/collections/notes/records", {
      method: "POST",
      token: t.ownerToken,
      headers: ORIGIN,
      body: { title: "b" },
    });
    const v = await verified(t.ownerToken);
    expect(v.ok).toBe(true);
    expect((await events(t.ownerToken, "record.create"))[0]?.ip).toBe("203.0.113.7");
  });

  it("audits reads of an auditReads collection (get, list), buffered, and nothing for other collections", async () => {
    const t = await tenantWithNotes({ ...NOTES, auditReads: true });
    const plain = await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "plain", fields: [{ name: "title", type: "string" }] },
    });
    expect(plain.status).toBe(201);
    const rec = await create(t.ownerToken, { title: "secret" });
    const other = await create(t.ownerToken, { title: "open" }, "plain");
    const get = await call(`/v1/collections/notes/records/${rec.id}`, { token: t.ownerToken, headers: ORIGIN });
    expect(get.status).toBe(200);
    expect((await call("/v1/collections/notes/records", { token: t.ownerToken })).status).toBe(200);
    expect((await call(`/v1/collections/plain/records/${other.id}`, { token: t.ownerToken })).status).toBe(200);
    expect((await call("/v1/collections/plain/records", { token: t.ownerToken })).status).toBe(200);

    // Buffered: nothing is written by the reads themselves.
    const stored = await runInDurableObject(
      stubOf(t.id),
      (_i, state) =>
        state.storage.sql
          .exec<{ n: number }>("SELECT count(*) AS n FROM audit_events WHERE action = 'record.read'")
          .one().n,
    );
    expect(stored).toBe(0);

    const reads = await events(t.ownerToken, "record.read");
    expect(reads.map((e) => e.resource)).toEqual([`record:notes/${rec.id}`, "collection:notes"]);
    expect(reads[0]).toMatchObject({ actor: `user:${t.owner}`, ip: "203.0.113.7", userAgent: ORIGIN["user-agent"] });
    expect(reads[1]?.details.ids).toEqual([rec.id]);
    expect(reads.some((e) => e.resource.includes("plain"))).toBe(false);
    expect(await verified(t.ownerToken)).toMatchObject({ ok: true });
  });

  it("turns auditReads on by PATCH; reads before it were not audited", async () => {
    const t = await tenantWithNotes();
    const rec = await create(t.ownerToken, { title: "x" });
    await call(`/v1/collections/notes/records/${rec.id}`, { token: t.ownerToken });
    const patched = await call("/v1/collections/notes", {
      method: "PATCH",
      token: t.ownerToken,
      body: { auditReads: true },
    });
    expect(patched.status).toBe(200);
    expect((await json<{ auditReads?: boolean }>(patched)).auditReads).toBe(true);
    await call(`/v1/collections/notes/records/${rec.id}`, { token: t.ownerToken });
    expect((await events(t.ownerToken, "record.read")).length).toBe(1);
  });

  it("audits downloads of files uploaded with X-Silo-Audit-Reads, not of others", async () => {
    const t = await createTenant();
    const up = (path: string, headers: Record<string, string> = {}) =>
      callRaw(`/v1/files/${path}`, {
        method: "PUT",
        token: t.ownerToken,
        body: "hello",
        headers: { "content-type": "text/plain", ...headers },
      });
    const marked = await up("contracts/a.txt", { "x-silo-audit-reads": "true" });
    expect(marked.status).toBe(201);
    expect((await json<{ auditReads: boolean }>(marked)).auditReads).toBe(true);
    expect((await up("public/b.txt")).status).toBe(201);
    const dl = await callRaw("/v1/files/contracts/a.txt", { token: t.ownerToken, headers: ORIGIN });
    expect(dl.status).toBe(200);
    expect(await dl.text()).toBe("hello");
    expect((await callRaw("/v1/files/public/b.txt", { token: t.ownerToken })).status).toBe(200);
    const downloads = await events(t.ownerToken, "file.downloaded");
    expect(downloads.map((e) => e.resource)).toEqual(["file:contracts/a.txt"]);
    expect(downloads[0]).toMatchObject({ ip: "203.0.113.7", userAgent: ORIGIN["user-agent"] });
    // Replaced without the header, the file stays audited (sticky).
    expect((await up("contracts/a.txt")).status).toBe(201);
    await callRaw("/v1/files/contracts/a.txt", { token: t.ownerToken });
    expect((await events(t.ownerToken, "file.downloaded")).length).toBe(2);
  });

  it("puts a refused API key (right tenant prefix, wrong secret) on the tenant's trail, capped per flush", async () => {
    const t = await createTenant();
    const made = await call("/v1/api-keys", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "ci", scopes: ["records:read"] },
    });
    expect(made.status).toBe(201);
    const { key } = await json<{ key: string }>(made);
    const forged = `${key.slice(0, -4)}${key.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    for (let i = 0; i < 25; i++) {
      const res = await call("/v1/collections", { token: forged, headers: ORIGIN });
      expect(res.status).toBe(401);
    }
    const refused = await events(t.ownerToken, "auth.refused");
    expect(refused.length).toBe(21); // 20 one by one, then one summary of the rest
    expect(refused[0]).toMatchObject({ success: false, ip: "203.0.113.7", userAgent: ORIGIN["user-agent"] });
    expect(refused[20]?.details.suppressed).toBe(5);
    expect(await verified(t.ownerToken)).toMatchObject({ ok: true });
  });

  it("puts a JWT signed with a wrong key but naming the tenant on that tenant's trail", async () => {
    resetRefusedNotes();
    const t = await createTenant();
    const forged = await new SignJWT({ tenant_id: t.id })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("mallory")
      .setIssuer(env.AUTH_ISSUER ?? "")
      .setAudience(env.AUTH_AUDIENCE ?? "")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode("not-the-secret-not-the-secret-00"));
    expect((await call("/v1/collections", { token: forged, headers: ORIGIN })).status).toBe(401);
    let refused: Event[] = [];
    for (let i = 0; i < 20 && refused.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      refused = await events(t.ownerToken, "auth.refused");
    }
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ actor: "anonymous", ip: "203.0.113.7", success: false });
    expect(refused[0]?.details.claimedSub).toBe("mallory");
    // Another tenant's trail holds nothing of it.
    const other = await createTenant();
    expect(await events(other.ownerToken, "auth.refused")).toEqual([]);
  });

  it("audits export downloads in the tenant's trail", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "x" });
    const admin = await adminToken();
    const started = await call(`/v1/tenants/${t.id}/export`, { method: "POST", token: admin, body: {} });
    expect(started.status).toBe(202);
    const job = await json<{ id: string }>(started);
    let status = "";
    for (let i = 0; i < 50 && status !== "completed"; i++) {
      await runInDurableObject(stubOf(t.id), (instance) => instance.alarm());
      status = (await json<{ status: string }>(await call(`/v1/tenants/${t.id}/exports/${job.id}`, { token: admin })))
        .status;
    }
    expect(status).toBe("completed");
    const dl = await call(`/v1/tenants/${t.id}/exports/${job.id}/download`, { token: admin, headers: ORIGIN });
    expect(dl.status).toBe(200);
    await dl.arrayBuffer();
    const downloads = await events(t.ownerToken, "export.downloaded");
    expect(downloads).toHaveLength(1);
    expect(downloads[0]).toMatchObject({ actor: "admin:root", resource: `export:${job.id}`, ip: "203.0.113.7" });
  });
});
