// Trials, subscriptions and plan features: a trial tenant serves like an active one until the
// reconcile sweep suspends it at its end, unless it was converted; a route behind a feature the
// plan lacks answers 403 feature_not_in_plan, and a tier, plan or subscription change lifts that at once.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { NOTES } from "./data-helpers";
import { adminToken, call, createTenant, json, uniqueId } from "./helpers";

const DAY = 86_400_000;

async function minuteCron() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

interface TenantView {
  status: string;
  trialEndsAt: string | null;
  subscription: { tier: string; startDate: string | null; endDate: string | null; features: string[] };
}

const tenantOf = async (id: string) => json<TenantView>(await call(`/v1/tenants/${id}`, { token: await adminToken() }));
const put = async (id: string, body: unknown) =>
  call(`/v1/tenants/${id}`, { method: "PUT", token: await adminToken(), body });

describe("trials", () => {
  it("trialDays starts a trial that serves like an active tenant; status trial alone lasts 14 days", async () => {
    const before = Date.now();
    const t = await createTenant(uniqueId(), "alice", { trialDays: 7 });
    const view = await tenantOf(t.id);
    expect(view.status).toBe("trial");
    const ends = Date.parse(view.trialEndsAt ?? "");
    expect(ends).toBeGreaterThanOrEqual(before + 7 * DAY);
    expect(ends).toBeLessThan(Date.now() + 7 * DAY + 1000);
    const me = await json<{ tenant: { status: string } }>(await call("/v1/me", { token: t.ownerToken }));
    expect(me.tenant.status).toBe("trial");
    const made = await call("/v1/collections", { method: "POST", token: t.ownerToken, body: NOTES });
    expect(made.status).toBe(201);

    const u = await createTenant(uniqueId(), "alice", { status: "trial" });
    const uEnds = Date.parse((await tenantOf(u.id)).trialEndsAt ?? "");
    expect(Math.round((uEnds - Date.now()) / DAY)).toBe(14);
    const listed = await json<{ items: { id: string }[] }>(
      await call("/v1/tenants?status=trial&limit=1000", { token: await adminToken() }),
    );
    expect(listed.items.map((i) => i.id)).toEqual(expect.arrayContaining([t.id, u.id]));
  });

  it("refuses trialDays on a tenant created active, and a trial end on a tenant not on trial", async () => {
    const res = await call("/v1/tenants", {
      method: "POST",
      token: await adminToken(),
      body: { name: "X", owner: { sub: "alice" }, status: "active", trialDays: 3 },
    });
    expect(res.status).toBe(400);
    const t = await createTenant();
    expect((await put(t.id, { trialEndsAt: new Date().toISOString() })).status).toBe(409);
  });

  it("the sweep suspends an ended trial; a converted one stays active", async () => {
    const lapsing = await createTenant(uniqueId(), "alice", { trialDays: 3 });
    const converted = await createTenant(uniqueId(), "alice", { trialDays: 3 });
    const past = new Date(Date.now() - 1000).toISOString();
    expect((await put(lapsing.id, { trialEndsAt: past })).status).toBe(200);
    const conv = await json<TenantView>(await put(converted.id, { trialEndsAt: null }));
    expect(conv).toMatchObject({ status: "active", trialEndsAt: null });
    expect(Date.parse(conv.subscription.startDate ?? "")).toBeGreaterThan(Date.now() - 60_000);
    // Before the sweep the ended trial still serves (the object holds the registry's last push).
    expect((await call("/v1/me", { token: lapsing.ownerToken })).status).toBe(200);

    await minuteCron();

    expect((await tenantOf(lapsing.id)).status).toBe("suspended");
    const refused = await call("/v1/me", { token: lapsing.ownerToken });
    expect(refused.status).toBe(403);
    expect((await json(refused)).code).toBe("tenant_suspended");
    expect((await tenantOf(converted.id)).status).toBe("active");
    expect((await call("/v1/me", { token: converted.ownerToken })).status).toBe(200);
    const audit = await env.CONTROL_DB.prepare("SELECT action FROM admin_audit WHERE target = ? ORDER BY id")
      .bind(lapsing.id)
      .all<{ action: string }>();
    expect(audit.results.map((r) => r.action)).toContain("tenant.trial_expired");

    // A lapsed trial does not resume until converted (the sweep would suspend it again).
    const token = await adminToken();
    expect((await call(`/v1/tenants/${lapsing.id}/resume`, { method: "POST", token })).status).toBe(409);
    expect((await put(lapsing.id, { trialEndsAt: null })).status).toBe(200);
    expect((await call(`/v1/tenants/${lapsing.id}/resume`, { method: "POST", token })).status).toBe(200);
    expect((await call("/v1/me", { token: lapsing.ownerToken })).status).toBe(200);
  });
});

const starterPlan = (features: string[]) => ({
  name: "Starter",
  limits: {
    requestsPerSecond: 1000,
    burst: 1000,
    maxRecords: 1000,
    maxStorageBytes: 1e9,
    maxMembers: 5,
    maxCollections: 5,
    maxRequestsPerMonth: 1e6,
    maxBackups: 1,
  },
  prices: {
    baseCents: 0,
    included: { requests: 0, records: 0, storageBytes: 0 },
    overageCents: { per1kRequests: 0, per1kRecords: 0, perGbStorage: 0 },
  },
  features,
});

async function putPlan(tier: string, features: string[]) {
  const res = await call(`/v1/plans/${tier}`, {
    method: "PUT",
    token: await adminToken(),
    body: starterPlan(features),
  });
  expect(res.status).toBe(200);
  return json<{ features: string[] }>(res);
}

async function expectFeatureRefused(res: Response, feature: string) {
  expect(res.status).toBe(403);
  expect(await json(res)).toMatchObject({ code: "feature_not_in_plan", feature });
}

describe("plan features", () => {
  it("the default plans grant every feature", async () => {
    const plans = await json<{ items: { tier: string; features: string[] }[] }>(
      await call("/v1/plans", { token: await adminToken() }),
    );
    for (const tier of ["basic", "pro", "enterprise"]) {
      expect(plans.items.find((p) => p.tier === tier)?.features.sort()).toEqual(
        ["aggregate", "changes", "realtime", "search", "webhooks"].sort(),
      );
    }
  });

  it("a route outside the plan answers 403 feature_not_in_plan, and a tier change allows it at once", async () => {
    const tier = `starter-${crypto.randomUUID().slice(0, 6)}`;
    await putPlan(tier, ["search"]);
    const t = await createTenant(uniqueId(), "alice", { tier });
    expect((await tenantOf(t.id)).subscription).toMatchObject({ tier, features: ["search"] });
    await call("/v1/collections", { method: "POST", token: t.ownerToken, body: NOTES });

    await expectFeatureRefused(await call("/v1/webhooks", { token: t.ownerToken }), "webhooks");
    await expectFeatureRefused(await call("/v1/collections/notes/aggregate", { token: t.ownerToken }), "aggregate");
    await expectFeatureRefused(await call("/v1/changes", { token: t.ownerToken }), "changes");
    await expectFeatureRefused(await call("/v1/realtime/tickets", { method: "POST", token: t.ownerToken }), "realtime");
    // What the plan grants, and routes behind no feature, answer as usual.
    expect((await call("/v1/search?q=x", { token: t.ownerToken })).status).toBe(200);
    expect((await call("/v1/collections/notes/records", { token: t.ownerToken })).status).toBe(200);

    expect((await put(t.id, { tier: "pro" })).status).toBe(200);
    expect((await call("/v1/webhooks", { token: t.ownerToken })).status).toBe(200);
    expect((await call("/v1/collections/notes/aggregate", { token: t.ownerToken })).status).toBe(200);
  });

  it("a plan's new feature reaches its tenants at once; a subscription adds features beyond the plan", async () => {
    const tier = `starter-${crypto.randomUUID().slice(0, 6)}`;
    await putPlan(tier, []);
    const t = await createTenant(uniqueId(), "alice", { tier });
    const u = await createTenant(uniqueId(), "alice", { tier });
    await expectFeatureRefused(await call("/v1/search?q=x", { token: t.ownerToken }), "search");
    // A PUT without features keeps the plan's own.
    const kept = await call(`/v1/plans/${tier}`, {
      method: "PUT",
      token: await adminToken(),
      body: { ...starterPlan([]), features: undefined, name: "Starter 2" },
    });
    expect((await json<{ features: string[] }>(kept)).features).toEqual([]);
    await putPlan(tier, ["search"]);
    expect((await call("/v1/search?q=x", { token: t.ownerToken })).status).toBe(200);

    await expectFeatureRefused(await call("/v1/webhooks", { token: u.ownerToken }), "webhooks");
    const res = await put(u.id, { subscription: { extraFeatures: ["webhooks"], endDate: "2027-12-31T00:00:00Z" } });
    expect((await json<TenantView>(res)).subscription).toMatchObject({
      features: ["search", "webhooks"],
      endDate: "2027-12-31T00:00:00.000Z",
    });
    expect((await call("/v1/webhooks", { token: u.ownerToken })).status).toBe(200);
    // The other tenant on the plan is unaffected.
    await expectFeatureRefused(await call("/v1/webhooks", { token: t.ownerToken }), "webhooks");
  });
});
