// Sweeps on cron: resumable across invocations, idempotent, recorded in D1; retention inside a
// tenant (purge, trimming behind a signed checkpoint, legal hold); hard deletion after the grace
// period; billing rollups and statements.
import {
  createExecutionContext,
  createScheduledController,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { statementLine } from "../src/control/billing";
import { transitionTenant } from "../src/control/tenant-service";
import worker from "../src/index";
import { advanceSweeps } from "../src/sweeps/sweep-runner";
import { createRun } from "../src/sweeps/sweep-runs";
import { create, list, type Page, tenantWithNotes } from "./data-helpers";
import { adminToken, call, createTenant, json, uniqueId } from "./helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

async function cron(expression: string) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: expression, scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function registryCount(statuses: string[]) {
  const marks = statuses.map(() => "?").join(", ");
  return (
    await env.CONTROL_DB.prepare(`SELECT count(*) AS n FROM tenants WHERE status IN (${marks})`)
      .bind(...statuses)
      .first<{ n: number }>()
  )?.n;
}

describe("sweep runs", () => {
  it("a cron tick runs the retention sweep over every tenant and records it", async () => {
    await createTenant();
    await createTenant();
    await cron("17 3 * * *");
    const runs = await json<
      Page<{ kind: string; status: string; trigger: string; tenants: number; finishedAt: string }>
    >(await call("/v1/sweeps", { token: await adminToken() }));
    const run = runs.items.find((r) => r.kind === "retention");
    expect(run).toMatchObject({ status: "completed", trigger: "cron" });
    expect(run?.tenants).toBe(await registryCount(["active", "suspended", "cancelled"]));
    expect(run?.finishedAt).toBeTruthy();
  });

  it("continues across invocations when the tenants do not fit in one, each tenant once", async () => {
    for (let i = 0; i < 5; i++) await createTenant();
    const total = (await registryCount(["active", "suspended", "cancelled"])) ?? 0;
    const run = await createRun(env, "billing", "manual");
    const budget = { maxTenants: 2, pageSize: 2, concurrency: 2, maxMillis: 60_000 };
    const seen: number[] = [];
    for (let tick = 0; tick < 100; tick++) {
      const [advanced] = (await advanceSweeps(env, budget)).filter((r) => r.id === run.id);
      if (!advanced) break;
      seen.push(advanced.tenants);
      if (advanced.status === "completed") break;
    }
    expect(seen[0]).toBe(2);
    expect(seen.length).toBeGreaterThanOrEqual(Math.ceil(total / 2));
    expect(seen.at(-1)).toBe(total);
  });

  it("starts a sweep on request and reports it", async () => {
    await createTenant();
    const res = await call("/v1/sweeps", { method: "POST", token: await adminToken(), body: { kind: "billing" } });
    const run = await json<{ id: string; status: string }>(res);
    expect(res.status).toBe(202);
    await vi.waitFor(
      async () => {
        const now = await json<{ status: string }>(await call(`/v1/sweeps/${run.id}`, { token: await adminToken() }));
        expect(now.status).toBe("completed");
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(
      (
        await call("/v1/sweeps", {
          method: "POST",
          token: (await createTenant()).ownerToken,
          body: { kind: "billing" },
        })
      ).status,
    ).toBe(403);
  });
});

describe("retention inside a tenant", () => {
  it("purges soft-deleted records after softDeleteDays, with their history", async () => {
    const t = await tenantWithNotes();
    const gone = await create(t.ownerToken, { title: "old" });
    const kept = await create(t.ownerToken, { title: "kept" });
    await call(`/v1/collections/notes/records/${gone.id}`, { method: "DELETE", token: t.ownerToken });
    const early = await stubOf(t.id).retention(inDays(29));
    expect(early.ok && early.value.recordsPurged).toBe(0);
    const late = await stubOf(t.id).retention(inDays(31));
    expect(late.ok && late.value.recordsPurged).toBe(1);
    expect((await list(t.ownerToken, "include_deleted=true")).items.map((r) => r.id)).toEqual([kept.id]);
    expect((await call(`/v1/collections/notes/records/${gone.id}/history`, { token: t.ownerToken })).status).toBe(404);
    const me = await json<{ usage: { records: number } }>(await call("/v1/me", { token: t.ownerToken }));
    expect(me.usage.records).toBe(1);
    // Idempotent: nothing more to do.
    const again = await stubOf(t.id).retention(inDays(31));
    expect(again.ok && again.value.recordsPurged).toBe(0);
  });

  it("trims versions after historyDays but always keeps the latest", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "v1" });
    for (const title of ["v2", "v3"]) {
      await call(`/v1/collections/notes/records/${r.id}`, { method: "PATCH", token: t.ownerToken, body: { title } });
    }
    const result = await stubOf(t.id).retention(inDays(366));
    expect(result.ok && result.value.versionsTrimmed).toBe(2);
    const h = await json<Page<{ version: number }>>(
      await call(`/v1/collections/notes/records/${r.id}/history`, { token: t.ownerToken }),
    );
    expect(h.items.map((v) => v.version)).toEqual([3]);
  });

  it("trims audit events behind a signed checkpoint, and the chain still verifies", async () => {
    const t = await tenantWithNotes();
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      headers: { "x-silo-reason": "test: trim the audit trail" },
      body: { settings: { auditRetentionDays: 1 } },
    });
    await create(t.ownerToken, { title: "x" });
    const result = await stubOf(t.id).retention(inDays(2));
    expect(result.ok && result.value.auditTrimmed).toBeGreaterThan(0);
    const verified = await json<{ ok: boolean; count: number }>(
      await call("/v1/audit/verify", { token: t.ownerToken }),
    );
    expect(verified).toEqual({ ok: true, count: 1 }); // only the retention event itself remains
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      const row = state.storage.sql
        .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'audit_checkpoint'")
        .one();
      const forged = { ...JSON.parse(row.value), hash: "f".repeat(64) };
      state.storage.sql.exec("UPDATE meta SET value = ? WHERE key = 'audit_checkpoint'", JSON.stringify(forged));
    });
    expect((await json<{ ok: boolean }>(await call("/v1/audit/verify", { token: t.ownerToken }))).ok).toBe(false);
  });

  it("does nothing under legal hold", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "evidence" });
    await call(`/v1/collections/notes/records/${r.id}`, { method: "DELETE", token: t.ownerToken });
    await call(`/v1/tenants/${t.id}`, { method: "PUT", token: await adminToken(), body: { legalHold: true } });
    const result = await stubOf(t.id).retention(inDays(4000));
    expect(result.ok && result.value).toMatchObject({
      held: true,
      recordsPurged: 0,
      versionsTrimmed: 0,
      auditTrimmed: 0,
    });
    expect((await list(t.ownerToken, "include_deleted=true")).items.map((x) => x.id)).toEqual([r.id]);
  });
});

describe("tenant deletion", () => {
  it("hard-deletes a cancelled tenant after the grace period and leaves no row, object or key", async () => {
    const id = uniqueId("del");
    const t = await tenantWithNotes();
    const doomed = await createTenant(id);
    const neighbour = await createTenant(`${id}-corp`);
    await call("/v1/collections", { method: "POST", token: doomed.ownerToken, body: { name: "notes", fields: [] } });
    await env.FILES.put(`tenant-${id}/files/a.txt`, "a");
    await env.FILES.put(`tenant-${id}/exports/x/manifest.json`, "{}");
    await env.FILES.put(`tenant-${id}-corp/files/keep.txt`, "keep");
    const token = await adminToken();
    await call(`/v1/tenants/${id}`, { method: "DELETE", token });
    await env.CONTROL_DB.prepare("UPDATE tenants SET cancelled_at = ? WHERE id = ?").bind(inDays(-31), id).run();

    await cron("17 3 * * *");

    const row = await env.CONTROL_DB.prepare("SELECT status, wrapped_key, deleted_at FROM tenants WHERE id = ?")
      .bind(id)
      .first<{ status: string; wrapped_key: string | null; deleted_at: string | null }>();
    expect(row).toMatchObject({ status: "deleted", wrapped_key: null });
    expect(row?.deleted_at).toBeTruthy();
    const tables = await runInDurableObject(stubOf(id), (_i, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'meta'").toArray(),
    );
    expect(tables).toEqual([]);
    expect((await env.FILES.list({ prefix: `tenant-${id}/` })).objects).toEqual([]);
    expect((await env.FILES.get(`tenant-${id}-corp/files/keep.txt`))?.key).toBe(`tenant-${id}-corp/files/keep.txt`);
    expect((await call("/v1/me", { token: doomed.ownerToken })).status).toBe(404);
    expect((await call("/v1/me", { token: neighbour.ownerToken })).status).toBe(200);
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    const again = await call("/v1/tenants", {
      method: "POST",
      token,
      body: { id, name: "again", owner: { sub: "x" } },
    });
    expect(again.status).toBe(409);
    expect((await call(`/v1/tenants/${id}/restore`, { method: "POST", token })).status).toBe(409);
  });

  it("honours TENANT_GRACE_DAYS=0: the next sweep hard-deletes a cancelled tenant, and it cannot be restored", async () => {
    const t = await createTenant();
    const kept = await createTenant();
    const token = await adminToken();
    await call(`/v1/tenants/${t.id}`, { method: "DELETE", token });
    const noGrace = { ...env, TENANT_GRACE_DAYS: "0" } as Env;
    const actor = { sub: "root", requestId: "test" };
    await expect(transitionTenant(noGrace, actor, t.id, "restore")).rejects.toMatchObject({ code: "conflict" });

    const ctx = createExecutionContext();
    const controller = createScheduledController({ cron: "17 3 * * *", scheduledTime: Date.now() });
    await worker.scheduled(controller, noGrace, ctx);
    await waitOnExecutionContext(ctx);

    const status = async (id: string) =>
      (await env.CONTROL_DB.prepare("SELECT status FROM tenants WHERE id = ?").bind(id).first<{ status: string }>())
        ?.status;
    expect(await status(t.id)).toBe("deleted");
    // The configured 30 days still keep a tenant cancelled just now.
    await call(`/v1/tenants/${kept.id}`, { method: "DELETE", token });
    await cron("17 3 * * *");
    expect(await status(kept.id)).toBe("cancelled");
  });

  it("keeps a cancelled tenant within the grace period, and one under legal hold", async () => {
    const within = await createTenant();
    const held = await createTenant();
    const token = await adminToken();
    await call(`/v1/tenants/${within.id}`, { method: "DELETE", token });
    await call(`/v1/tenants/${held.id}`, { method: "PUT", token, body: { legalHold: true } });
    await call(`/v1/tenants/${held.id}`, { method: "DELETE", token });
    await env.CONTROL_DB.prepare("UPDATE tenants SET cancelled_at = ? WHERE id = ?").bind(inDays(-60), held.id).run();
    await cron("17 3 * * *");
    for (const id of [within.id, held.id]) {
      const row = await env.CONTROL_DB.prepare("SELECT status FROM tenants WHERE id = ?")
        .bind(id)
        .first<{ status: string }>();
      expect(row?.status).toBe("cancelled");
    }
    expect((await call(`/v1/tenants/${within.id}/restore`, { method: "POST", token })).status).toBe(200);
  });
});

describe("billing", () => {
  it("computes a statement line for each tier, with overage per started unit", async () => {
    const plans = await json<Page<{ tier: string; prices: Parameters<typeof statementLine>[4] }>>(
      await call("/v1/plans", { token: await adminToken() }),
    );
    const prices = Object.fromEntries(plans.items.map((p) => [p.tier, p.prices])) as Record<
      string,
      Parameters<typeof statementLine>[4]
    >;
    const basic = statementLine(
      "a",
      "2026-10",
      "basic",
      { requests: 60_500, records: 5_001, storageBytes: 2 ** 29 + 1 },
      prices.basic as never,
    );
    expect(basic.overage).toEqual({ requests: 10_500, records: 1, storageBytes: 1 });
    expect(basic.amountCents).toEqual({ base: 2900, overage: 11 * 5 + 1 * 10 + 1 * 50, total: 3015 });
    const pro = statementLine(
      "b",
      "2026-10",
      "pro",
      { requests: 1_000_000, records: 100_000, storageBytes: 10 * 2 ** 30 },
      prices.pro as never,
    );
    expect(pro.amountCents).toEqual({ base: 9900, overage: 0, total: 9900 });
    const ent = statementLine("c", "2026-10", "enterprise", { requests: 20_002_000 }, prices.enterprise as never);
    expect(ent.amountCents).toEqual({ base: 49900, overage: 2, total: 49902 });
  });

  it("rolls closed periods into D1 idempotently and bills them", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "x" });
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec(
        "INSERT INTO usage_counters (period, metric, value) VALUES ('2026-10', 'requests', 60500)",
      );
    });
    const rollup = async () => {
      const run = await createRun(env, "billing", "manual");
      await advanceSweeps(env);
      return env.CONTROL_DB.prepare(
        "SELECT tier, metrics, rolled_at FROM usage_rollups WHERE tenant_id = ? AND period = '2026-10'",
      )
        .bind(t.id)
        .first<{ tier: string; metrics: string; rolled_at: string }>()
        .then((row) => ({ run, row }));
    };
    const first = await rollup();
    expect(first.row?.tier).toBe("pro");
    expect(JSON.parse(first.row?.metrics ?? "{}")).toMatchObject({ requests: 60500, records: 1, storageBytes: 0 });
    const second = await rollup();
    expect(second.row).toEqual(first.row);

    const statement = await json<{ items: { tenant: string; usage: { requests: number } }[]; totalCents: number }>(
      await call("/v1/billing/statements?period=2026-10", { token: await adminToken() }),
    );
    const line = statement.items.find((l) => l.tenant === t.id);
    expect(line?.usage.requests).toBe(60500);
    expect((await call("/v1/billing/statements?period=2026-13", { token: await adminToken() })).status).toBe(400);
  });

  it("a plan change reaches the tenants on it at once", async () => {
    const token = await adminToken();
    const tier = `t${crypto.randomUUID().slice(0, 6)}`;
    const plan = await json<{ limits: Record<string, number>; prices: unknown }>(
      await call("/v1/plans", { token }).then(async (r) => {
        const all = await json<Page<{ tier: string; limits: Record<string, number>; prices: unknown }>>(r);
        return new Response(JSON.stringify(all.items.find((p) => p.tier === "pro")));
      }),
    );
    const put = (maxRecords: number) =>
      call(`/v1/plans/${tier}`, {
        method: "PUT",
        token,
        body: { name: "Custom", limits: { ...plan.limits, maxRecords }, prices: plan.prices },
      });
    expect((await put(10)).status).toBe(200);
    const t = await createTenant(uniqueId(), "alice", { tier });
    const res = await put(20);
    expect((await json<{ tenantsUpdated: number }>(res)).tenantsUpdated).toBe(1);
    const me = await json<{ limits: { maxRecords: number } }>(await call("/v1/me", { token: t.ownerToken }));
    expect(me.limits.maxRecords).toBe(20);
  });
});
