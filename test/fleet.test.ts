// Running the fleet: every object reports the schema it is on and the configuration it applied;
// the migrate sweep rolls a migration across the tenants (a failing one is listed and still
// serves); a push that fails is answered as pending and the reconcile sweep applies it; a create
// that never finished is completed; alerts are raised and cleared.
import {
  createExecutionContext,
  createScheduledController,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { LATEST_SCHEMA } from "../durable-objects/contract/fleet";
import { wrapNewDataKey } from "../durable-objects/contract/wrapped-key";
import migrations from "../durable-objects/drizzle/migrations.js";
import worker from "../src/index";
import { advanceSweeps, visitCount } from "../src/sweeps/sweep-runner";
import { createRun, getRun } from "../src/sweeps/sweep-runs";
import { create, tenantWithNotes } from "./data-helpers";
import { adminToken, type CallOptions, call, createTenant, json, uniqueId, userToken } from "./helpers";
import { expectDocumented } from "./openapi-check";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
const entries = migrations.journal.entries;
const last = entries.at(-1) as (typeof entries)[number];
const previous = entries.at(-2) as (typeof entries)[number];

/** The DDL that undoes an additive drizzle migration (tables, indexes, triggers, added columns). */
function revertOf(sql: string): string[] {
  return sql
    .split("--> statement-breakpoint")
    .map((s) => s.trim())
    .filter(Boolean)
    .reverse()
    .map((stmt) => {
      const table = /^CREATE (?:VIRTUAL )?TABLE (?:IF NOT EXISTS )?[`"]?(\w+)/i.exec(stmt);
      if (table) return `DROP TABLE IF EXISTS "${table[1]}"`;
      const index = /^CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?[`"]?(\w+)/i.exec(stmt);
      if (index) return `DROP INDEX IF EXISTS "${index[1]}"`;
      const trigger = /^CREATE TRIGGER (?:IF NOT EXISTS )?[`"]?(\w+)/i.exec(stmt);
      if (trigger) return `DROP TRIGGER IF EXISTS "${trigger[1]}"`;
      const column = /^ALTER TABLE [`"]?(\w+)[`"]? ADD (?:COLUMN )?[`"]?(\w+)/i.exec(stmt);
      if (column) return `ALTER TABLE "${column[1]}" DROP COLUMN "${column[2]}"`;
      throw new Error(`The test cannot undo this statement of ${last.tag}: ${stmt.slice(0, 80)}`);
    });
}

/**
 * Puts a live tenant object back on the schema before the newest migration, as it was before
 * this deployment. With `broken`, the newest migration's objects stay in place while its record
 * goes: re-running it then fails ("already exists", or "duplicate column" for an added column) and is rolled back.
 */
async function rewind(tenant: string, broken = false) {
  const sql = migrations.migrations[`m${String(last.idx).padStart(4, "0")}`] as string;
  await runInDurableObject(stubOf(tenant), (_instance, state) => {
    if (!broken) for (const stmt of revertOf(sql)) state.storage.sql.exec(stmt);
    state.storage.sql.exec("DELETE FROM __drizzle_migrations WHERE created_at >= ?", last.when);
  });
  // What the registry held from this tenant's report under the previous deployment.
  await env.CONTROL_DB.prepare("UPDATE tenants SET schema_tag = ? WHERE id = ?").bind(previous.tag, tenant).run();
}

/** A TENANT_DB whose stubs fail the named methods (for `only` tenants, or all), as a lost connection would. */
function failing(methods: string[], only?: string[]) {
  const ns = env.TENANT_DB;
  const broken = new Set((only ?? []).map((t) => ns.idFromName(t).toString()));
  return {
    idFromName: (name: string) => ns.idFromName(name),
    jurisdiction: () => ns,
    get(id: DurableObjectId) {
      const stub = ns.get(id);
      const fails = only === undefined || broken.has(id.toString());
      return new Proxy(stub, {
        get(target, prop) {
          if (fails && methods.includes(String(prop)))
            return () => Promise.reject(new Error("Network connection lost."));
          const value = (target as unknown as Record<string | symbol, unknown>)[prop];
          return typeof value === "function"
            ? (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args)
            : value;
        },
      });
    },
  } as unknown as Env["TENANT_DB"];
}

/** A request through the Worker with some bindings replaced. */
async function callOn(bindings: Partial<Env>, path: string, opts: CallOptions = {}, documented = true) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const req = new Request(`https://silo.test${path}`, {
    method: opts.method ?? "GET",
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(req, { ...env, ...bindings } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return documented ? expectDocumented(req, res) : res;
}

async function cron(expression: string, bindings: Partial<Env> = {}) {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: expression, scheduledTime: Date.now() }),
    { ...env, ...bindings } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

interface Run {
  id: string;
  kind: string;
  status: string;
  tenants: number;
  failures: number;
  counts: Record<string, number>;
  errors: { tenant: string; error: string }[];
}

/** Advances the run here (not on a later cron tick) until it completes; another invocation may hold it meanwhile. */
async function finish(id: string, bindings: Partial<Env> = {}): Promise<Run> {
  const budget = { maxTenants: 500, pageSize: 50, concurrency: 6, maxMillis: 60_000 };
  await vi.waitFor(
    async () => {
      await advanceSweeps({ ...env, ...bindings } as Env, budget);
      expect((await getRun(env, id))?.status).toMatch(/^(completed|failed)$/);
    },
    { timeout: 90_000, interval: 100 },
  );
  return json<Run>(await call(`/v1/sweeps/${id}`, { token: await adminToken() }));
}

interface Schema {
  latest: string;
  tenants: Record<string, number>;
  failed: { tenant: string; error: string; at: string; schema: string | null }[];
}
interface Alert {
  tenant: string;
  kind: string;
  metric: string | null;
  value: number;
  limit: number | null;
  since: string;
}

const fleetSchema = async () => json<Schema>(await call("/v1/fleet/schema", { token: await adminToken() }));
async function alertsOf(tenant: string): Promise<Alert[]> {
  const page = await json<{ items: Alert[] }>(await call("/v1/fleet/alerts?limit=1000", { token: await adminToken() }));
  return page.items.filter((a) => a.tenant === tenant);
}
const schemaTagOf = async (tenant: string) =>
  (
    await env.CONTROL_DB.prepare("SELECT schema_tag FROM tenants WHERE id = ?")
      .bind(tenant)
      .first<{ schema_tag: string }>()
  )?.schema_tag;

describe("schema rollouts", () => {
  it("a new tenant reports the newest schema; only platform admins read the fleet", async () => {
    const t = await createTenant();
    expect(await schemaTagOf(t.id)).toBe(LATEST_SCHEMA);
    expect(LATEST_SCHEMA).toBe(last.tag);
    const schema = await fleetSchema();
    expect(schema.latest).toBe(LATEST_SCHEMA);
    expect(schema.tenants[LATEST_SCHEMA]).toBeGreaterThanOrEqual(1);
    expect((await call("/v1/fleet/schema", { token: t.ownerToken })).status).toBe(403);
    expect((await call("/v1/fleet/alerts", { token: t.ownerToken })).status).toBe(403);
  });

  it("the migrate sweep rolls the newest migration across 100 tenants; the one that fails is listed and still serves", async () => {
    const tag = uniqueId("roll");
    const ids = Array.from({ length: 100 }, (_, i) => `${tag}-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < ids.length; i += 10) await Promise.all(ids.slice(i, i + 10).map((id) => createTenant(id)));
    const bad = ids[37] as string;
    for (let i = 0; i < ids.length; i += 10) {
      await Promise.all(ids.slice(i, i + 10).map((id) => rewind(id, id === bad)));
    }
    const before = await fleetSchema();
    expect(before.tenants[previous.tag]).toBeGreaterThanOrEqual(100);

    const started = await call("/v1/sweeps", { method: "POST", token: await adminToken(), body: { kind: "migrate" } });
    expect(started.status).toBe(202);
    const startedRun = await json<Run>(started);
    expect(startedRun.kind).toBe("migrate");
    expect(startedRun.counts.total).toBeGreaterThanOrEqual(100);
    const run = await finish(startedRun.id);
    expect(run.status).toBe("completed");
    expect(run.tenants).toBe(run.counts.total);
    expect(run.counts.migrated).toBeGreaterThanOrEqual(99);
    expect(run.errors.filter((e) => ids.includes(e.tenant))).toEqual([
      { tenant: bad, error: expect.stringMatching(/^migration failed: .*(already exists|duplicate column)/) },
    ]);

    const after = await fleetSchema();
    expect(after.failed.filter((f) => ids.includes(f.tenant))).toEqual([
      {
        tenant: bad,
        error: expect.stringMatching(/already exists|duplicate column/),
        at: expect.any(String),
        schema: previous.tag,
      },
    ]);
    for (const id of ids) expect(await schemaTagOf(id)).toBe(id === bad ? previous.tag : LATEST_SCHEMA);
    // Each migrated object really is on the newest schema; the failed one was rolled back whole.
    const applied = async (id: string) =>
      runInDurableObject(stubOf(id), (_i, state) =>
        Number(
          state.storage.sql.exec<{ at: number }>("SELECT max(created_at) AS at FROM __drizzle_migrations").one().at,
        ),
      );
    expect(await applied(ids[0] as string)).toBe(last.when);
    expect(await applied(bad)).toBe(previous.when);
    // The failing tenant serves on its old schema.
    const me = await call("/v1/me", { token: await userToken(bad, "alice") });
    expect(me.status).toBe(200);
    expect((await alertsOf(bad)).map((a) => [a.kind, a.metric])).toEqual([["migration_failed", previous.tag]]);

    // Once what blocked it is gone, the next run migrates it and the failure clears.
    await runInDurableObject(stubOf(bad), (_i, state) => {
      const sql = migrations.migrations[`m${String(last.idx).padStart(4, "0")}`] as string;
      for (const stmt of revertOf(sql)) state.storage.sql.exec(stmt);
    });
    const again = await finish((await createRun(env, "migrate", "manual")).id);
    expect(again.errors.filter((e) => ids.includes(e.tenant))).toEqual([]);
    expect(await schemaTagOf(bad)).toBe(LATEST_SCHEMA);
    expect((await fleetSchema()).failed.map((f) => f.tenant)).not.toContain(bad);
    expect(await alertsOf(bad)).toEqual([]);
  }, 120_000);
});

describe("registry and objects in step", () => {
  it("a suspend whose push fails answers 503 (saved, pending); a repeat pushes again; reconcile applies it", async () => {
    const t = await createTenant();
    const token = await adminToken();
    const down = { TENANT_DB: failing(["configure"], [t.id]) };
    const res = await callOn(down, `/v1/tenants/${t.id}/suspend`, { method: "POST", token });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("60");
    const problem = await json<{ code: string; detail: string; config: { version: number; applied: number } }>(res);
    expect(problem.code).toBe("service_unavailable");
    expect(problem.detail).toContain("reconcile");
    expect(problem.detail).not.toMatch(/repeat/i);
    expect(problem.config).toEqual({ version: 2, applied: 1 });
    // The registry says suspended; the object, honestly reported, has not applied it.
    const tenant = await json<{ status: string; config: { version: number; applied: number } }>(
      await call(`/v1/tenants/${t.id}`, { token }),
    );
    expect(tenant).toMatchObject({ status: "suspended", config: { version: 2, applied: 1 } });
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    expect((await alertsOf(t.id)).map((a) => [a.kind, a.value, a.limit])).toEqual([["config_behind", 1, 2]]);
    // Repeating the request is not refused as a conflict: it pushes again.
    expect((await callOn(down, `/v1/tenants/${t.id}/suspend`, { method: "POST", token })).status).toBe(503);

    // The per-minute cron starts a reconcile run; the object stops serving within it.
    await cron("* * * * *");
    const runs = await json<{ items: Run[] }>(await call("/v1/sweeps?limit=20", { token }));
    const reconcile = runs.items.find((r) => r.kind === "reconcile");
    expect(reconcile?.status).toBe("completed");
    expect(reconcile?.counts.configPushed).toBeGreaterThanOrEqual(1);
    const refused = await call("/v1/me", { token: t.ownerToken });
    expect(refused.status).toBe(403);
    expect((await json(refused)).code).toBe("tenant_suspended");
    expect(
      (await json<{ config: { version: number; applied: number } }>(await call(`/v1/tenants/${t.id}`, { token })))
        .config,
    ).toEqual({ version: 2, applied: 2 });
    expect(await alertsOf(t.id)).toEqual([]);
    // Applied now: a further suspend is the usual conflict, and resume works at once.
    expect((await call(`/v1/tenants/${t.id}/suspend`, { method: "POST", token })).status).toBe(409);
    expect((await call(`/v1/tenants/${t.id}/resume`, { method: "POST", token })).status).toBe(200);
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
  });

  it("a limits change whose push fails is applied by reconcile; the cron starts no run when nothing is behind", async () => {
    const t = await createTenant();
    const token = await adminToken();
    const down = { TENANT_DB: failing(["configure"], [t.id]) };
    const put = await callOn(down, `/v1/tenants/${t.id}`, {
      method: "PUT",
      token,
      body: { limits: { maxMembers: 1 } },
    });
    expect(put.status).toBe(503);
    // The object still holds the old limits: a second member is admitted.
    const added = await call("/v1/members", {
      method: "POST",
      token: t.ownerToken,
      body: { sub: "bob", roles: ["viewer"] },
    });
    expect(added.status).toBe(201);
    // A reconcile run whose push fails again lists the tenant and leaves it behind.
    const failed = await finish((await createRun(env, "reconcile", "manual")).id, down);
    expect(failed.errors.map((e) => e.tenant)).toContain(t.id);
    expect((await alertsOf(t.id)).map((a) => a.kind).sort()).toEqual(["config_behind", "sweep_failed"]);
    const ok = await finish((await createRun(env, "reconcile", "manual")).id);
    expect(ok.errors.map((e) => e.tenant)).not.toContain(t.id);
    const third = await call("/v1/members", {
      method: "POST",
      token: t.ownerToken,
      body: { sub: "carol", roles: ["viewer"] },
    });
    expect(third.status).toBe(403);
    expect(await alertsOf(t.id)).toEqual([]);

    expect(await visitCount(env, "reconcile")).toBe(0);
    const count = async () =>
      (
        await env.CONTROL_DB.prepare("SELECT count(*) AS n FROM sweep_runs WHERE kind = 'reconcile'").first<{
          n: number;
        }>()
      )?.n;
    const runsBefore = await count();
    await cron("* * * * *");
    expect(await count()).toBe(runsBefore);
  });

  it("reconcile finishes a create stuck in provisioning: the object provisioned from the registry, or already there", async () => {
    const token = await adminToken();
    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    // (a) The registry row was written, the object never provisioned (a crash in between).
    const never = uniqueId("stuck");
    const insert = (id: string, createdAt: string) =>
      env.CONTROL_DB.prepare(
        `INSERT INTO tenants (id, name, status, tier, owner_sub, wrapped_key, created_at, updated_at)
         VALUES (?, ?, 'provisioning', 'pro', 'olga', ?, ?, ?)`,
      )
        .bind(id, `Stuck ${id}`, wrapNewDataKey(env), createdAt, createdAt)
        .run();
    await insert(never, longAgo);
    // (b) The object was provisioned; the answer was lost before the row became active.
    const lost = await createTenant(uniqueId("lost"));
    await env.CONTROL_DB.prepare("UPDATE tenants SET status = 'provisioning', created_at = ? WHERE id = ?")
      .bind(longAgo, lost.id)
      .run();
    // (c) A create in flight right now is left alone.
    const fresh = uniqueId("fresh");
    await insert(fresh, new Date().toISOString());

    expect((await call(`/v1/tenants/${never}`, { token })).status).toBe(404);
    const listed = await json<{ items: { id: string }[] }>(await call(`/v1/tenants?q=${lost.id}`, { token }));
    expect(listed.items).toEqual([]);
    expect((await alertsOf(never)).map((a) => a.kind)).toEqual(["provisioning_stuck"]);

    await cron("* * * * *");
    const stuck = await json<{ status: string; owner: string; config: { version: number; applied: number } }>(
      await call(`/v1/tenants/${never}`, { token }),
    );
    expect(stuck).toMatchObject({ status: "active", owner: "olga", config: { version: 1, applied: 1 } });
    const me = await call("/v1/me", { token: await userToken(never, "olga") });
    expect(me.status).toBe(200);
    expect((await json<{ principal: { roles: string[] } }>(me)).principal.roles).toEqual(["owner"]);
    expect((await call(`/v1/tenants/${lost.id}`, { token })).status).toBe(200);
    // Not provisioned twice: one provisioning event in its chain.
    const audit = await json<{ items: { action: string }[] }>(
      await call("/v1/audit?limit=100", { token: lost.ownerToken }),
    );
    expect(audit.items.filter((e) => e.action === "tenant.provisioned")).toHaveLength(1);
    expect(
      (await env.CONTROL_DB.prepare("SELECT status FROM tenants WHERE id = ?").bind(fresh).first<{ status: string }>())
        ?.status,
    ).toBe("provisioning");
    expect(await alertsOf(never)).toEqual([]);
  });
  it("a create whose object does not answer keeps its row and is finished by reconcile, not reissued", async () => {
    const token = await adminToken();
    const id = uniqueId("lostcreate");
    const body = { id, name: "Lost", tier: "pro", owner: { sub: "pat" } };
    const res = await callOn({ TENANT_DB: failing(["provision"], [id]) }, "/v1/tenants", {
      method: "POST",
      token,
      body,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("180");
    expect((await json<{ detail: string }>(res)).detail).toContain("reconcile");
    expect((await call(`/v1/tenants/${id}`, { token })).status).toBe(404);
    // The id stays claimed: a second create is refused, not provisioned twice.
    expect((await call("/v1/tenants", { method: "POST", token, body })).status).toBe(409);
    await env.CONTROL_DB.prepare("UPDATE tenants SET created_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 10 * 60_000).toISOString(), id)
      .run();
    await cron("* * * * *");
    expect((await json<{ status: string }>(await call(`/v1/tenants/${id}`, { token }))).status).toBe("active");
    expect((await call("/v1/me", { token: await userToken(id, "pat") })).status).toBe(200);
  });
});

describe("alerts", () => {
  it("near a limit: raised from the object's report over 80%, cleared when the limit rises", async () => {
    const t = await tenantWithNotes();
    const token = await adminToken();
    await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { limits: { maxRecords: 10 } } });
    for (let i = 0; i < 8; i++) await create(t.ownerToken, { title: `n${i}` });
    const report = async () => {
      const r = await stubOf(t.id).fleetReport();
      if (!r.ok) throw new Error(r.detail);
      const { recordReport } = await import("../src/control/fleet-reports");
      await recordReport(env, t.id, r.value);
    };
    await report();
    expect(await alertsOf(t.id)).toEqual([]); // 8 of 10 is not over 80%
    await create(t.ownerToken, { title: "n8" });
    await report();
    expect(await alertsOf(t.id)).toEqual([
      { tenant: t.id, kind: "near_limit", metric: "records", value: 9, limit: 10, since: expect.any(String) },
    ]);
    await call(`/v1/tenants/${t.id}`, { method: "PUT", token, body: { limits: { maxRecords: 1000 } } });
    expect(await alertsOf(t.id)).toEqual([]);
  });

  it("5xx answers in the last hour are counted per tenant and age out", async () => {
    const t = await createTenant();
    const down = { TENANT_DB: failing(["me"], [t.id]) };
    const res = await callOn(down, "/v1/me", { token: t.ownerToken }, false);
    expect(res.status).toBeGreaterThanOrEqual(500);
    await callOn(down, "/v1/me", { token: t.ownerToken }, false);
    const [alert] = await alertsOf(t.id);
    expect(alert).toMatchObject({ kind: "errors", metric: "5xx", value: 2, limit: null });
    // A 4xx is no server error.
    const other = await createTenant();
    expect((await call("/v1/collections/nope", { token: other.ownerToken })).status).toBe(404);
    expect(await alertsOf(other.id)).toEqual([]);
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString().slice(0, 16);
    await env.CONTROL_DB.prepare("UPDATE tenant_errors SET minute = ? WHERE tenant_id = ?")
      .bind(twoHoursAgo, t.id)
      .run();
    expect(await alertsOf(t.id)).toEqual([]);
  });

  it("the portal's front page shows the alerts", async () => {
    const t = await createTenant();
    await callOn({ TENANT_DB: failing(["configure"], [t.id]) }, `/v1/tenants/${t.id}/suspend`, {
      method: "POST",
      token: await adminToken(),
    });
    const base = "https://silo.test";
    const signIn = await worker.fetch(
      new Request(`${base}/admin/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
        body: new URLSearchParams({ token: await adminToken("portal-admin") }).toString(),
        redirect: "manual",
      }),
      env,
      createExecutionContext(),
    );
    expect(signIn.headers.get("location")).toBe("/admin/fleet");
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const page = await (
      await worker.fetch(new Request(`${base}/admin/fleet`, { headers: { cookie } }), env, createExecutionContext())
    ).text();
    expect(page).toContain(`href="/admin/tenants/${t.id}"`);
    expect(page).toMatch(/Config not applied/);
    expect(page).toContain(LATEST_SCHEMA);
  });
});

vi.setConfig({ testTimeout: 120_000 });
