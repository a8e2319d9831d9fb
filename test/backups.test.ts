// Recovery (DESIGN §11): backups listed and taken on demand, a restore that brings collections,
// records with every version, members, roles, shares, settings and files back to the backup's
// (all or nothing, resumable across resets, 503 meanwhile, the audit chain continued), forks of a
// backup into an empty tenant with encrypted fields re-sealed, pruning stopped by legal hold, and
// point-in-time recovery's local answer.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Store } from "../durable-objects/db/store";
import { restoreToTime } from "../durable-objects/jobs/restore-point";
import { create, list, type Page, type Rec, tenantWithNotes } from "./data-helpers";
import { adminToken, call, callRaw, createTenant, json, userToken } from "./helpers";
import { checkedFetch } from "./openapi-check";
import { plainText } from "./sealed-helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

interface Job {
  id: string;
  kind: string;
  status: string;
  error: string | null;
  counts: Record<string, number>;
  parts: { name: string; sha256: string; path?: string }[];
}

/** Runs the tenant's alarms until the job is done; `between` runs after every step (a reset). */
async function drive(tenant: string, path: string, between?: () => Promise<void>): Promise<Job> {
  const token = await adminToken();
  for (let i = 0; i < 500; i++) {
    const job = await json<Job>(await call(path, { token }));
    if (job.status === "completed" || job.status === "failed") return job;
    await runDurableObjectAlarm(stubOf(tenant));
    if (between) await between();
  }
  throw new Error(`job did not finish: ${await (await call(path, { token })).text()}`);
}

async function takeBackup(tenant: string): Promise<Job> {
  const res = await call(`/v1/tenants/${tenant}/backups`, { method: "POST", token: await adminToken() });
  expect(res.status).toBe(202);
  const started = await json<Job>(res);
  expect(started).toMatchObject({ kind: "backup", status: "pending" });
  const job = await drive(tenant, `/v1/tenants/${tenant}/exports/${started.id}`);
  expect(job.status, job.error ?? "").toBe("completed");
  return job;
}

async function startRestore(tenant: string, backupId: string): Promise<Job> {
  const res = await call(`/v1/tenants/${tenant}/backups/${backupId}/restore`, {
    method: "POST",
    token: await adminToken(),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const job = await json<Job>(res);
  expect(job).toMatchObject({ kind: "restore", status: "pending" });
  return job;
}

const restorePath = (tenant: string, id: string) => `/v1/tenants/${tenant}/restores/${id}`;

const DOCS = {
  name: "docs",
  acl: true,
  fields: [
    { name: "title", type: "string", required: true, searchable: true },
    { name: "secret", type: "string", encrypted: true },
  ],
};

const put = (token: string, path: string, body: string, type = "text/plain") =>
  callRaw(`/v1/files/${path}`, { method: "PUT", token, body, headers: { "content-type": type } });

/** A tenant with two collections (one with ACLs and an encrypted field), versions, a share, members, a role, settings and files. */
async function seeded() {
  const t = await tenantWithNotes();
  const token = t.ownerToken;
  expect((await call("/v1/collections", { method: "POST", token, body: DOCS })).status).toBe(201);
  const notes: Rec[] = [];
  for (let i = 0; i < 7; i++) notes.push(await create(token, { title: `note ${i}`, rank: i, email: `n${i}@x.io` }));
  for (const n of notes.slice(0, 3)) {
    await call(`/v1/collections/notes/records/${n.id}`, { method: "PATCH", token, body: { title: `${n.title}!` } });
  }
  await call(`/v1/collections/notes/records/${notes[6]?.id}`, { method: "DELETE", token });
  const doc = await create(token, { title: "plan", secret: "s3cret" }, "docs");
  expect((await call("/v1/members", { method: "POST", token, body: { sub: "bob", roles: ["viewer"] } })).status).toBe(
    201,
  );
  expect(
    (await call("/v1/roles/auditor", { method: "PUT", token, body: { permissions: ["audit:read"] } })).status,
  ).toBe(200);
  const share = await call(`/v1/collections/docs/records/${doc.id}/shares`, {
    method: "POST",
    token,
    body: { principal: "user:bob", permission: "read" },
  });
  expect(share.status, await share.clone().text()).toBe(201);
  expect((await call("/v1/settings", { method: "PATCH", token, body: { softDeleteDays: 12 } })).status).toBe(200);
  expect((await put(token, "a.txt", "alpha")).status).toBe(201);
  expect((await put(token, "dir/b.bin", "bravo bytes", "application/octet-stream")).status).toBe(201);
  return { ...t, notes, doc };
}

/** Everything a restore must bring back, as the API shows it (plus the raw file bytes). */
async function snapshot(token: string) {
  const get = async <T>(path: string) => {
    const res = await call(path, { token });
    expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
    return json<T>(res);
  };
  const collections = (await get<Page<{ name: string }>>("/v1/collections")).items;
  const records: Record<string, Rec[]> = {};
  const history: Record<string, unknown[]> = {};
  for (const c of collections) {
    records[c.name] = (await list(token, "include_deleted=true&sort=id&limit=1000", c.name)).items;
    for (const r of records[c.name] ?? []) {
      history[`${c.name}/${r.id}`] = (await get<Page>(`/v1/collections/${c.name}/records/${r.id}/history`)).items;
    }
  }
  const shares: Record<string, unknown> = {};
  for (const r of records.docs ?? [])
    shares[r.id] = (await get<Page>(`/v1/collections/docs/records/${r.id}/shares`)).items;
  const files = (await get<Page<{ path: string }>>("/v1/files")).items;
  const bytes: Record<string, string> = {};
  for (const f of files) bytes[f.path] = await (await callRaw(`/v1/files/${f.path}`, { token })).text();
  return {
    collections,
    records,
    history,
    shares,
    members: (await get<Page>("/v1/members")).items,
    roles: await get<unknown>("/v1/roles"),
    settings: await get<unknown>("/v1/settings"),
    files,
    bytes,
  };
}

/** The tenant's R2 objects under files/, as paths. */
async function r2Files(tenant: string) {
  const listed = await env.FILES.list({ prefix: `tenant-${tenant}/files/` });
  return listed.objects.map((o) => o.key.slice(`tenant-${tenant}/files/`.length)).sort();
}

/** Hard deletes, updates, new records, file deletes and overwrites, a dropped collection, member, role and settings changes. */
async function damage(t: Awaited<ReturnType<typeof seeded>>) {
  const token = t.ownerToken;
  const [n0, n1, n2] = t.notes as [Rec, Rec, Rec];
  await call(`/v1/collections/notes/records/${n0.id}`, { method: "PATCH", token, body: { title: "overwritten" } });
  await call(`/v1/collections/notes/records/${n1.id}`, { method: "DELETE", token });
  await call(`/v1/collections/notes/records/${n2.id}`, { method: "DELETE", token });
  // The soft deletes become hard deletes: retention run as if 40 days had passed.
  const later = new Date(Date.now() + 40 * 86400_000).toISOString();
  const purged = await stubOf(t.id).retention(later);
  expect(purged.ok && purged.value.recordsPurged).toBeGreaterThanOrEqual(2);
  await create(token, { title: "born after the backup" });
  expect((await call("/v1/collections/docs", { method: "DELETE", token })).status).toBe(200);
  expect((await call("/v1/collections/notes/records?limit=1", { token })).status).toBe(200);
  expect((await callRaw("/v1/files/a.txt", { method: "DELETE", token })).status).toBe(200);
  expect((await put(token, "dir/b.bin", "changed", "application/octet-stream")).status).toBe(201);
  expect((await put(token, "new.txt", "newcomer")).status).toBe(201);
  expect((await call("/v1/members/bob", { method: "DELETE", token })).status).toBe(200);
  expect((await call("/v1/roles/auditor", { method: "DELETE", token })).status).toBe(200);
  expect((await call("/v1/settings", { method: "PATCH", token, body: { softDeleteDays: 3 } })).status).toBe(200);
}

describe("backups", () => {
  it("lists backups for a platform admin and the tenant's owner, not a viewer or another tenant", async () => {
    const t = await createTenant(undefined, "alice", { settings: { autoJoinRole: "viewer" } });
    const other = await createTenant();
    const backup = await takeBackup(t.id);
    const listed = await json<Page<{ id: string; status: string; records: number; files: number; bytes: number }>>(
      await call(`/v1/tenants/${t.id}/backups`, { token: await adminToken() }),
    );
    expect(listed.items).toMatchObject([{ id: backup.id, status: "completed", records: 0, files: 0 }]);
    expect(listed.items[0]?.bytes).toBeGreaterThan(0);
    expect((await call(`/v1/tenants/${t.id}/backups`, { token: t.ownerToken })).status).toBe(200);
    expect((await call(`/v1/tenants/${t.id}/backups`, { token: await userToken(t.id, "vic") })).status).toBe(403);
    expect((await call(`/v1/tenants/${other.id}/backups`, { token: t.ownerToken })).status).toBe(404);
    expect((await call(`/v1/tenants/${t.id}/backups`, { method: "POST", token: t.ownerToken })).status).toBe(403);
    const restore = await call(`/v1/tenants/${t.id}/backups/${backup.id}/restore`, {
      method: "POST",
      token: t.ownerToken,
    });
    expect(restore.status).toBe(403);
  });

  it("pages the list newest first", async () => {
    const t = await createTenant();
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      for (const id of ["2026-01-01", "2026-01-02", "2026-01-03"]) {
        state.storage.sql.exec(
          "INSERT INTO export_jobs (id, kind, status, location, state, created_at, updated_at) VALUES (?, 'backup', 'completed', 'backups', '{}', ?, ?)",
          id,
          `${id}T00:00:00Z`,
          `${id}T00:00:00Z`,
        );
      }
    });
    const token = await adminToken();
    const first = await json<Page<{ id: string }>>(await call(`/v1/tenants/${t.id}/backups?limit=2`, { token }));
    expect(first.items.map((b) => b.id)).toEqual(["2026-01-03", "2026-01-02"]);
    const second = await json<Page<{ id: string }>>(
      await call(`/v1/tenants/${t.id}/backups?limit=2&cursor=${first.nextCursor}`, { token }),
    );
    expect(second).toMatchObject({ items: [{ id: "2026-01-01" }], nextCursor: null });
  });
});

describe("restoring a backup", () => {
  it("brings every record, version, member, role, share, setting and file byte back, continuing the audit chain", async () => {
    const t = await seeded();
    const before = await snapshot(t.ownerToken);
    const backup = await takeBackup(t.id);
    expect(backup.counts).toMatchObject({ roles: 1, shares: 1, files: 2 });
    expect(backup.parts.filter((p) => p.name.startsWith("blobs/")).map((p) => p.path)).toEqual(["a.txt", "dir/b.bin"]);

    await damage(t);
    const damaged = await snapshot(t.ownerToken);
    expect(damaged).not.toEqual(before);
    const auditBefore = (await json<{ count: number }>(await call("/v1/audit/verify", { token: t.ownerToken }))).count;

    const job = await startRestore(t.id, backup.id);
    // While it runs the data plane answers 503 with Retry-After, reads and writes alike.
    for (const [path, method] of [
      ["/v1/me", "GET"],
      ["/v1/collections/notes/records", "POST"],
    ] as const) {
      const res = await call(path, {
        method,
        token: t.ownerToken,
        body: method === "POST" ? { title: "x" } : undefined,
      });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect((await json<{ code: string }>(res)).code).toBe("service_unavailable");
    }
    const done = await drive(t.id, restorePath(t.id, job.id));
    expect(done.status, done.error ?? "").toBe("completed");
    expect(done.counts).toMatchObject({ "records:notes": 7, "records:docs": 1, members: 2, roles: 1, shares: 1 });

    expect(await snapshot(t.ownerToken)).toEqual(before);
    expect(await r2Files(t.id)).toEqual(["a.txt", "dir/b.bin"]);
    const tenant = await json<{ settings: { softDeleteDays: number } }>(
      await call(`/v1/tenants/${t.id}`, { token: await adminToken() }),
    );
    expect(tenant.settings.softDeleteDays).toBe(12); // the registry follows, so later pushes keep it
    const search = await json<Page>(await call("/v1/search?q=plan", { token: t.ownerToken }));
    expect(search.items).toHaveLength(1);
    const me = await json<{ usage: { records: number; storageBytes: number } }>(
      await call("/v1/me", { token: t.ownerToken }),
    );
    expect(me.usage).toMatchObject({ records: 8, storageBytes: "alpha".length + "bravo bytes".length });

    // The audit chain is not rolled back: it goes on, verified, with the restore in it.
    const verify = await json<{ ok: boolean; count: number }>(await call("/v1/audit/verify", { token: t.ownerToken }));
    expect(verify.ok).toBe(true);
    expect(verify.count).toBeGreaterThan(auditBefore);
    const restored = await json<Page<{ details: Record<string, unknown> }>>(
      await call("/v1/audit?action=tenant.restored", { token: t.ownerToken }),
    );
    expect(restored.items[0]?.details).toMatchObject({ backupId: backup.id });
    // The change log described the data before the restore: a reader behind it reads again.
    const expired = await call("/v1/changes?since=1", { token: t.ownerToken });
    expect(expired.status).toBe(410);
    expect((await json<{ code: string }>(expired)).code).toBe("changes_expired");
    const after = await create(t.ownerToken, { title: "after the restore" });
    const feed = await json<Page<{ id: string }>>(await call("/v1/changes", { token: t.ownerToken }));
    expect(feed.items.map((e) => e.id)).toEqual([after.id]);
  });

  it("finishes a restore whose object is reset between every step", async () => {
    const t = await seeded();
    const before = await snapshot(t.ownerToken);
    const backup = await takeBackup(t.id);
    await damage(t);
    const job = await startRestore(t.id, backup.id);
    const done = await drive(t.id, restorePath(t.id, job.id), () => evictDurableObject(stubOf(t.id)));
    expect(done.status, done.error ?? "").toBe("completed");
    expect(await snapshot(t.ownerToken)).toEqual(before);
    expect(await r2Files(t.id)).toEqual(["a.txt", "dir/b.bin"]);
    const restored = await json<Page>(await call("/v1/audit?action=tenant.restored", { token: t.ownerToken }));
    expect(restored.items).toHaveLength(1); // a reset never swaps twice
  });

  it("a restore that fails verifying a part leaves the tenant as it was, files included", async () => {
    const t = await seeded();
    const backup = await takeBackup(t.id);
    await damage(t);
    const damaged = await snapshot(t.ownerToken);
    const blob = backup.parts.find((p) => p.path === "a.txt")?.name;
    await env.FILES.put(`tenant-${t.id}/backups/${backup.id}/${blob}`, "forged");
    const job = await startRestore(t.id, backup.id);
    const done = await drive(t.id, restorePath(t.id, job.id), () => evictDurableObject(stubOf(t.id)));
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/checksum mismatch/);
    expect(await snapshot(t.ownerToken)).toEqual(damaged);
    expect(await r2Files(t.id)).toEqual(["dir/b.bin", "new.txt"]);
    const staged = await runInDurableObject(stubOf(t.id), (_i, state) => [
      ...state.storage.kv.list({ prefix: "restore/" }),
    ]);
    expect(staged).toEqual([]);
  });

  it("a restore whose swap breaks half-way rolls back: nothing of the tenant changes", async () => {
    const t = await seeded();
    const backup = await takeBackup(t.id);
    await damage(t);
    const damaged = await snapshot(t.ownerToken);
    // A well-formed bundle whose last record part cannot be applied (an unknown column): every
    // checksum matches, so only the swap itself can fail, after it has already cleared tables.
    const prefix = `tenant-${t.id}/backups/${backup.id}/`;
    const manifest = JSON.parse((await plainText(`${prefix}manifest.json`)) ?? "") as {
      parts: { name: string; sha256: string; bytes: number }[];
    };
    const part = manifest.parts.filter((p) => p.name.startsWith("records/notes/")).at(-1) as (typeof manifest.parts)[0];
    const body = '{"id":"bad","no_such_column":1}\n';
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body))))
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    Object.assign(part, { sha256: digest, bytes: body.length });
    await env.FILES.put(`${prefix}${part.name}`, body);
    await env.FILES.put(`${prefix}manifest.json`, JSON.stringify(manifest));

    const job = await startRestore(t.id, backup.id);
    const done = await drive(t.id, restorePath(t.id, job.id));
    expect(done.status).toBe("failed");
    expect(await snapshot(t.ownerToken)).toEqual(damaged);
    expect(await r2Files(t.id)).toEqual(["dir/b.bin", "new.txt"]);
    expect((await json<{ ok: boolean }>(await call("/v1/audit/verify", { token: t.ownerToken }))).ok).toBe(true);
  });

  it("refuses a restore under legal hold, of an unknown backup, and while another job runs", async () => {
    const t = await seeded();
    const backup = await takeBackup(t.id);
    const token = await adminToken();
    const restoreOf = (id: string) => call(`/v1/tenants/${t.id}/backups/${id}/restore`, { method: "POST", token });
    expect((await restoreOf("2001-01-01")).status).toBe(404);
    const exporting = await json<Job>(await call(`/v1/tenants/${t.id}/export`, { method: "POST", token, body: {} }));
    expect((await restoreOf(backup.id)).status).toBe(409);
    await drive(t.id, `/v1/tenants/${t.id}/exports/${exporting.id}`);
    await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { legalHold: true } });
    const held = await restoreOf(backup.id);
    expect(held.status).toBe(409);
    expect((await json<{ code: string }>(held)).code).toBe("legal_hold");
  });

  it("stops before the swap when a legal hold arrives while it runs: the tenant stays as it was", async () => {
    const t = await seeded();
    const backup = await takeBackup(t.id);
    await damage(t);
    const damaged = await snapshot(t.ownerToken);
    const job = await startRestore(t.id, backup.id);
    await runDurableObjectAlarm(stubOf(t.id)); // the manifest is read: nothing of the tenant changed yet
    const hold = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { legalHold: true },
    });
    expect(hold.status, await hold.clone().text()).toBe(200);
    const done = await drive(t.id, restorePath(t.id, job.id));
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/legal hold/);
    expect(await snapshot(t.ownerToken)).toEqual(damaged);
    expect(await r2Files(t.id)).toEqual(["dir/b.bin", "new.txt"]);
    const failed = await json<Page<{ action: string; success: boolean; details: { error: string } }>>(
      await call("/v1/audit?action=restore.failed", { token: t.ownerToken }),
    );
    expect(failed.items).toMatchObject([{ action: "restore.failed", success: false }]);
    expect(failed.items[0]?.details.error).toMatch(/legal hold/);
  });

  it("refuses a restore and a restore point while the registry holds the tenant, before its object knows", async () => {
    const t = await createTenant();
    const backup = await takeBackup(t.id);
    // The hold saved in the registry; its push to the object has not arrived (yet).
    await env.CONTROL_DB.prepare("UPDATE tenants SET legal_hold = 1 WHERE id = ?").bind(t.id).run();
    const token = await adminToken();
    const asks: [string, unknown][] = [
      [`/v1/tenants/${t.id}/backups/${backup.id}/restore`, undefined],
      [`/v1/tenants/${t.id}/restore-point`, { at: new Date(Date.now() - 60_000).toISOString() }],
    ];
    for (const [path, body] of asks) {
      const res = await call(path, { method: "POST", token, body });
      expect(res.status, path).toBe(409);
      expect((await json<{ code: string }>(res)).code).toBe("legal_hold");
    }
    const jobs = await runInDurableObject(stubOf(t.id), (_i, state) =>
      state.storage.sql.exec("SELECT id FROM export_jobs WHERE kind = 'restore'").toArray(),
    );
    expect(jobs).toEqual([]);
  });

  it("keeps the objects of files written since the backup when a hold arrives after the swap", async () => {
    const t = await seeded();
    const backup = await takeBackup(t.id);
    await damage(t);
    const job = await startRestore(t.id, backup.id);
    const phase = () =>
      runInDurableObject(stubOf(t.id), (_i, state) => {
        const row = state.storage.sql
          .exec<{ state: string }>("SELECT state FROM export_jobs WHERE id = ?", job.id)
          .one();
        return (JSON.parse(row.state) as { phase: string }).phase;
      });
    for (let i = 0; i < 100 && (await phase()) !== "sweep"; i++) await runDurableObjectAlarm(stubOf(t.id));
    expect(await phase()).toBe("sweep");
    const hold = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { legalHold: true },
    });
    expect(hold.status, await hold.clone().text()).toBe(200);
    const done = await drive(t.id, restorePath(t.id, job.id));
    expect(done.status, done.error ?? "").toBe("completed");
    expect(done.counts).toMatchObject({ filesKeptUnderHold: 1 });
    expect(done.counts.filesRemoved).toBeUndefined();
    // The restored catalogue is the backup's; the newcomer's bytes are kept in R2, not swept.
    expect(
      (await json<Page<{ path: string }>>(await call("/v1/files", { token: t.ownerToken }))).items.map((f) => f.path),
    ).toEqual(["a.txt", "dir/b.bin"]);
    expect(await r2Files(t.id)).toEqual(["a.txt", "dir/b.bin", "new.txt"]);
  });
});

/** A new, empty tenant with an import of `from`'s new backup started into it, and its job's path. */
async function startFork(from: string) {
  const backup = await takeBackup(from);
  const b = await createTenant(undefined, "alice");
  const start = await call(`/v1/tenants/${b.id}/import`, {
    method: "POST",
    token: await adminToken(),
    body: { fromTenant: from, backupId: backup.id },
  });
  expect(start.status, await start.clone().text()).toBe(202);
  return { b, jobPath: `/v1/tenants/${b.id}/exports/${(await json<Job>(start)).id}` };
}

describe("forking a tenant from a backup", () => {
  it("loads another tenant's backup into an empty one, encrypted fields re-sealed under the new key", async () => {
    const a = await seeded();
    const { b, jobPath } = await startFork(a.id);
    const job = await drive(b.id, jobPath);
    expect(job.status, job.error ?? "").toBe("completed");

    const read = await json<Rec>(await call(`/v1/collections/docs/records/${a.doc.id}`, { token: b.ownerToken }));
    expect(read).toMatchObject({ title: "plan", secret: "s3cret" });
    const found = await list(b.ownerToken, "secret=eq.s3cret", "docs");
    expect(found.items.map((r) => r.id)).toEqual([a.doc.id]);
    const history = await json<Page<{ data: Rec }>>(
      await call(`/v1/collections/docs/records/${a.doc.id}/history`, { token: b.ownerToken }),
    );
    expect(history.items.map((v) => v.data.secret)).toEqual(["s3cret", "s3cret"]); // created, then shared
    const keyOf = (tenant: string) =>
      runInDurableObject(
        stubOf(tenant),
        (_i, state) =>
          String(state.storage.sql.exec<{ secret: string }>("SELECT secret FROM c_docs").one().secret).split(".")[1],
      );
    expect(await keyOf(b.id)).not.toBe(await keyOf(a.id));
    expect(await (await callRaw("/v1/files/dir/b.bin", { token: b.ownerToken })).text()).toBe("bravo bytes");
    const notes = await list(b.ownerToken, "include_deleted=true&sort=id&limit=100");
    expect(notes.items).toEqual((await list(a.ownerToken, "include_deleted=true&sort=id&limit=100")).items);
  });

  it("never overwrites a file written in the target while the import runs: the import fails instead", async () => {
    const a = await seeded();
    const { b, jobPath } = await startFork(a.id);
    expect((await put(b.ownerToken, "a.txt", "mine")).status).toBe(201);
    const job = await drive(b.id, jobPath);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/a\.txt was written in this tenant during the import/);
    expect(await (await callRaw("/v1/files/a.txt", { token: b.ownerToken })).text()).toBe("mine");
  });

  it("refuses an import naming both or neither of exportId and backupId", async () => {
    const b = await createTenant();
    for (const body of [{ fromTenant: "acme" }, { fromTenant: "acme", exportId: "x", backupId: "y" }]) {
      const res = await call(`/v1/tenants/${b.id}/import`, { method: "POST", token: await adminToken(), body });
      expect(res.status).toBe(400);
    }
  });
});

describe("backup pruning", () => {
  it("keeps every backup under legal hold, prunes to the plan's number once it is lifted", async () => {
    const t = await createTenant();
    const token = await adminToken();
    await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { limits: { maxBackups: 1 }, legalHold: true } });
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec(
        "INSERT INTO export_jobs (id, kind, status, location, state, created_at, updated_at) VALUES ('2026-01-01', 'backup', 'completed', 'backups', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
      );
    });
    await env.FILES.put(`tenant-${t.id}/backups/2026-01-01/manifest.json`, "{}");
    const ids = async () =>
      (await json<Page<{ id: string }>>(await call(`/v1/tenants/${t.id}/backups`, { token }))).items.map((b) => b.id);
    const first = await takeBackup(t.id);
    expect(await ids()).toEqual([first.id, "2026-01-01"]);
    expect((await env.FILES.list({ prefix: `tenant-${t.id}/backups/2026-01-01/` })).objects).toHaveLength(1);

    await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { legalHold: false } });
    const second = await takeBackup(t.id);
    expect(await ids()).toEqual([second.id]);
    expect((await env.FILES.list({ prefix: `tenant-${t.id}/backups/2026-01-01/` })).objects).toEqual([]);
    const audit = await json<Page<{ action: string; resource: string }>>(
      await call(`/v1/tenants/${t.id}/audit-logs?limit=1000`, { token }),
    );
    const pruned = audit.items.filter((e) => e.action === "backup.pruned").map((e) => e.resource);
    expect(pruned.sort()).toEqual([`backup:${first.id}`, "backup:2026-01-01"].sort());
  });
});

describe("point-in-time recovery", () => {
  it("answers 501 not_available_locally here, where the storage keeps no history", async () => {
    const t = await createTenant();
    const res = await call(`/v1/tenants/${t.id}/restore-point`, {
      method: "POST",
      token: await adminToken(),
      body: { at: new Date(Date.now() - 3600_000).toISOString() },
    });
    expect(res.status).toBe(501);
    expect((await json<{ code: string }>(res)).code).toBe("not_available_locally");
    const tooOld = await call(`/v1/tenants/${t.id}/restore-point`, {
      method: "POST",
      token: await adminToken(),
      body: { at: "2001-01-01T00:00:00Z" },
    });
    expect(tooOld.status).toBe(400);
    const tenantUser = await call(`/v1/tenants/${t.id}/restore-point`, {
      method: "POST",
      token: t.ownerToken,
      body: { at: new Date().toISOString() },
    });
    expect(tenantUser.status).toBe(403);
  });
});

describe("point-in-time recovery where the storage keeps history", () => {
  it("sets the bookmark of the asked time for the next session, then aborts the object", async () => {
    const calls: string[] = [];
    const ctx = {
      storage: {
        getBookmarkForTime: async (at: Date) => `bm-${at.toISOString()}`,
        onNextSessionRestoreBookmark: async (b: string) => {
          calls.push(`next:${b}`);
          return b;
        },
      },
      abort: (reason: string) => calls.push(`abort:${reason}`),
    } as unknown as DurableObjectState;
    const at = new Date(Date.now() - 60_000);
    const store = { config: { legalHold: false } } as unknown as Store;
    const answer = await restoreToTime(store, ctx, at);
    expect(answer).toEqual({ ok: true, value: { bookmark: `bm-${at.toISOString()}`, at: at.toISOString() } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(calls).toEqual([`next:bm-${at.toISOString()}`, "abort:restoring to a point in time"]);
    const held = await restoreToTime({ config: { legalHold: true } } as unknown as Store, ctx, at);
    expect(held).toMatchObject({ ok: false, code: "legal_hold" });
  });
});

describe("portal recovery", () => {
  const browse = (path: string, cookie: string, form?: Record<string, string>) =>
    checkedFetch(
      new Request(`https://silo.test${path}`, {
        method: form ? "POST" : "GET",
        headers: { cookie, ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
        body: form ? new URLSearchParams(form).toString() : undefined,
        redirect: "manual",
      }),
    );

  it("lists the tenant's backups with a Restore button that needs confirming, and follows the restore", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "kept" });
    const backup = await takeBackup(t.id);
    await create(t.ownerToken, { title: "gone after the restore" });
    const signIn = await checkedFetch(
      new Request("https://silo.test/admin/sign-in", {
        method: "POST",
        headers: { origin: "https://silo.test", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: await adminToken("portal-admin") }).toString(),
        redirect: "manual",
      }),
    );
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const pageHtml = await (await browse(`/admin/tenants/${t.id}`, cookie)).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(pageHtml)?.[1] as string;
    expect(pageHtml).toContain(`<code>${backup.id}</code>`);
    expect(pageHtml).toContain(`action="/admin/tenants/${t.id}/backups/${backup.id}/restore"`);

    const unconfirmed = await browse(`/admin/tenants/${t.id}/backups/${backup.id}/restore`, cookie, { _csrf: csrf });
    expect(unconfirmed.status).toBe(303);
    expect(unconfirmed.headers.get("location")).toBe(`/admin/tenants/${t.id}`);
    expect((await list(t.ownerToken)).items).toHaveLength(2); // nothing restored

    const confirmed = await browse(`/admin/tenants/${t.id}/backups/${backup.id}/restore`, cookie, {
      _csrf: csrf,
      confirm: "yes",
    });
    expect(confirmed.status).toBe(303);
    const location = confirmed.headers.get("location") as string;
    expect(location).toMatch(new RegExp(`^/admin/tenants/${t.id}/restores/rst-`));
    const restoreId = location.split("/").at(-1) as string;
    expect(await (await browse(location, cookie)).text()).toContain(`Restore <code>${restoreId}</code>`);
    const done = await drive(t.id, restorePath(t.id, restoreId));
    expect(done.status).toBe("completed");
    expect(await (await browse(location, cookie)).text()).toContain("<strong>completed</strong>");
    expect((await list(t.ownerToken)).items.map((r) => r.title)).toEqual(["kept"]);
  });
});
