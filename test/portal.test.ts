// The admin portal on the server side: sign-in exchanges a platform-admin token for a signed,
// HttpOnly, Secure, SameSite=Strict cookie; every form needs the session's CSRF token; actions
// go through the API (and land in the admin audit); bad input comes back as a form error.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminToken, call, callRaw, createTenant, json, uniqueId } from "./helpers";
import { BASE, browse } from "./portal-helpers";

/** The attributes of the usage bar of one metric on a tenant page. */
function meterOf(pageHtml: string, metric: string) {
  const tag = new RegExp(`<div class="bar (\\w+)" role="meter" aria-labelledby="meter-${metric}"[^>]*>`).exec(pageHtml);
  if (!tag) return null;
  const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(tag[0])?.[1];
  return {
    level: tag[1],
    min: attr("aria-valuemin"),
    max: attr("aria-valuemax"),
    now: attr("aria-valuenow"),
    text: attr("aria-valuetext"),
  };
}

async function signIn(sub = "portal-admin") {
  const res = await browse("/admin/sign-in", { method: "POST", form: { token: await adminToken(sub) }, origin: BASE });
  const setCookie = res.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0] as string;
  const page = await (await browse("/admin/tenants", { cookie })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] as string;
  return { res, setCookie, cookie, csrf };
}

describe("portal session", () => {
  it("shows the sign-in form and refuses a token that is not a platform admin's", async () => {
    const form = await browse("/admin");
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('<label for="token">');
    const t = await createTenant();
    const refused = await browse("/admin/sign-in", { method: "POST", form: { token: t.ownerToken }, origin: BASE });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("set-cookie")).toBeNull();
    expect((await browse("/admin/tenants")).headers.get("location")).toBe("/admin");
  });

  it("exchanges an admin token for a short-lived HttpOnly, Secure, SameSite=Strict cookie", async () => {
    const { res, setCookie, csrf } = await signIn();
    expect(res.status).toBe(303);
    expect(setCookie).toMatch(/^silo_session=[^;]+; Path=\/admin; HttpOnly; Secure; SameSite=Strict; Max-Age=3600$/);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it("refuses a tampered cookie, a cross-site sign-in, and forms without the CSRF token", async () => {
    const { cookie, csrf } = await signIn();
    const tampered = `${cookie.slice(0, -3)}xyz`;
    expect((await browse("/admin/tenants", { cookie: tampered })).headers.get("location")).toBe("/admin");
    const crossSite = await browse("/admin/sign-in", {
      method: "POST",
      form: { token: await adminToken() },
      origin: "https://evil.example",
    });
    expect(crossSite.status).toBe(403);
    const id = uniqueId("csrf");
    const forms: Record<string, string>[] = [
      { name: "x", owner: "o", tier: "basic", id },
      { name: "x", owner: "o", tier: "basic", id, _csrf: "forged" },
    ];
    for (const form of forms) {
      expect((await browse("/admin/tenants", { method: "POST", cookie, form })).status).toBe(403);
    }
    expect((await call(`/v1/tenants/${id}`, { token: await adminToken() })).status).toBe(404);
    const sameCsrfOtherOrigin = await browse("/admin/tenants", {
      method: "POST",
      cookie,
      origin: "https://evil.example",
      form: { name: "x", owner: "o", tier: "basic", id, _csrf: csrf },
    });
    expect(sameCsrfOtherOrigin.status).toBe(403);
  });

  it("signs out by clearing the cookie", async () => {
    const { cookie, csrf } = await signIn();
    const out = await browse("/admin/sign-out", { method: "POST", cookie, form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/^silo_session=; .*Max-Age=0$/);
  });
});

describe("portal pages and forms", () => {
  it("creates a tenant with the wizard, shows form errors, lists and filters, and audits the admin", async () => {
    const { cookie, csrf } = await signIn("wizard-admin");
    const bad = await browse("/admin/tenants", {
      method: "POST",
      cookie,
      form: { _csrf: csrf, id: "Bad_Id", name: "Kept name", tier: "pro", owner: "o" },
    });
    expect(bad.status).toBe(400);
    const badPage = await bad.text();
    expect(badPage).toContain('role="alert"');
    expect(badPage).toContain('value="Kept name"');
    const id = uniqueId("wiz");
    const created = await browse("/admin/tenants", {
      method: "POST",
      cookie,
      form: { _csrf: csrf, id, name: "Wizard Co", tier: "pro", owner: "wendy", jurisdiction: "" },
    });
    expect(created.status).toBe(303);
    expect(created.headers.get("location")).toBe(`/admin/tenants/${id}?flash=created`);
    const listed = await (await browse(`/admin/tenants?q=${id}&tier=pro`, { cookie })).text();
    expect(listed).toContain(`href="/admin/tenants/${id}"`);
    const filteredOut = await (await browse(`/admin/tenants?q=${id}&status=suspended`, { cookie })).text();
    expect(filteredOut).not.toContain(`href="/admin/tenants/${id}"`);
    const row = await env.CONTROL_DB.prepare(
      "SELECT actor FROM admin_audit WHERE target = ? AND action = 'tenant.create'",
    )
      .bind(id)
      .first<{ actor: string }>();
    expect(row?.actor).toBe("admin:wizard-admin");
  });

  it("starts a trial with extra features and a subscription end from the wizard, and shows them", async () => {
    const { cookie, csrf } = await signIn("trial-admin");
    const id = uniqueId("wiztrial");
    const form = { _csrf: csrf, id, name: "Trial Co", tier: "basic", owner: "wendy", jurisdiction: "" };
    const created = await browse("/admin/tenants", {
      method: "POST",
      cookie,
      form: { ...form, trialDays: "10", endDate: "2027-06-30", extraFeatures: "webhooks" },
    });
    expect(created.status).toBe(303);
    const tenant = await json<{ status: string; trialEndsAt: string; subscription: Record<string, unknown> }>(
      await call(`/v1/tenants/${id}`, { token: await adminToken() }),
    );
    expect(tenant.status).toBe("trial");
    expect(Math.round((Date.parse(tenant.trialEndsAt) - Date.now()) / 86_400_000)).toBe(10);
    expect(tenant.subscription).toMatchObject({ endDate: "2027-06-30T00:00:00.000Z", extraFeatures: ["webhooks"] });
    const page = await (await browse(`/admin/tenants/${id}`, { cookie })).text();
    expect(page).toContain("trial (trial ends");
    const wizardPage = await (await browse("/admin/tenants/new", { cookie })).text();
    expect(wizardPage).toContain('name="trialDays"');
    expect(wizardPage).toContain('name="extraFeatures" value="aggregate"');
    // The API's refusal of a bad trial length comes back as the form's error, the values kept.
    const bad = await browse("/admin/tenants", {
      method: "POST",
      cookie,
      form: { ...form, id: uniqueId("wiztrial"), trialDays: "999" },
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('value="999"');
  });

  it("sets an external id with the wizard or once on the tenant page, shows it, and refuses a taken one", async () => {
    const { cookie, csrf } = await signIn("ext-admin");
    const id = uniqueId("wizext");
    const org = `org_${crypto.randomUUID().slice(0, 8)}Wz`;
    const created = await browse("/admin/tenants", {
      method: "POST",
      cookie,
      form: { _csrf: csrf, id, name: "Ext Co", tier: "pro", owner: "wendy", jurisdiction: "", externalId: org },
    });
    expect(created.status).toBe(303);
    const page = await (await browse(`/admin/tenants/${id}`, { cookie })).text();
    expect(page).toContain(`<code>${org}</code>`);
    expect(page).not.toContain('name="externalId"'); // set once: no field to change it
    const other = await createTenant();
    const taken = await browse(`/admin/tenants/${other.id}/update`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, tier: "pro", externalId: org },
    });
    expect(taken.status).toBe(409);
    const later = `org_${crypto.randomUUID().slice(0, 8)}Up`;
    const set = await browse(`/admin/tenants/${other.id}/update`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, tier: "pro", externalId: later },
    });
    expect(set.status).toBe(303);
    expect(await (await browse(`/admin/tenants/${other.id}`, { cookie })).text()).toContain(`<code>${later}</code>`);
  });

  it("the tenant page shows state, usage and verified audit events; actions need confirmation", async () => {
    const t = await createTenant();
    const { cookie, csrf } = await signIn();
    const pageHtml = await (await browse(`/admin/tenants/${t.id}`, { cookie })).text();
    expect(pageHtml).toContain("Chain verified");
    expect(pageHtml).toContain("<svg");
    expect(pageHtml).toContain("tenant.provisioned");
    const unconfirmed = await browse(`/admin/tenants/${t.id}/action`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, action: "suspend" },
    });
    expect(unconfirmed.status).toBe(303);
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    await browse(`/admin/tenants/${t.id}/action`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, action: "suspend", confirm: "yes" },
    });
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(403);
    await browse(`/admin/tenants/${t.id}/action`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, action: "resume", confirm: "yes" },
    });
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    const updated = await browse(`/admin/tenants/${t.id}/update`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, tier: "enterprise", requestsPerSecond: "7", maxRecords: "" },
    });
    expect(updated.status).toBe(303);
    const me = await (await call("/v1/me", { token: t.ownerToken })).json<{
      tenant: { tier: string };
      limits: { requestsPerSecond: number };
    }>();
    expect(me).toMatchObject({ tenant: { tier: "enterprise" }, limits: { requestsPerSecond: 7 } });
    const invalid = await browse(`/admin/tenants/${t.id}/update`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, tier: "gold" },
    });
    expect(invalid.status).toBe(400);
    const notANumber = await browse(`/admin/tenants/${t.id}/update`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, tier: "enterprise", requestsPerSecond: "lots", maxRecords: "" },
    });
    expect(notANumber.status).toBe(400);
    expect(await notANumber.text()).toContain("requestsPerSecond must be a whole number");
    const kept = await (await call("/v1/me", { token: t.ownerToken })).json<{
      limits: { requestsPerSecond: number };
    }>();
    expect(kept.limits.requestsPerSecond).toBe(7);
  });

  it("the tenant page reads limits in units and shows usage against each limit as a bar", async () => {
    const t = await createTenant(uniqueId("bars"), "alice", {
      limits: { requestsPerSecond: 1000, burst: 1000, maxRecords: 10, maxCollections: 1 },
    });
    const owner = { token: t.ownerToken, method: "POST" };
    expect(
      (await call("/v1/collections", { ...owner, body: { name: "notes", fields: [{ name: "n", type: "integer" }] } }))
        .status,
    ).toBe(201);
    for (let n = 0; n < 9; n++)
      expect((await call("/v1/collections/notes/records", { ...owner, body: { n } })).status).toBe(201);
    const file = await callRaw("/v1/files/a.bin", {
      method: "PUT",
      token: t.ownerToken,
      body: new Uint8Array(1536),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(file.status).toBe(201);
    const { cookie } = await signIn();
    const pageHtml = await (await browse(`/admin/tenants/${t.id}`, { cookie })).text();
    // The pro plan's limits, in units and with separators, never the raw byte count.
    const limits = /<caption class="hint">Effective limits<\/caption>(.*?)<\/table>/s.exec(pageHtml)?.[1] ?? "";
    expect(limits).toContain('<th scope="row">Storage</th><td>50 GiB</td>');
    expect(limits).toContain('<th scope="row">Requests per month</th><td>5,000,000</td>');
    expect(limits).toContain('<th scope="row">Requests per second</th><td>1,000 req/s (override)</td>');
    expect(limits).not.toContain("53687091200");
    expect(limits).not.toContain("maxStorageBytes");
    expect(meterOf(pageHtml, "storageBytes")).toEqual({
      level: "ok",
      min: "0",
      max: "53687091200",
      now: "1536",
      text: "1.5 KiB of 50 GiB (&lt;0.01%)",
    });
    expect(meterOf(pageHtml, "records")).toEqual({
      level: "warn",
      min: "0",
      max: "10",
      now: "9",
      text: "9 of 10 (90%)",
    });
    expect(meterOf(pageHtml, "collections")).toMatchObject({ level: "critical", now: "1", text: "1 of 1 (100%)" });
    expect(meterOf(pageHtml, "members")).toMatchObject({ level: "ok", max: "50", now: "1", text: "1 of 50 (2%)" });
    expect(meterOf(pageHtml, "requests")?.max).toBe("5000000");
    expect(pageHtml).toContain(
      '<span class="bar-text">9 of 10 (90%)</span> <strong class="level-warn">near the limit</strong>',
    );
    expect(pageHtml).toContain('<strong class="level-critical">at the limit</strong>');
  });

  it("answers every other form's bad input with a form error and changes nothing", async () => {
    const t = await createTenant();
    const { cookie, csrf } = await signIn();
    const badSweep = await browse("/admin/sweeps", {
      method: "POST",
      cookie,
      form: { _csrf: csrf, kind: "everything" },
    });
    expect(badSweep.status).toBe(400);
    expect(await badSweep.text()).toContain('role="alert"');
    const goodSweep = await browse("/admin/sweeps", { method: "POST", cookie, form: { _csrf: csrf, kind: "billing" } });
    expect(goodSweep.status).toBe(303);
    const sweeps = await (await browse("/admin/sweeps", { cookie })).text();
    expect(sweeps).toMatch(
      /<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC<\/td><td>billing<\/td><td>manual<\/td><td>\w+<\/td><td>(running|\d+ ms|[\d.]+ s|\d+ min( \d+ s)?)<\/td>/,
    );
    const badPeriod = await browse("/admin/billing?period=last-month", { cookie });
    expect(badPeriod.status).toBe(400);
    expect(await badPeriod.text()).toContain('role="alert"');
    const badAction = await browse(`/admin/tenants/${t.id}/action`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, action: "delete-everything", confirm: "yes" },
    });
    expect(badAction.status).toBe(303);
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    const noPart = await browse(`/admin/tenants/${t.id}/exports/nope/download?part=secrets.txt`, { cookie });
    expect(noPart.status).toBe(404);
    expect(await noPart.text()).toContain('role="alert"');
  });

  it("renders plans, billing, sweeps and the API reference", async () => {
    const { cookie } = await signIn();
    const plans = await (await browse("/admin/plans", { cookie })).text();
    expect(plans).toContain("Enterprise (enterprise)");
    const pro = /<tr><td>[^<]*\(pro\)<\/td>.*?<\/tr>/.exec(plans)?.[0] ?? "";
    expect(pro).toContain('<td class="num">$99.00</td>');
    expect(pro).toContain('<td class="num">50 GiB</td>');
    expect(pro).toContain('<td class="num">5,000,000</td>');
    expect(pro).toContain('<td class="num">50 req/s</td>');
    expect(plans).toContain('<th scope="col" class="num">Requests per month</th>');
    expect(plans).not.toContain("53687091200");
    expect((await browse("/admin/billing?period=2026-10", { cookie })).status).toBe(200);
    expect((await browse("/admin/sweeps", { cookie })).status).toBe(200);
    const docs = await browse("/docs");
    const text = await docs.text();
    expect(docs.status).toBe(200);
    expect(text).toContain("POST /v1/tenants");
    expect(text).toContain("GET /v1/collections/{name}/records");
    expect(text).not.toMatch(/<script/i);
  });
});

describe("portal: the change feed on the tenant page", () => {
  it("shows the latest changes and each webhook's deliveries", async () => {
    const t = await createTenant();
    await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "notes", fields: [{ name: "title", type: "string" }] },
    });
    await call("/v1/webhooks", { method: "POST", token: t.ownerToken, body: { url: "https://hooks.example/portal" } });
    const rec = await (
      await call("/v1/collections/notes/records", { method: "POST", token: t.ownerToken, body: { title: "shown" } })
    ).json<{ id: string }>();
    const { cookie } = await signIn();
    const html = await (await browse(`/admin/tenants/${t.id}`, { cookie })).text();
    const changes = html.slice(html.indexOf('id="changes"'), html.indexOf('id="webhooks"'));
    expect(changes).toContain(`notes/${rec.id} v1`);
    expect(changes).toContain("record.created");
    const hooks = html.slice(html.indexOf('id="webhooks"'));
    expect(hooks).toContain("https://hooks.example/portal");
  });
});

describe("portal: cost and margin on the billing page", () => {
  it("shows each tenant's platform cost beside its price, and the margin", async () => {
    const t = await createTenant();
    const metrics = { requests: 1_000_000, rowsWritten: 2_000_000 }; // $0.45 + $2.00 at list prices
    await env.CONTROL_DB.prepare(
      "INSERT INTO usage_rollups (tenant_id, period, tier, metrics, rolled_at) VALUES (?, '2026-08', 'pro', ?, ?)",
    )
      .bind(t.id, JSON.stringify(metrics), new Date().toISOString())
      .run();
    const { cookie } = await signIn();
    const res = await browse("/admin/billing?period=2026-08", { cookie });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<th scope="col" class="num">Platform cost</th><th scope="col" class="num">Margin</th>');
    const row = html.slice(html.indexOf(`/admin/tenants/${t.id}`));
    expect(row.slice(0, row.indexOf("</tr>"))).toContain(
      '<td class="num">$99.00</td><td class="num">$2.45</td><td class="num">$96.55</td>',
    );
  });
});
