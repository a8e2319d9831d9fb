// Export bundles written in chunks across alarms, verified imports into an empty tenant
// (records, history, files and counts equal), backups kept to the plan's number.
import {
  createExecutionContext,
  createScheduledController,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { create, list, type Page, tenantWithNotes } from "./data-helpers";
import { adminToken, call, createTenant, json, userToken } from "./helpers";
import { plainText } from "./sealed-helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

interface Job {
  id: string;
  status: string;
  counts: Record<string, number>;
  parts: { name: string; rows: number; sha256: string }[];
  error: string | null;
}

/** Runs the tenant's alarms until its job is done (each alarm writes one chunk). */
async function drive(tenant: string, jobId: string): Promise<Job> {
  const token = await adminToken();
  for (let i = 0; i < 500; i++) {
    const job = await json<Job>(await call(`/v1/tenants/${tenant}/exports/${jobId}`, { token }));
    if (job.status === "completed" || job.status === "failed") return job;
    await runDurableObjectAlarm(stubOf(tenant));
  }
  throw new Error("job did not finish");
}

async function seedFile(tenant: string, path: string, body: string) {
  await env.FILES.put(`tenant-${tenant}/files/${path}`, body);
  await runInDurableObject(stubOf(tenant), (_i, state) => {
    state.storage.sql.exec(
      "INSERT INTO files (path, size, content_type, etag, sha256, uploaded_by, created_at, updated_at) VALUES (?, ?, 'text/plain', 'e', NULL, 'alice', 'now', 'now')",
      path,
      body.length,
    );
  });
}

async function exportOf(tenant: string, token: string, body: unknown = {}) {
  const res = await call(`/v1/tenants/${tenant}/export`, { method: "POST", token, body });
  expect(res.status).toBe(202);
  return drive(tenant, (await json<Job>(res)).id);
}

describe("export and import", () => {
  it("moves a tenant's data into a new tenant intact: records, history, files and counts", async () => {
    const a = await tenantWithNotes();
    await call("/v1/collections", {
      method: "POST",
      token: a.ownerToken,
      body: {
        name: "campaigns",
        fields: [
          { name: "subject", type: "string", searchable: true },
          { name: "sent", type: "boolean" },
        ],
      },
    });
    const notes: { id: string }[] = [];
    for (let i = 0; i < 7; i++) notes.push(await create(a.ownerToken, { title: `note ${i}`, rank: i }));
    await call(`/v1/collections/notes/records/${notes[0]?.id}`, {
      method: "PATCH",
      token: a.ownerToken,
      body: { title: "edited" },
    });
    await call(`/v1/collections/notes/records/${notes[1]?.id}`, { method: "DELETE", token: a.ownerToken });
    await create(a.ownerToken, { subject: "Autumn sale", sent: true }, "campaigns");
    await seedFile(a.id, "docs/readme.txt", "hello files");

    const exported = await exportOf(a.id, await adminToken());
    expect(exported.status).toBe("completed");
    expect(exported.counts).toMatchObject({ "records:notes": 7, "records:campaigns": 1, "history:notes": 9, files: 1 });
    expect(exported.parts.filter((p) => p.name.startsWith("records/notes/")).length).toBe(3); // 7 rows, 3 per chunk

    const manifestRes = await call(`/v1/tenants/${a.id}/exports/${exported.id}/download`, {
      token: await adminToken(),
    });
    const manifest = await json<{
      format: string;
      parts: { name: string; sha256: string }[];
      counts: Record<string, number>;
    }>(manifestRes);
    expect(manifest.format).toBe("silo-export/1");
    const part = manifest.parts.find((p) => p.name.startsWith("records/notes/"));
    const partBody = await (
      await call(`/v1/tenants/${a.id}/exports/${exported.id}/download?part=${part?.name}`, {
        token: await adminToken(),
      })
    ).text();
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(partBody))))
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(digest).toBe(part?.sha256);

    const b = await createTenant(undefined, "bob");
    const start = await call(`/v1/tenants/${b.id}/import`, {
      method: "POST",
      token: await adminToken(),
      body: { fromTenant: a.id, exportId: exported.id },
    });
    expect(start.status).toBe(202);
    const imported = await drive(b.id, (await json<Job>(start)).id);
    expect(imported.status, imported.error ?? "").toBe("completed");

    for (const collection of ["notes", "campaigns"]) {
      const before = await list(a.ownerToken, "include_deleted=true&sort=id&limit=100", collection);
      const after = await list(b.ownerToken, "include_deleted=true&sort=id&limit=100", collection);
      expect(after.items).toEqual(before.items);
    }
    const historyOf = async (token: string) =>
      (await json<Page>(await call(`/v1/collections/notes/records/${notes[0]?.id}/history`, { token }))).items;
    expect(await historyOf(b.ownerToken)).toEqual(await historyOf(a.ownerToken));
    expect(await plainText(`tenant-${b.id}/files/docs/readme.txt`)).toBe("hello files");
    const search = await json<Page<{ id: string }>>(await call("/v1/search?q=autumn", { token: b.ownerToken }));
    expect(search.items).toHaveLength(1);
    const audit = await json<Page<{ action: string; details: Record<string, unknown> }>>(
      await call("/v1/audit?action=tenant.imported", { token: b.ownerToken }),
    );
    expect(audit.items[0]?.details).toMatchObject({ fromTenant: a.id, exportId: exported.id });
    expect((await json<{ ok: boolean }>(await call("/v1/audit/verify", { token: b.ownerToken }))).ok).toBe(true);
    const me = await json<{ usage: { records: number } }>(await call("/v1/me", { token: b.ownerToken }));
    expect(me.usage.records).toBe(8);
  });

  it("imports into an empty tenant only, and refuses a bundle whose checksums do not match", async () => {
    const a = await tenantWithNotes();
    await create(a.ownerToken, { title: "x" });
    const exported = await exportOf(a.id, a.ownerToken);
    const full = await tenantWithNotes();
    const refused = await call(`/v1/tenants/${full.id}/import`, {
      method: "POST",
      token: await adminToken(),
      body: { fromTenant: a.id, exportId: exported.id },
    });
    expect(refused.status).toBe(409);

    const firstPart = exported.parts.find((p) => p.name.startsWith("records/notes/"))?.name;
    await env.FILES.put(`tenant-${a.id}/exports/${exported.id}/${firstPart}`, '{"id":"forged"}\n');
    const b = await createTenant();
    const start = await call(`/v1/tenants/${b.id}/import`, {
      method: "POST",
      token: await adminToken(),
      body: { fromTenant: a.id, exportId: exported.id },
    });
    const job = await drive(b.id, (await json<Job>(start)).id);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/checksum mismatch/);
    // What the import left applied before it failed is on the target's trail, part by part.
    const trail = await json<{ items: { action: string; resource: string; success: boolean }[] }>(
      await call(`/v1/tenants/${b.id}/audit-logs?limit=1000`, { token: await adminToken() }),
    );
    const events = trail.items.filter((e) => e.action.startsWith("import."));
    expect(events[0]?.action).toBe("import.started");
    expect(events.at(-1)).toMatchObject({ action: "import.failed", success: false });
    const applied = events.filter((e) => e.action === "import.part_applied").map((e) => e.resource);
    expect(applied).toContain("part:collections.json");
    expect(applied).not.toContain(`part:${firstPart}`);
  });

  it("lets an owner export their own tenant, not a viewer and not another tenant", async () => {
    const t = await createTenant(undefined, "alice", { settings: { autoJoinRole: "viewer" } });
    const other = await createTenant();
    expect((await call(`/v1/tenants/${t.id}/export`, { method: "POST", token: t.ownerToken, body: {} })).status).toBe(
      202,
    );
    expect(
      (await call(`/v1/tenants/${t.id}/export`, { method: "POST", token: await userToken(t.id, "vic"), body: {} }))
        .status,
    ).toBe(403);
    expect(
      (await call(`/v1/tenants/${other.id}/export`, { method: "POST", token: t.ownerToken, body: {} })).status,
    ).toBe(404);
    expect(
      (await call(`/v1/tenants/${other.id}/import`, { method: "POST", token: t.ownerToken, body: {} })).status,
    ).toBe(403);
  });
});

describe("the object's one alarm", () => {
  it("a read after an export starts never pushes the export's next chunk back to the usage flush", async () => {
    const t = await tenantWithNotes();
    const rec = await create(t.ownerToken, { title: "a" });
    // Started by a platform admin: no read of the tenant's own has scheduled a flush yet.
    const started = await call(`/v1/tenants/${t.id}/export`, { method: "POST", token: await adminToken(), body: {} });
    expect(started.status).toBe(202);
    const before = Date.now();
    // Reads leave counts pending, which schedules a flush a minute out.
    for (let i = 0; i < 3; i++) {
      expect((await call(`/v1/collections/notes/records/${rec.id}`, { token: t.ownerToken })).status).toBe(200);
    }
    const alarm = await runInDurableObject(stubOf(t.id), (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm as number).toBeLessThan(before + 10_000);
  });
});

describe("backups", () => {
  it("the backup sweep writes today's bundle and keeps the plan's number of backups", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "x" });
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { limits: { maxBackups: 1 } },
    });
    // An older backup from the past.
    await env.FILES.put(`tenant-${t.id}/backups/2026-01-01/manifest.json`, "{}");
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec(
        "INSERT INTO export_jobs (id, kind, status, location, state, created_at, updated_at) VALUES ('2026-01-01', 'backup', 'completed', 'backups', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
      );
    });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "47 2 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const today = new Date().toISOString().slice(0, 10);
    const job = await drive(t.id, today);
    expect(job.status).toBe("completed");
    expect((await env.FILES.get(`tenant-${t.id}/backups/${today}/manifest.json`)) !== null).toBe(true);
    expect((await env.FILES.list({ prefix: `tenant-${t.id}/backups/2026-01-01/` })).objects).toEqual([]);
    expect((await call(`/v1/tenants/${t.id}/exports/2026-01-01`, { token: await adminToken() })).status).toBe(404);
  });
});
