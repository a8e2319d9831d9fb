// The audit trail outlives the data: a hard delete archives the tenant's chain outside its prefix
// first, GET /v1/tenants/{id}/audit-logs (and /verify) answer from the archive afterwards, and the
// archive's retention trims leave a signed checkpoint the rest verifies from.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { archiveAuditChain } from "../durable-objects/audit/audit-archiving";
import { appendAudit } from "../durable-objects/audit/audit-chain";
import type { AuditEvent } from "../durable-objects/contract/audit";
import { auditArchive, trimAuditArchive, verifyArchivedAudit } from "../durable-objects/storage/audit-archive";
import type { TenantDatabase } from "../durable-objects/tenant-database";
import { hardDeleteTenant } from "../src/control/tenant-deletion";
import { getTenant } from "../src/control/tenant-service";
import { TENANT_TASKS } from "../src/sweeps/tenant-tasks";
import { create, NOTES, tenantWithNotes } from "./data-helpers";
import { adminToken, call, json } from "./helpers";

const DAY = 86_400_000;
const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

interface Logs {
  items: AuditEvent[];
  nextCursor: string | null;
  adminEvents: unknown[];
}

const logs = async (id: string, query = "") =>
  json<Logs>(await call(`/v1/tenants/${id}/audit-logs${query}`, { token: await adminToken() }));
const verify = async (id: string) =>
  json<{ ok: boolean; count: number; brokenAt?: number }>(
    await call(`/v1/tenants/${id}/audit-logs/verify`, { token: await adminToken() }),
  );

/** A tenant with some history, cancelled and hard-deleted; its live events just before the wipe. */
async function deletedTenant() {
  const t = await tenantWithNotes();
  const r = await create(t.ownerToken, { title: "secret-title-4711", email: "carol@example.com" });
  await call(`/v1/collections/notes/records/${r.id}`, {
    method: "PATCH",
    token: t.ownerToken,
    body: { title: "secret-title-4712" },
  });
  await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "dave", roles: ["viewer"] } });
  await call(`/v1/tenants/${t.id}`, { method: "DELETE", token: await adminToken() });
  const live = await logs(t.id, "?limit=1000");
  const deleted = await hardDeleteTenant(env, await getTenant(env, t.id));
  expect(deleted.complete).toBe(true);
  return { ...t, live: live.items };
}

describe("audit archive at hard delete", () => {
  it("keeps a deleted tenant's chain outside its prefix, listed as before and verified", async () => {
    const t = await deletedTenant();
    expect((await env.FILES.list({ prefix: `tenant-${t.id}/` })).objects).toEqual([]);
    const archived = await env.FILES.list({ prefix: `_audit-archive/${t.id}/` });
    expect(archived.objects.map((o) => o.key)).toContain(`_audit-archive/${t.id}/manifest.json`);
    let raw = "";
    for (const o of archived.objects) raw += await (await env.FILES.get(o.key))?.text();
    expect(raw).not.toContain("secret-title");
    expect(raw).not.toContain("carol@");

    const page = await logs(t.id, "?limit=1000");
    expect(page.items).toEqual(t.live);
    expect(page.items.map((e) => e.action)).toEqual(expect.arrayContaining(["record.create", "member.add"]));
    expect(await verify(t.id)).toEqual({ ok: true, count: t.live.length });

    // Paging and filters work as on the live trail.
    const first = await logs(t.id, "?limit=2");
    expect(first.items).toEqual(t.live.slice(0, 2));
    const second = await logs(t.id, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.items).toEqual(t.live.slice(2, 4));
    expect((await logs(t.id, "?action=record.update")).items.map((e) => e.resource)).toHaveLength(1);
    expect((await call(`/v1/tenants/${t.id}/audit-logs?limit=0`, { token: await adminToken() })).status).toBe(400);
    // The tenant's own users are gone with it; nobody but a platform admin reads the archive.
    expect((await call(`/v1/tenants/${t.id}/audit-logs/verify`, { token: t.ownerToken })).status).toBe(403);
  });

  it("finds an archived event changed after the fact", async () => {
    const t = await deletedTenant();
    const manifest = await auditArchive(env.FILES, t.id).manifest();
    const part = manifest?.parts[0];
    if (!part) throw new Error("no part");
    const key = `_audit-archive/${t.id}/${part.name}`;
    const text = (await (await env.FILES.get(key))?.text()) ?? "";
    const target = t.live[2] as AuditEvent;
    const forged = text
      .split("\n")
      .map((line) =>
        line.includes(`"seq":${target.seq},`) ? line.replace(/"actor":"[^"]*"/, '"actor":"user:mallory"') : line,
      )
      .join("\n");
    await env.FILES.put(key, forged);
    expect(await verify(t.id)).toMatchObject({ ok: false, brokenAt: target.seq });
  });

  it("archives again when the chain grew after an earlier archive, and is idempotent", async () => {
    const t = await tenantWithNotes();
    const first = await stubOf(t.id).archiveAudit();
    expect(first.ok && first.value.complete).toBe(true);
    const again = await stubOf(t.id).archiveAudit();
    expect(again).toMatchObject({ ok: true, value: { complete: true, events: first.ok ? first.value.events : -1 } });
    await create(t.ownerToken, { title: "later" });
    const grown = await stubOf(t.id).archiveAudit();
    expect(grown.ok && first.ok && grown.value.events).toBe(first.ok ? first.value.events + 1 : -1);
    const manifest = await auditArchive(env.FILES, t.id).manifest();
    const live = await logs(t.id, "?limit=1000");
    expect(manifest?.head?.hash).toBe(live.items.at(-1)?.hash);
  });

  it("archives what the chain gained after the deletion's archive, buffered reads too, before the wipe", async () => {
    const t = await tenantWithNotes({ ...NOTES, auditReads: true });
    const rec = await create(t.ownerToken, { title: "before" });
    const first = await stubOf(t.id).archiveAudit();
    expect(first.ok && first.value.complete).toBe(true);
    await create(t.ownerToken, { title: "after the archive" });
    // A read of an auditReads collection: its event is buffered in the object, not yet written.
    expect((await call(`/v1/collections/notes/records/${rec.id}`, { token: t.ownerToken })).status).toBe(200);
    const wiped = await stubOf(t.id).wipe();
    expect(wiped.ok).toBe(true);
    const manifest = await auditArchive(env.FILES, t.id).manifest();
    let raw = "";
    for (const part of manifest?.parts ?? [])
      raw += await (await env.FILES.get(`_audit-archive/${t.id}/${part.name}`))?.text();
    const actions = raw
      .split("\n")
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { action: string }).action);
    expect(actions.filter((a) => a === "record.create")).toHaveLength(2);
    expect(actions.at(-1)).toBe("record.read");
    expect(manifest).toMatchObject({ complete: true, count: actions.length });
  });

  it("resumes an archive written a part per call, keeping the parts already written", async () => {
    const t = await tenantWithNotes();
    const steps = await runInDurableObject(stubOf(t.id), async (instance: TenantDatabase) => {
      // biome-ignore lint/complexity/useLiteralKeys: the object's state is private to its class
      const store = instance["tenant"].store();
      if (!store) throw new Error("no store");
      store.storage.transactionSync(() => {
        for (let i = 0; i < 2100; i++) {
          appendAudit(store.db, { actor: "system:test", action: "test.event", resource: "tenant", success: true });
        }
      });
      const taken = [];
      for (let i = 0; i < 4; i++) {
        const step = await archiveAuditChain(store, env.FILES, 1);
        const manifest = await auditArchive(env.FILES, t.id).manifest();
        taken.push({
          step: step.ok && step.value,
          complete: manifest?.complete,
          parts: manifest?.parts.map((p) => p.name),
        });
      }
      return taken;
    });
    const total = (steps[2]?.step || { events: 0 }).events;
    expect(total).toBeGreaterThan(2100);
    expect(steps.map((s) => (s.step ? s.step.complete : null))).toEqual([false, false, true, true]);
    expect(steps.map((s) => s.complete)).toEqual([false, false, true, true]);
    expect(steps[1]?.parts?.slice(0, 1)).toEqual(steps[0]?.parts);
    expect(steps[2]?.parts?.slice(0, 2)).toEqual(steps[1]?.parts);
    expect(steps[3]).toEqual(steps[2]);
    expect(await verifyArchivedAudit(env.FILES, t.id, env.MASTER_KEY ?? "")).toEqual({ ok: true, count: total });
  });

  it("verifies a live tenant's chain at the same path", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "x" });
    const live = await json(await call("/v1/audit/verify", { token: t.ownerToken }));
    expect(await verify(t.id)).toEqual(live);
  });
});

describe("audit archive retention", () => {
  it("trims events past auditRetentionDays behind a signed checkpoint; the rest still verifies", async () => {
    const t = await deletedTenant();
    const manifest = await auditArchive(env.FILES, t.id).manifest();
    expect(manifest?.retentionDays).toBe(2557);
    // The clock at which the fourth event is exactly 2557 days old: the three before it go.
    const fourth = t.live[3] as AuditEvent;
    const older = t.live.filter((e) => e.at < fourth.at).length;
    const now = new Date(Date.parse(fourth.at) + 2557 * DAY);
    expect(await trimAuditArchive(env.FILES, t.id, env.MASTER_KEY ?? "", new Date(now.getTime() - 2 * DAY))).toEqual({
      trimmed: 0,
    });
    expect(await trimAuditArchive(env.FILES, t.id, env.MASTER_KEY ?? "", now)).toEqual({ trimmed: older });
    expect(await trimAuditArchive(env.FILES, t.id, env.MASTER_KEY ?? "", now)).toEqual({ trimmed: 0 });
    const kept = t.live.slice(older);
    expect((await logs(t.id, "?limit=1000")).items).toEqual(kept);
    expect(await verify(t.id)).toEqual({ ok: true, count: kept.length });

    // Dropping an event and moving the checkpoint past it keeps the links, but not the signature.
    const archive = auditArchive(env.FILES, t.id);
    const trimmed = await archive.manifest();
    const part = trimmed?.parts[0];
    if (!trimmed?.checkpoint || !part) throw new Error("no checkpoint");
    const next = kept[0] as AuditEvent;
    const rest = (await archive.readPart(part)).slice(1);
    await archive.putManifest({
      ...trimmed,
      checkpoint: { ...trimmed.checkpoint, seq: next.seq, hash: next.hash },
      parts: [await archive.putPart(rest), ...trimmed.parts.slice(1)],
    });
    expect((await verify(t.id)).ok).toBe(false);
  });

  it("drops whole parts once every event is past retention, and the empty chain still verifies", async () => {
    const t = await deletedTenant();
    const last = t.live.at(-1) as AuditEvent;
    const now = new Date(Date.parse(last.at) + 2558 * DAY);
    expect(await trimAuditArchive(env.FILES, t.id, env.MASTER_KEY ?? "", now)).toEqual({ trimmed: t.live.length });
    expect((await logs(t.id)).items).toEqual([]);
    expect(await verify(t.id)).toEqual({ ok: true, count: 0 });
    const parts = await env.FILES.list({ prefix: `_audit-archive/${t.id}/events/` });
    expect(parts.objects).toEqual([]);
  });

  it("is what the retention sweep does for a deleted tenant once its events are past retention", async () => {
    const t = await deletedTenant();
    const row = await getTenant(env, t.id);
    expect(await TENANT_TASKS.retention(env, row)).toEqual({ archiveTrimmed: 0 });
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.parse((t.live.at(-1) as AuditEvent).at) + 2558 * DAY);
      expect(await TENANT_TASKS.retention(env, row)).toEqual({ archiveTrimmed: t.live.length });
    } finally {
      vi.useRealTimers();
    }
    expect(await verify(t.id)).toEqual({ ok: true, count: 0 });
  });
});
