// Cost per tenant (rows read and written from the SQL cursors, database size, the R2 bytes
// gauge, platformCost in statements) and archival of files nobody reads (R2 Infrequent Access).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { tenantPrefix } from "../durable-objects/storage/tenant-storage";
import { statementLine } from "../src/control/billing";
import { PLATFORM_PRICES } from "../src/control/platform-prices";
import { advanceSweeps } from "../src/sweeps/sweep-runner";
import { createRun } from "../src/sweeps/sweep-runs";
import { create, NOTES, tenantWithNotes } from "./data-helpers";
import { adminToken, call, callRaw, createTenant, json } from "./helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

interface Usage {
  rowsRead: number;
  rowsWritten: number;
  databaseBytes: number;
  r2Bytes: number;
}

async function usage(tenant: string): Promise<Usage> {
  const res = await call(`/v1/tenants/${tenant}/usage`, { token: await adminToken() });
  expect(res.status).toBe(200);
  return (await json<{ current: Usage }>(res)).current;
}

/** SQLite's own count of the rows a statement touches, run on the raw storage (not the meter). */
async function rawRows(tenant: string, query: string) {
  return runInDurableObject(stubOf(tenant), (_i, state) => {
    const cursor = state.storage.sql.exec(query);
    cursor.toArray();
    return { read: cursor.rowsRead, written: cursor.rowsWritten };
  });
}

const listQuery = (c: string) =>
  `WITH src AS (SELECT * FROM "c_${c}") SELECT * FROM src WHERE "deleted_at" IS NULL ORDER BY "created_at" ASC, "id" ASC LIMIT 51`;

describe("cost per tenant", () => {
  it("meters the rows each query read and wrote, equal to SQLite's own count of them", async () => {
    const t = await tenantWithNotes();
    await call("/v1/collections", { method: "POST", token: t.ownerToken, body: { ...NOTES, name: "small" } });
    await call("/v1/collections", { method: "POST", token: t.ownerToken, body: { ...NOTES, name: "other" } });
    for (let i = 0; i < 40; i++) await create(t.ownerToken, { title: `n${i}`, rank: i });
    for (let i = 0; i < 10; i++) await create(t.ownerToken, { title: `s${i}`, rank: i }, "small");
    // Two identical requests but for the collection's size: the difference in metered rows is
    // the difference in rows the list's scan read, as SQLite counts it for the same statement.
    await call("/v1/collections/notes/records", { token: t.ownerToken });
    await call("/v1/collections/small/records", { token: t.ownerToken });
    const u0 = await usage(t.id);
    await call("/v1/collections/small/records", { token: t.ownerToken });
    const u1 = await usage(t.id);
    await call("/v1/collections/notes/records", { token: t.ownerToken });
    const u2 = await usage(t.id);
    const big = await rawRows(t.id, listQuery("notes"));
    const small = await rawRows(t.id, listQuery("small"));
    expect(big.read - small.read).toBeGreaterThan(0);
    expect(u2.rowsRead - u1.rowsRead - (u1.rowsRead - u0.rowsRead)).toBe(big.read - small.read);
    // Reads write nothing (their counts wait in memory).
    expect(u2.rowsWritten - u1.rowsWritten).toBe(0);
    // A field added with a default rewrites every record: 40 against 10 rows written.
    const add = { add: [{ name: "tag", type: "string", default: "x" }] };
    // Each write is preceded by the same read, so the usage flush it makes writes the same rows.
    const patch = async (c: string) => {
      await call("/v1/collections", { token: t.ownerToken });
      expect((await call(`/v1/collections/${c}`, { method: "PATCH", token: t.ownerToken, body: add })).status).toBe(
        200,
      );
    };
    await patch("other");
    const w0 = await usage(t.id);
    await patch("small");
    const w1 = await usage(t.id);
    await patch("notes");
    const w2 = await usage(t.id);
    const rewrite = (c: string) => rawRows(t.id, `UPDATE "c_${c}" SET "tag" = 'y'`);
    const [bigW, smallW] = [await rewrite("notes"), await rewrite("small")];
    expect(bigW.written - smallW.written).toBe(30);
    expect(w2.rowsWritten - w1.rowsWritten - (w1.rowsWritten - w0.rowsWritten)).toBe(bigW.written - smallW.written);
    expect(u2.databaseBytes).toBeGreaterThan(0);
    expect(u2.databaseBytes).toBe(await runInDurableObject(stubOf(t.id), (_i, s) => s.storage.sql.databaseSize));
  });

  it("keeps r2Bytes equal to the files' bytes in R2 through uploads, overwrites and deletes (less the seal's tags)", async () => {
    const t = await createTenant();
    const put = (path: string, body: string) =>
      callRaw(`/v1/files/${path}`, {
        method: "PUT",
        token: t.ownerToken,
        body,
        headers: { "content-type": "text/plain" },
      });
    expect((await put("a.txt", "x".repeat(1000))).status).toBe(201);
    expect((await put("b/c.txt", "y".repeat(300))).status).toBe(201);
    expect((await put("a.txt", "z".repeat(250))).status).toBe(201);
    expect((await callRaw("/v1/files/b/c.txt", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    expect((await put("d.txt", "w".repeat(42))).status).toBe(201);
    const listed = await env.FILES.list({ prefix: `${tenantPrefix(t.id)}files/` });
    // Sealed in R2: each 64 KiB chunk carries its 16-byte GCM tag, which the gauge does not count.
    const inR2 = listed.objects.reduce((n, o) => n + o.size, 0);
    expect(inR2).toBe(292 + 16 * listed.objects.length);
    expect((await usage(t.id)).r2Bytes).toBe(292);
    // The gauge is kept, not recomputed: a stored value that drifted would show.
    const gauge = await runInDurableObject(
      stubOf(t.id),
      (_i, s) =>
        s.storage.sql
          .exec<{ value: number }>("SELECT value FROM usage_counters WHERE period = 'all' AND metric = 'r2Bytes'")
          .one().value,
    );
    expect(gauge).toBe(292);
  });

  it("adds the platform's cost to each statement line, beside the price, with the margin", async () => {
    const metrics = {
      requests: 2_000_000,
      rowsRead: 50_000_000,
      rowsWritten: 3_000_000,
      records: 10,
      storageBytes: 2e9,
      databaseBytes: 1e9,
      r2Bytes: 2e9,
    };
    const prices = {
      baseCents: 2900,
      included: { requests: 10_000_000, records: 100_000, storageBytes: 10 * 2 ** 30 },
      overageCents: { per1kRequests: 1, per1kRecords: 1, perGbStorage: 1 },
    };
    const line = statementLine("a", "2026-10", "basic", metrics, prices);
    const p = PLATFORM_PRICES;
    const usd =
      2 * (p.workerRequestsPerMillion + p.durableObjectRequestsPerMillion) +
      50 * p.rowsReadPerMillion +
      3 * p.rowsWrittenPerMillion +
      1 * p.sqliteStoragePerGbMonth +
      2 * p.r2StandardPerGbMonth;
    expect(line.platformCost.cents).toBeCloseTo(usd * 100, 4);
    expect(line.platformCost.units).toEqual({
      requests: 2_000_000,
      rowsRead: 50_000_000,
      rowsWritten: 3_000_000,
      databaseGbMonth: 1,
      r2GbMonth: 2,
    });
    expect(line.marginCents).toBeCloseTo(2900 - usd * 100, 4);
  });

  it("rolls rowsRead, rowsWritten, databaseBytes and r2Bytes into D1 and bills their cost", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "x" });
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      for (const [m, v] of [
        ["requests", 1000],
        ["rowsRead", 5000],
        ["rowsWritten", 700],
      ] as const) {
        state.storage.sql.exec("INSERT INTO usage_counters (period, metric, value) VALUES ('2026-09', ?, ?)", m, v);
      }
    });
    const admin = await adminToken();
    await createRun(env, "billing", "manual");
    await advanceSweeps(env);
    const row = await env.CONTROL_DB.prepare(
      "SELECT metrics FROM usage_rollups WHERE tenant_id = ? AND period = '2026-09'",
    )
      .bind(t.id)
      .first<{ metrics: string }>();
    const rolled = JSON.parse(row?.metrics ?? "{}") as Record<string, number>;
    expect(rolled).toMatchObject({ requests: 1000, rowsRead: 5000, rowsWritten: 700, r2Bytes: 0 });
    expect(rolled.databaseBytes).toBeGreaterThan(0);
    const statement = await json<{ items: { tenant: string; platformCost: { cents: number }; marginCents: number }[] }>(
      await call("/v1/billing/statements?period=2026-09", { token: admin }),
    );
    const line = statement.items.find((l) => l.tenant === t.id);
    expect(line?.platformCost.cents).toBeGreaterThan(0);
    expect(line?.marginCents).toBeLessThan(9900);
  });
});

describe("archival", () => {
  it("moves files not read for archiveAfterDays to Infrequent Access; reads still work", async () => {
    const t = await createTenant();
    const admin = await adminToken();
    const set = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: admin,
      body: { settings: { archiveAfterDays: 30 } },
    });
    expect(set.status).toBe(200);
    const put = (path: string) =>
      callRaw(`/v1/files/${path}`, {
        method: "PUT",
        token: t.ownerToken,
        body: `bytes of ${path}`,
        headers: { "content-type": "text/plain" },
      });
    const etags: Record<string, string | null> = {};
    for (const p of ["old-unread.txt", "old-read-today.txt", "fresh.txt"]) {
      const res = await put(p);
      expect(res.status).toBe(201);
      etags[p] = res.headers.get("etag");
    }
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await runInDurableObject(stubOf(t.id), (_i, s) => {
      s.storage.sql.exec(
        "UPDATE files SET updated_at = ?, last_read = substr(?, 1, 10) WHERE path IN ('old-unread.txt', 'old-read-today.txt')",
        old,
        old,
      );
    });
    // A read today keeps a file in Standard: its last-read day moves (once a day at most).
    expect((await callRaw("/v1/files/old-read-today.txt", { token: t.ownerToken })).status).toBe(200);
    const moved = await stubOf(t.id).archiveFiles(new Date().toISOString());
    expect(moved).toEqual({ ok: true, value: { archived: 1, skipped: 0 } });
    const classes = await runInDurableObject(stubOf(t.id), (_i, s) =>
      s.storage.sql
        .exec<{ path: string; storage_class: string }>("SELECT path, storage_class FROM files ORDER BY path")
        .toArray(),
    );
    expect(classes).toEqual([
      { path: "fresh.txt", storage_class: "Standard" },
      { path: "old-read-today.txt", storage_class: "Standard" },
      { path: "old-unread.txt", storage_class: "InfrequentAccess" },
    ]);
    const listing = await json<{ items: { path: string; storageClass: string }[] }>(
      await call("/v1/files?prefix=old-unread", { token: t.ownerToken }),
    );
    expect(listing.items[0]?.storageClass).toBe("InfrequentAccess");
    // Local R2 (Miniflare) accepts storageClass but reports "" for every object: the class
    // itself is only observable on Cloudflare; the catalogue records it.
    // Transparent: the same bytes, the same ETag.
    const dl = await callRaw("/v1/files/old-unread.txt", { token: t.ownerToken });
    expect(dl.status).toBe(200);
    expect(await dl.text()).toBe("bytes of old-unread.txt");
    expect(dl.headers.get("etag")).toBe(etags["old-unread.txt"]);
    // Idempotent: nothing left to move; archival off moves nothing.
    expect(await stubOf(t.id).archiveFiles(new Date().toISOString())).toEqual({
      ok: true,
      value: { archived: 0, skipped: 0 },
    });
    const off = await createTenant();
    expect((await put("x.txt")).status).toBe(201);
    expect(await stubOf(off.id).archiveFiles(new Date(Date.now() + 999 * 86_400_000).toISOString())).toEqual({
      ok: true,
      value: { archived: 0, skipped: 0 },
    });
  });
});
