// Legal hold (DESIGN §7): every path that destroys or irreversibly changes a held tenant's data
// answers 409 legal_hold and changes nothing; the same request goes through once the hold is
// lifted. Sweeps (retention trims, backup pruning, tenant hard delete) and key destruction too.

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Store } from "../durable-objects/db/store";
import { pruneBackups } from "../durable-objects/jobs/backups";
import type { TenantRow } from "../src/control/schema";
import { hardDeleteTenant } from "../src/control/tenant-deletion";
import { TENANT_TASKS } from "../src/sweeps/tenant-tasks";
import { create, type Rec, tenantWithNotes } from "./data-helpers";
import { adminToken, call, callRaw, json, userToken } from "./helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

async function setHold(id: string, legalHold: boolean) {
  const res = await call(`/v1/tenants/${id}`, { method: "PUT", token: await adminToken(), body: { legalHold } });
  expect(res.status).toBe(200);
}

const put = (token: string, path: string, body: string) =>
  callRaw(`/v1/files/${path}`, { method: "PUT", token, body, headers: { "content-type": "text/plain" } });

/** Everything a destructive path could change: tenant tables (not the audit or usage) and R2. */
async function fingerprint(id: string) {
  const tables = await runInDurableObject(stubOf(id), (_i, state) => {
    const names = ["collections", "record_versions", "files", "members", "shares", "meta"];
    const dump = (t: string) => state.storage.sql.exec(`SELECT * FROM "${t}" ORDER BY rowid`).toArray();
    const out: Record<string, unknown> = Object.fromEntries(names.map((t) => [t, dump(t)]));
    const collections = state.storage.sql.exec<{ name: string }>("SELECT name FROM collections").toArray();
    for (const { name } of collections) out[`c_${name}`] = dump(`c_${name}`);
    return JSON.stringify(out);
  });
  const objects = (await env.FILES.list({ prefix: `tenant-${id}/` })).objects.map((o) => `${o.key}@${o.etag}`);
  return { tables, objects };
}

interface Held {
  id: string;
  owner: string;
  bob: string;
  record: Rec;
  uploadId: string;
  partEtag: string;
}

/** A tenant with a record and a file by bob, and a multipart upload over that file in progress. */
async function heldTenant(): Promise<Held> {
  const t = await tenantWithNotes();
  await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "bob", roles: ["editor"] } });
  const bob = await userToken(t.id, "bob");
  const record = await create(bob, { title: "evidence", email: "bob@example.com" });
  expect((await put(bob, "keep/a.txt", "original")).status).toBe(201);
  const started = await callRaw("/v1/files/keep/a.txt?uploads", {
    method: "POST",
    token: t.ownerToken,
    headers: { "x-file-content-type": "text/plain" },
  });
  const { uploadId } = await json<{ uploadId: string }>(started);
  const part = await callRaw(`/v1/files/keep/a.txt?uploadId=${encodeURIComponent(uploadId)}&partNumber=1`, {
    method: "PUT",
    token: t.ownerToken,
    body: "replacement",
  });
  const { etag: partEtag } = await json<{ etag: string }>(part);
  await setHold(t.id, true);
  return { id: t.id, owner: t.ownerToken, bob, record, uploadId, partEtag };
}

const DESTRUCTIVE: { name: string; send: (h: Held) => Promise<Response>; allowed: number }[] = [
  {
    name: "DELETE /v1/collections/{name}",
    send: (h) => call("/v1/collections/notes", { method: "DELETE", token: h.owner }),
    allowed: 200,
  },
  {
    name: "PATCH /v1/collections/{name} dropping a field",
    send: (h) => call("/v1/collections/notes", { method: "PATCH", token: h.owner, body: { drop: ["email"] } }),
    allowed: 200,
  },
  {
    name: "DELETE /v1/files/{path}",
    send: (h) => callRaw("/v1/files/keep/a.txt", { method: "DELETE", token: h.owner }),
    allowed: 200,
  },
  {
    name: "PUT /v1/files/{path} over an existing file",
    send: (h) => put(h.owner, "keep/a.txt", "overwritten"),
    allowed: 201,
  },
  {
    name: "POST /v1/files/{path}?uploads over an existing file",
    send: (h) =>
      callRaw("/v1/files/keep/a.txt?uploads", {
        method: "POST",
        token: h.owner,
        headers: { "x-file-content-type": "text/plain" },
      }),
    allowed: 201,
  },
  {
    name: "POST /v1/files/{path}?uploadId= completing over an existing file",
    send: (h) =>
      callRaw(`/v1/files/keep/a.txt?uploadId=${encodeURIComponent(h.uploadId)}`, {
        method: "POST",
        token: h.owner,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ parts: [{ partNumber: 1, etag: h.partEtag }] }),
      }),
    allowed: 201,
  },
  {
    name: "POST /v1/privacy/erasure",
    send: (h) => call("/v1/privacy/erasure", { method: "POST", token: h.owner, body: { subject: "bob" } }),
    allowed: 200,
  },
];

describe("legal hold refuses every destructive route", () => {
  for (const route of DESTRUCTIVE) {
    it(`${route.name}: 409 legal_hold with nothing changed, allowed once the hold is lifted`, async () => {
      const h = await heldTenant();
      const before = await fingerprint(h.id);
      const refused = await route.send(h);
      expect(refused.status).toBe(409);
      expect(await json(refused)).toMatchObject({ code: "legal_hold", status: 409 });
      expect(await fingerprint(h.id)).toEqual(before);

      await setHold(h.id, false);
      const allowed = await route.send(h);
      expect(allowed.status, await allowed.clone().text()).toBe(route.allowed);
      expect(await fingerprint(h.id)).not.toEqual(before);
    });
  }

  it("lets new writes and soft deletes go on", async () => {
    const h = await heldTenant();
    const rec = await create(h.owner, { title: "new" });
    const patched = await call(`/v1/collections/notes/records/${rec.id}`, {
      method: "PATCH",
      token: h.owner,
      body: { title: "changed" },
    });
    expect(patched.status).toBe(200);
    expect((await call(`/v1/collections/notes/records/${rec.id}`, { method: "DELETE", token: h.owner })).status).toBe(
      200,
    );
    expect((await put(h.owner, "keep/new.txt", "fresh")).status).toBe(201);
    const added = await call("/v1/collections/notes", {
      method: "PATCH",
      token: h.owner,
      body: { add: [{ name: "extra", type: "string" }], rename: { body: "content" } },
    });
    expect(added.status).toBe(200);
  });
});

describe("legal hold stops sweeps and key destruction", () => {
  it("retention purges and trims nothing under hold, and does once it is lifted", async () => {
    const h = await heldTenant();
    await call(`/v1/collections/notes/records/${h.record.id}`, { method: "PATCH", token: h.owner, body: { rank: 2 } });
    const gone = await create(h.owner, { title: "deleted" });
    await call(`/v1/collections/notes/records/${gone.id}`, { method: "DELETE", token: h.owner });
    const auditCount = () =>
      runInDurableObject(stubOf(h.id), (_i, s) => s.storage.sql.exec("SELECT count(*) AS n FROM audit_events").one().n);
    const before = { ...(await fingerprint(h.id)), audit: await auditCount() };

    const held = await stubOf(h.id).retention(inDays(4000));
    expect(held).toMatchObject({ ok: true, value: { held: true, recordsPurged: 0, versionsTrimmed: 0 } });
    expect({ ...(await fingerprint(h.id)), audit: await auditCount() }).toEqual(before);

    await setHold(h.id, false);
    const run = await stubOf(h.id).retention(inDays(4000));
    if (!run.ok) throw new Error(JSON.stringify(run));
    expect(run.value.held).toBe(false);
    expect(run.value.recordsPurged).toBe(1);
    expect(run.value.versionsTrimmed).toBeGreaterThan(0);
    expect(run.value.auditTrimmed).toBeGreaterThan(0);
  });

  it("a hold placed between retention's batches stops its continuation", async () => {
    const t = await tenantWithNotes();
    const gone = await create(t.ownerToken, { title: "deleted" });
    await call(`/v1/collections/notes/records/${gone.id}`, { method: "DELETE", token: t.ownerToken });
    // 600 more soft-deleted rows, copies of that one: more than one batch of 500.
    const deleted = () =>
      runInDurableObject(stubOf(t.id), (_i, state) => {
        const sql = state.storage.sql;
        return sql.exec<{ n: number }>("SELECT count(*) AS n FROM c_notes WHERE deleted_at IS NOT NULL").one().n;
      });
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      const sql = state.storage.sql;
      const cols = sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('c_notes')")
        .toArray()
        .map((c) => c.name)
        .filter((c) => c !== "id");
      const list = cols.map((c) => `"${c}"`).join(", ");
      sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
         INSERT INTO c_notes (id, ${list}) SELECT 'copy-' || n.i, ${list} FROM c_notes, n WHERE c_notes.id = ?`,
        gone.id,
      );
    });
    expect(await deleted()).toBe(601);
    const first = await stubOf(t.id).retention(inDays(400));
    expect(first).toMatchObject({ ok: true, value: { held: false, recordsPurged: 500, more: true } });
    await setHold(t.id, true);
    await runDurableObjectAlarm(stubOf(t.id)); // the continuation
    expect(await deleted()).toBe(101);
    await setHold(t.id, false);
    const rest = await stubOf(t.id).retention(inDays(400));
    expect(rest).toMatchObject({ ok: true, value: { recordsPurged: 101, more: false } });
  });

  it("keeps every backup under hold; pruning resumes once it is lifted", async () => {
    const h = await heldTenant();
    await call(`/v1/tenants/${h.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { limits: { maxBackups: 1 } },
    });
    const now = new Date().toISOString();
    await runInDurableObject(stubOf(h.id), (_i, s) => {
      for (const id of ["2020-01-01", "2020-01-02"]) {
        s.storage.sql.exec(
          `INSERT INTO export_jobs (id, kind, status, location, state, error, created_at, updated_at, finished_at)
           VALUES (?, 'backup', 'completed', 'backups', '{}', NULL, ?, ?, ?)`,
          id,
          now,
          now,
          now,
        );
      }
    });
    for (const id of ["2020-01-01", "2020-01-02"])
      await env.FILES.put(`tenant-${h.id}/backups/${id}/manifest.json`, "{}");
    const backups = async () => {
      const rows = await runInDurableObject(stubOf(h.id), (_i, s) =>
        s.storage.sql.exec<{ id: string }>("SELECT id FROM export_jobs WHERE kind = 'backup' ORDER BY id").toArray(),
      );
      const objects = (await env.FILES.list({ prefix: `tenant-${h.id}/backups/` })).objects.map((o) => o.key);
      return { rows: rows.map((r) => r.id), objects };
    };
    // pruneBackups runs when a backup finishes; call it as the job runner does.
    const prune = () =>
      runInDurableObject(stubOf(h.id), async (instance) => {
        const o = instance as unknown as { tenant: { store(): Store } };
        await pruneBackups(o.tenant.store(), env.FILES);
      });

    await prune();
    expect((await backups()).rows).toEqual(["2020-01-01", "2020-01-02"]);
    expect((await backups()).objects).toHaveLength(2);

    await setHold(h.id, false);
    await prune();
    expect(await backups()).toEqual({
      rows: ["2020-01-02"],
      objects: [`tenant-${h.id}/backups/2020-01-02/manifest.json`],
    });
  });

  it("never hard-deletes a held tenant, even with TENANT_GRACE_DAYS=0; does once the hold is lifted", async () => {
    const h = await heldTenant();
    const token = await adminToken();
    expect((await call(`/v1/tenants/${h.id}`, { method: "DELETE", token })).status).toBe(200);
    const row = async () =>
      (await env.CONTROL_DB.prepare("SELECT * FROM tenants WHERE id = ?").bind(h.id).first()) as Record<
        string,
        unknown
      >;
    const registry = async (): Promise<TenantRow> => {
      const r = await row();
      return {
        ...(r as unknown as TenantRow),
        legalHold: Boolean(r.legal_hold),
        cancelledAt: r.cancelled_at as string,
        retiredKeys: JSON.parse(String(r.retired_keys ?? "[]")),
      };
    };
    const noGrace = { ...env, TENANT_GRACE_DAYS: "0" } as Env;

    expect(await TENANT_TASKS.retention(noGrace, await registry())).toEqual({ held: 1 });
    await expect(hardDeleteTenant(noGrace, await registry())).rejects.toMatchObject({ code: "legal_hold" });
    expect((await row()).status).toBe("cancelled");
    expect((await env.FILES.list({ prefix: `tenant-${h.id}/` })).objects.length).toBeGreaterThan(0);

    await setHold(h.id, false);
    expect(await TENANT_TASKS.retention(noGrace, await registry())).toMatchObject({ tenantsDeleted: 1 });
    expect((await row()).status).toBe("deleted");
  });

  it("refuses to destroy a retired data key under hold; destroys it once the hold is lifted", async () => {
    const h = await heldTenant();
    const token = await adminToken();
    await setHold(h.id, false);
    const started = await call(`/v1/tenants/${h.id}/rotate-key`, { method: "POST", token, body: { mode: "data" } });
    const { job } = await json<{ job: { id: string } }>(started);
    for (let i = 0; i < 50; i++) {
      const now = await json<{ status: string }>(await call(`/v1/tenants/${h.id}/exports/${job.id}`, { token }));
      if (now.status === "completed") break;
      await runDurableObjectAlarm(stubOf(h.id));
    }
    await setHold(h.id, true);
    const retired = async () =>
      JSON.parse(
        (
          await env.CONTROL_DB.prepare("SELECT retired_keys FROM tenants WHERE id = ?")
            .bind(h.id)
            .first<{ retired_keys: string }>()
        )?.retired_keys ?? "null",
      );
    const refused = await call(`/v1/tenants/${h.id}/rotate-key`, { token });
    expect(refused.status).toBe(409);
    expect(await json(refused)).toMatchObject({ code: "legal_hold" });
    expect(await retired()).toHaveLength(1);

    await setHold(h.id, false);
    const done = await call(`/v1/tenants/${h.id}/rotate-key`, { token });
    expect(await json(done)).toMatchObject({ complete: true });
    expect(await retired()).toEqual([]);
  });
});

describe("legal hold in the tenant's object itself", () => {
  it("refuses a wipe while the object holds the hold, whatever the caller read from the registry", async () => {
    const h = await heldTenant();
    const refused = await stubOf(h.id).wipe();
    expect(refused).toMatchObject({ ok: false, code: "legal_hold" });
    expect((await call("/v1/me", { token: h.owner })).status).toBe(200);
  });
});
