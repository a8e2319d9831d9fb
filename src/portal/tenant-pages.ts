// Portal pages for tenants: the list (search, filters, pages), the creation wizard, and a
// tenant's page with its configuration, usage, audit trail, members and actions.
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { FEATURES } from "../../durable-objects/contract/features";
import { type Backup, backupSection } from "./backup-pages";
import { changePanels, loadChangePanels } from "./change-panels";
import {
  formatBytes,
  formatCount,
  formatDate,
  formatDateTime,
  formatLimit,
  formatMetric,
  limitLabel,
  metricLabel,
} from "./format";
import { barChart, csrfField, page } from "./layout";
import { LIMITED_METRICS, limitBars } from "./limit-bars";
import type { PortalEnv } from "./portal";

interface Tenant {
  id: string;
  name: string;
  status: string;
  tier: string;
  jurisdiction: string | null;
  limits: Record<string, number>;
  limitOverrides: Record<string, number>;
  settings: Record<string, unknown>;
  legalHold: boolean;
  owner: string;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
  trialEndsAt?: string | null;
  subscription?: { startDate: string | null; endDate: string | null; features: string[]; extraFeatures: string[] };
}

const TIERS = ["basic", "pro", "enterprise"];
const STATUSES = ["active", "trial", "suspended", "cancelled", "deleted"];
const ACTIONS: Record<string, { label: string; from: string[] }> = {
  suspend: { label: "Suspend", from: ["active", "trial"] },
  resume: { label: "Resume", from: ["suspended"] },
  cancel: { label: "Cancel (data kept for the grace period)", from: ["active", "trial", "suspended"] },
  restore: { label: "Restore", from: ["cancelled"] },
};

function wizard(csrf: string, values: Record<string, string> = {}, error?: string) {
  return page(
    "New tenant",
    html`<h1>New tenant</h1>
<form method="post" action="/admin/tenants">
  ${csrfField(csrf)}
  <label for="id">Id</label>
  <input id="id" name="id" value="${values.id ?? ""}" pattern="[a-z0-9][a-z0-9\\-]{1,38}[a-z0-9]" aria-describedby="id-hint">
  <p id="id-hint" class="hint">3–40 lowercase letters, digits and dashes; never reused. Leave empty to generate one.</p>
  <label for="name">Name</label><input id="name" name="name" required maxlength="200" value="${values.name ?? ""}">
  <label for="tier">Tier</label>
  <select id="tier" name="tier">${TIERS.map((t) => html`<option ${values.tier === t ? "selected" : ""}>${t}</option>`)}</select>
  <label for="jurisdiction">Jurisdiction</label>
  <select id="jurisdiction" name="jurisdiction"><option value="">none</option><option value="eu" ${values.jurisdiction === "eu" ? "selected" : ""}>eu</option><option value="fedramp">fedramp</option></select>
  <label for="externalId">External id (optional)</label>
  <input id="externalId" name="externalId" maxlength="255" value="${values.externalId ?? ""}" aria-describedby="externalId-hint">
  <p id="externalId-hint" class="hint">The identity provider's organisation id (Auth0 or Clerk <code>org_…</code>) whose users' tokens reach this tenant. Set once, never reused.</p>
  <label for="trialDays">Trial days (optional)</label>
  <input id="trialDays" name="trialDays" type="number" min="1" max="365" value="${values.trialDays ?? ""}" aria-describedby="trialDays-hint">
  <p id="trialDays-hint" class="hint">Empty: the tenant starts active. Otherwise it is on trial, and suspended when the trial ends unless converted.</p>
  <label for="endDate">Subscription end (optional)</label><input id="endDate" name="endDate" type="date" value="${values.endDate ?? ""}">
  <fieldset><legend>Features beyond the plan's</legend>${FEATURES.map(
    (f) =>
      html`<label><input type="checkbox" name="extraFeatures" value="${f}" ${values.extraFeatures?.split(",").includes(f) ? "checked" : ""}> ${f}</label>`,
  )}</fieldset>
  <label for="owner">Owner (user id, the token's sub)</label><input id="owner" name="owner" required value="${values.owner ?? ""}">
  <label for="email">Owner e-mail (optional)</label><input id="email" name="email" type="email" value="${values.email ?? ""}">
  <button type="submit">Create tenant</button>
</form>`,
    { csrf, error },
  );
}

/** A refused action: the API's (or the form's) reason, with the way back to the tenant. */
function refused(c: Context<PortalEnv>, id: string, error: string, status: ContentfulStatusCode) {
  return c.html(
    page("Refused", html`<p><a href="/admin/tenants/${id}">Back</a></p>`, { csrf: c.get("session").csrf, error }),
    status,
  );
}

export function tenantPages() {
  const pages = new Hono<PortalEnv>();

  pages.get("/admin/tenants", async (c) => {
    const { q = "", status = "", tier = "", cursor = "" } = c.req.query();
    const params = new URLSearchParams({ limit: "25" });
    for (const [k, v] of Object.entries({ q, status, tier, cursor })) if (v) params.set(k, v);
    const res = await c.get("api")<{ items: Tenant[]; nextCursor: string | null }>("GET", `/v1/tenants?${params}`);
    const items = res.ok ? res.body.items : [];
    const next =
      res.ok && res.body.nextCursor
        ? `?${new URLSearchParams({ q, status, tier, cursor: res.body.nextCursor })}`
        : null;
    return c.html(
      page(
        "Tenants",
        html`<h1>Tenants</h1>
<form method="get" action="/admin/tenants" role="search">
  <label for="q">Search id, name or external id</label><input id="q" name="q" value="${q}">
  <label for="status">Status</label><select id="status" name="status"><option value="">any</option>${STATUSES.map((s) => html`<option ${s === status ? "selected" : ""}>${s}</option>`)}</select>
  <label for="tierf">Tier</label><select id="tierf" name="tier"><option value="">any</option>${TIERS.map((t) => html`<option ${t === tier ? "selected" : ""}>${t}</option>`)}</select>
  <button type="submit">Filter</button>
</form>
<table><caption class="hint">${formatCount(items.length)} shown</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Tier</th><th scope="col">Created</th></tr></thead>
<tbody>${items.map(
          (t) =>
            html`<tr><td><a href="/admin/tenants/${t.id}">${t.id}</a></td><td>${t.name}</td><td>${t.status}</td><td>${t.tier}</td><td>${formatDate(t.createdAt)}</td></tr>`,
        )}</tbody></table>
${next ? html`<p><a href="/admin/tenants${next}">Next page</a></p>` : ""}`,
        { csrf: c.get("session").csrf, error: res.error ?? undefined },
      ),
    );
  });

  pages.post("/admin/tenants", async (c) => {
    const form = Object.fromEntries(
      Object.entries(await c.req.parseBody({ all: true })).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.join(",") : String(v),
      ]),
    );
    const extraFeatures = form.extraFeatures ? form.extraFeatures.split(",") : [];
    const body = {
      ...(form.trialDays ? { trialDays: Number(form.trialDays) } : {}),
      ...(form.endDate || extraFeatures.length
        ? { subscription: { extraFeatures, ...(form.endDate ? { endDate: `${form.endDate}T00:00:00Z` } : {}) } }
        : {}),
      ...(form.id ? { id: form.id } : {}),
      name: form.name,
      tier: form.tier,
      jurisdiction: form.jurisdiction || null,
      ...(form.externalId ? { externalId: form.externalId } : {}),
      owner: { sub: form.owner, ...(form.email ? { email: form.email } : {}) },
    };
    const res = await c.get("api")<Tenant>("POST", "/v1/tenants", body);
    if (!res.ok) return c.html(wizard(c.get("session").csrf, form, res.error ?? "Refused."), res.status as 400);
    return c.redirect(`/admin/tenants/${res.body.id}?flash=created`, 303);
  });

  // The new-tenant wizard shares the tenant page's path ("new" was always the wizard): one
  // route, because the Worker's RegExpRouter refuses a literal segment beside a parameter.
  pages.get("/admin/tenants/:id", async (c) => {
    const id = c.req.param("id");
    if (id === "new") return c.html(wizard(c.get("session").csrf));
    const api = c.get("api");
    const csrf = c.get("session").csrf;
    const tenant = await api<Tenant>("GET", `/v1/tenants/${encodeURIComponent(id)}`);
    if (!tenant.ok)
      return c.html(page("Tenant", html`<h1>Tenant</h1>`, { csrf, error: tenant.error ?? "" }), tenant.status as 404);
    const t = tenant.body;
    const live = t.status === "active" || t.status === "trial";
    const reason = { "x-silo-tenant": t.id, "x-silo-reason": "Admin portal: tenant page" };
    const [usage, audit, verify, members, backups, changes] = await Promise.all([
      api<{
        period: string;
        current: Record<string, number>;
        limits: Record<string, number>;
        periods: { period: string; metrics: Record<string, number> }[];
      }>("GET", `/v1/tenants/${t.id}/usage`),
      api<{
        items: { seq: number; at: string; actor: string; action: string; resource: string }[];
        adminEvents: { at: string; actor: string; action: string }[];
      }>("GET", `/v1/tenants/${t.id}/audit-logs?limit=1000`),
      live
        ? api<{ ok: boolean; count: number; brokenAt?: number }>("GET", "/v1/audit/verify", undefined, reason)
        : null,
      live ? api<{ items: { sub: string; roles: string[] }[] }>("GET", "/v1/members", undefined, reason) : null,
      api<{ items: Backup[] }>("GET", `/v1/tenants/${t.id}/backups?limit=30`),
      live ? loadChangePanels(api, reason) : null,
    ]);
    const u = usage.ok ? usage.body : null;
    // Past periods oldest first, then the current one with its live counters.
    const periods = u
      ? [...u.periods]
          .filter((p) => p.period !== u.period)
          .reverse()
          .slice(-11)
          .concat([{ period: u.period, metrics: u.current }])
      : [];
    const exportId = c.req.query("export");
    const flash = c.req.query("flash");
    const events = audit.ok ? audit.body.items.slice(-15).reverse() : [];
    return c.html(
      page(
        t.name,
        html`<h1>${t.name} <span class="hint">(${t.id})</span></h1>
<p><a href="/admin/tenants/${t.id}/org">Organisation: children, their usage, aggregate query</a></p>
<div class="grid">
<section aria-labelledby="state"><h2 id="state">State</h2>
<table><tbody>
<tr><th scope="row">Status</th><td>${t.status}${t.trialEndsAt ? html` (trial ends ${formatDateTime(t.trialEndsAt)})` : ""}</td></tr><tr><th scope="row">Tier</th><td>${t.tier}</td></tr>
<tr><th scope="row">Features</th><td>${t.subscription?.features.join(", ") || "none"}</td></tr>
<tr><th scope="row">Subscription</th><td>${t.subscription?.startDate ? formatDate(t.subscription.startDate) : "?"} – ${t.subscription?.endDate ? formatDate(t.subscription.endDate) : "open"}</td></tr>
<tr><th scope="row">Jurisdiction</th><td>${t.jurisdiction ?? "none"}</td></tr><tr><th scope="row">Owner</th><td>${t.owner}</td></tr>
<tr><th scope="row">External id</th><td>${t.externalId ? html`<code>${t.externalId}</code>` : "none"}</td></tr>
<tr><th scope="row">Legal hold</th><td>${t.legalHold ? "yes" : "no"}</td></tr><tr><th scope="row">Created</th><td>${formatDateTime(t.createdAt)}</td></tr>
</tbody></table>
${Object.entries(ACTIONS)
  .filter(([, a]) => a.from.includes(t.status))
  .map(
    ([
      action,
      a,
    ]) => html`<form method="post" action="/admin/tenants/${t.id}/action">${csrfField(csrf)}<input type="hidden" name="action" value="${action}">
<fieldset><legend>${a.label}</legend><label><input type="checkbox" name="confirm" value="yes" required> I confirm: ${action} ${t.id}</label><button type="submit">${a.label}</button></fieldset></form>`,
  )}
</section>
<section aria-labelledby="plan"><h2 id="plan">Plan and limits</h2>
<form method="post" action="/admin/tenants/${t.id}/update">${csrfField(csrf)}
<label for="tier">Tier</label><select id="tier" name="tier">${TIERS.map((x) => html`<option ${x === t.tier ? "selected" : ""}>${x}</option>`)}</select>
<label for="rps">Requests per second (override; empty = plan)</label><input id="rps" name="requestsPerSecond" inputmode="numeric" pattern="[0-9]*" value="${t.limitOverrides.requestsPerSecond ?? ""}">
<label for="maxRecords">Max records (override; empty = plan)</label><input id="maxRecords" name="maxRecords" inputmode="numeric" pattern="[0-9]*" value="${t.limitOverrides.maxRecords ?? ""}">
<label><input type="checkbox" name="legalHold" value="yes" ${t.legalHold ? "checked" : ""}> Legal hold</label>
${t.externalId ? "" : html`<label for="externalId">External id (set once; empty = none)</label><input id="externalId" name="externalId" maxlength="255">`}
<button type="submit">Save</button></form>
<table><caption class="hint">Effective limits</caption><tbody>${Object.entries(t.limits).map(([k, v]) => html`<tr><th scope="row">${limitLabel(k)}</th><td>${formatLimit(k, v)}${k in t.limitOverrides ? " (override)" : ""}</td></tr>`)}</tbody></table>
</section>
</div>
<section aria-labelledby="usage"><h2 id="usage">Usage</h2>
${
  u
    ? html`${barChart(
        "Requests per period",
        periods.map((p) => ({ label: p.period, value: p.metrics.requests ?? 0 })),
        u.limits.maxRequestsPerMonth,
      )}
${limitBars(u.current, u.limits)}
<table class="counters"><caption class="hint">Other counters of ${u.period}</caption><tbody>${Object.entries(u.current)
        .filter(([k]) => !LIMITED_METRICS.some((m) => m.metric === k))
        .map(
          ([k, v]) => html`<tr><th scope="row">${metricLabel(k)}</th><td class="num">${formatMetric(k, v)}</td></tr>`,
        )}</tbody></table>`
    : html`<p class="hint">Usage is not available (${usage.error}).</p>`
}
</section>
<section aria-labelledby="audit"><h2 id="audit">Recent audit events</h2>
<p>${verify ? (verify.ok && verify.body.ok ? html`<span class="ok">Chain verified: ${formatCount(verify.body.count)} events intact.</span>` : html`<span class="error">Chain broken at event ${verify.body?.brokenAt ?? "?"}.</span>`) : html`<span class="hint">Verification runs on active tenants.</span>`}</p>
<table><thead><tr><th scope="col" class="num">#</th><th scope="col">At</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Resource</th></tr></thead>
<tbody>${events.map((e) => html`<tr><td class="num">${formatCount(e.seq)}</td><td>${formatDateTime(e.at)}</td><td>${e.actor}</td><td>${e.action}</td><td>${e.resource}</td></tr>`)}</tbody></table>
</section>
<section aria-labelledby="members"><h2 id="members">Members</h2>
${members?.ok ? html`<ul>${members.body.items.map((m) => html`<li>${m.sub}: ${m.roles.join(", ")}</li>`)}</ul>` : html`<p class="hint">Members are listed for active tenants.</p>`}
</section>
<section aria-labelledby="exports"><h2 id="exports">Export</h2>
<form method="post" action="/admin/tenants/${t.id}/export">${csrfField(csrf)}<button type="submit">Start an export</button></form>
${exportId ? html`<p>Export <code>${exportId}</code> started. <a href="/admin/tenants/${t.id}/exports/${exportId}">Check it and download</a></p>` : ""}
</section>
${backupSection(t.id, backups.ok ? backups.body.items : null, csrf)}
${changePanels(changes)}`,
        { csrf, flash: flash ? `Tenant ${flash}.` : undefined },
      ),
    );
  });

  pages.post("/admin/tenants/:id/action", async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const action = String(form.action);
    if (!(action in ACTIONS) || form.confirm !== "yes") return c.redirect(`/admin/tenants/${id}`, 303);
    const path = action === "cancel" ? `/v1/tenants/${id}` : `/v1/tenants/${id}/${action}`;
    const res = await c.get("api")(action === "cancel" ? "DELETE" : "POST", path);
    if (!res.ok) return refused(c, id, res.error ?? "", res.status as 409);
    return c.redirect(`/admin/tenants/${id}?flash=${encodeURIComponent(`${action} done`)}`, 303);
  });

  pages.post("/admin/tenants/:id/update", async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const limit = (v: unknown) => (String(v ?? "").trim() === "" ? null : Number(v));
    const bad = ["requestsPerSecond", "maxRecords"].filter((k) => !/^\s*\d*\s*$/.test(String(form[k] ?? "")));
    if (bad.length > 0)
      return refused(c, id, `${bad.join(" and ")} must be a whole number, or empty to use the plan's value.`, 400);
    const body = {
      tier: String(form.tier),
      legalHold: form.legalHold === "yes",
      limits: { requestsPerSecond: limit(form.requestsPerSecond), maxRecords: limit(form.maxRecords) },
      ...(String(form.externalId ?? "") ? { externalId: String(form.externalId) } : {}),
    };
    const res = await c.get("api")("PUT", `/v1/tenants/${id}`, body);
    if (!res.ok) return refused(c, id, res.error ?? "", res.status as 400);
    return c.redirect(`/admin/tenants/${id}?flash=updated`, 303);
  });

  pages.post("/admin/tenants/:id/export", async (c) => {
    const id = c.req.param("id");
    const res = await c.get("api")<{ id: string }>("POST", `/v1/tenants/${id}/export`, {});
    if (!res.ok) return refused(c, id, res.error ?? "", res.status as 400);
    return c.redirect(`/admin/tenants/${id}?export=${encodeURIComponent(res.body.id)}`, 303);
  });

  pages.get("/admin/tenants/:id/exports/:exportId", async (c) => {
    const { id, exportId } = c.req.param();
    const res = await c.get("api")<{
      status: string;
      counts: Record<string, number>;
      parts: { name: string; rows: number; bytes: number; sha256: string }[];
      error: string | null;
    }>("GET", `/v1/tenants/${id}/exports/${encodeURIComponent(exportId)}`);
    const csrf = c.get("session").csrf;
    if (!res.ok)
      return c.html(page("Export", html`<h1>Export</h1>`, { csrf, error: res.error ?? "" }), res.status as 404);
    const done = res.body.status === "completed";
    const download = (part: string) =>
      `/admin/tenants/${id}/exports/${encodeURIComponent(exportId)}/download?${new URLSearchParams({ part })}`;
    return c.html(
      page(
        "Export",
        html`<h1>Export <code>${exportId}</code> of ${id}</h1>
<p>Status: <strong>${res.body.status}</strong> ${done ? "" : html`<a href="">Refresh</a>`}</p>
${done ? html`<p><a href="${download("manifest.json")}" download>Download manifest.json</a></p>` : ""}
<table><thead><tr><th scope="col">Part</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Size</th><th scope="col">SHA-256</th></tr></thead><tbody>${res.body.parts.map((p) => html`<tr><td>${done ? html`<a href="${download(p.name)}" download>${p.name}</a>` : p.name}</td><td class="num">${formatCount(p.rows)}</td><td class="num">${formatBytes(p.bytes)}</td><td><code>${p.sha256.slice(0, 16)}…</code></td></tr>`)}</tbody></table>
<p><a href="/admin/tenants/${id}">Back to ${id}</a></p>`,
        { csrf },
      ),
    );
  });

  pages.get("/admin/tenants/:id/exports/:exportId/download", async (c) => {
    const { id, exportId } = c.req.param();
    const part = c.req.query("part") ?? "manifest.json";
    const res = await c
      .get("api")
      .raw(
        `/v1/tenants/${encodeURIComponent(id)}/exports/${encodeURIComponent(exportId)}/download?${new URLSearchParams({ part })}`,
      );
    if (!res.ok) {
      const problem = (await res.json().catch(() => ({}))) as { detail?: string };
      return c.html(
        page("Export", html`<h1>Export</h1>`, { csrf: c.get("session").csrf, error: problem.detail ?? "Not found." }),
        res.status as 404,
      );
    }
    const headers = new Headers(res.headers);
    headers.set("content-disposition", `attachment; filename="${id}-${part.replace(/[^A-Za-z0-9._-]/g, "_")}"`);
    headers.set("cache-control", "no-store");
    return new Response(res.body, { status: 200, headers });
  });

  return pages;
}
