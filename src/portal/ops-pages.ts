// Portal pages for plans, billing statements and sweep runs.
import { Hono } from "hono";
import { html } from "hono/html";
import {
  formatCost,
  formatCount,
  formatDateTime,
  formatDuration,
  formatLimit,
  formatMoney,
  humanize,
  limitLabel,
} from "./format";
import { csrfField, page } from "./layout";
import type { PortalEnv } from "./portal";

/** How long a run took, or that it is still going. */
function took(startedAt: string, finishedAt: string | null): string {
  if (!finishedAt) return "running";
  return formatDuration(Date.parse(finishedAt) - Date.parse(startedAt));
}

export function opsPages() {
  const pages = new Hono<PortalEnv>();

  pages.get("/admin/plans", async (c) => {
    const res = await c.get("api")<{
      items: { tier: string; name: string; limits: Record<string, number>; prices: { baseCents: number } }[];
    }>("GET", "/v1/plans");
    const plans = res.ok ? res.body.items : [];
    const keys = Object.keys(plans[0]?.limits ?? {});
    return c.html(
      page(
        "Plans",
        html`<h1>Plans</h1>
<table><thead><tr><th scope="col">Tier</th><th scope="col" class="num">Base price</th>${keys.map((k) => html`<th scope="col" class="num">${limitLabel(k)}</th>`)}</tr></thead>
<tbody>${plans.map((p) => html`<tr><td>${p.name} (${p.tier})</td><td class="num">${formatMoney(p.prices.baseCents)}</td>${keys.map((k) => html`<td class="num">${formatLimit(k, p.limits[k])}</td>`)}</tr>`)}</tbody></table>
<p class="hint">Change a plan with <code>PUT /v1/plans/{tier}</code>; tenants on it get the new limits at once.</p>`,
        { csrf: c.get("session").csrf, error: res.error ?? undefined },
      ),
    );
  });

  pages.get("/admin/billing", async (c) => {
    const last = new Date();
    last.setUTCDate(0); // the last day of the previous month
    const period = c.req.query("period") || last.toISOString().slice(0, 7);
    const res = await c.get("api")<{
      items: {
        tenant: string;
        tier: string;
        usage: Record<string, number>;
        amountCents: { base: number; overage: number; total: number };
        platformCost?: { cents: number };
        marginCents?: number;
      }[];
      totalCents: number;
    }>("GET", `/v1/billing/statements?period=${encodeURIComponent(period)}`);
    const lines = res.ok ? res.body.items : [];
    return c.html(
      page(
        "Billing",
        html`<h1>Billing statements</h1>
<form method="get" action="/admin/billing"><label for="period">Period (YYYY-MM)</label><input id="period" name="period" value="${period}" pattern="[0-9]{4}-[0-9]{2}"><button type="submit">Show</button></form>
<table><thead><tr><th scope="col">Tenant</th><th scope="col">Tier</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Records</th><th scope="col" class="num">Base</th><th scope="col" class="num">Overage</th><th scope="col" class="num">Total</th><th scope="col" class="num">Platform cost</th><th scope="col" class="num">Margin</th></tr></thead>
<tbody>${lines.map(
          (l) =>
            html`<tr><td><a href="/admin/tenants/${l.tenant}">${l.tenant}</a></td><td>${l.tier}</td><td class="num">${formatCount(l.usage.requests)}</td><td class="num">${formatCount(l.usage.records)}</td><td class="num">${formatMoney(l.amountCents.base)}</td><td class="num">${formatMoney(l.amountCents.overage)}</td><td class="num">${formatMoney(l.amountCents.total)}</td><td class="num">${formatCost(l.platformCost?.cents)}</td><td class="num">${formatMoney(l.marginCents)}</td></tr>`,
        )}</tbody></table>
<p>Total: <strong>${formatMoney(res.ok ? res.body.totalCents : 0)}</strong> over ${formatCount(lines.length)} ${lines.length === 1 ? "tenant" : "tenants"}.</p>`,
        { csrf: c.get("session").csrf, error: res.error ?? undefined },
      ),
      res.ok ? 200 : (res.status as 400),
    );
  });

  pages.get("/admin/sweeps", async (c) => {
    const res = await c.get("api")<{
      items: {
        id: string;
        kind: string;
        status: string;
        trigger: string;
        tenants: number;
        failures: number;
        counts: Record<string, number>;
        startedAt: string;
        finishedAt: string | null;
      }[];
    }>("GET", "/v1/sweeps?limit=30");
    const csrf = c.get("session").csrf;
    return c.html(
      page(
        "Sweeps",
        html`<h1>Sweeps</h1>
<form method="post" action="/admin/sweeps">${csrfField(csrf)}
<label for="kind">Run a sweep now</label><select id="kind" name="kind"><option>retention</option><option>billing</option><option>backup</option><option>migrate</option><option>reconcile</option></select>
<button type="submit">Start</button></form>
<table><thead><tr><th scope="col">Started</th><th scope="col">Kind</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Took</th><th scope="col" class="num">Tenants</th><th scope="col" class="num">Failures</th><th scope="col">Counts</th></tr></thead>
<tbody>${(res.ok ? res.body.items : []).map(
          (r) =>
            html`<tr><td>${formatDateTime(r.startedAt)}</td><td>${r.kind}</td><td>${r.trigger}</td><td>${r.status}</td><td>${took(r.startedAt, r.finishedAt)}</td><td class="num">${formatCount(r.tenants)}</td><td class="num">${formatCount(r.failures)}</td><td>${Object.entries(
              r.counts,
            )
              .map(([k, v]) => `${humanize(k)}: ${formatCount(v)}`)
              .join(", ")}</td></tr>`,
        )}</tbody></table>`,
        { csrf, flash: c.req.query("flash") ? "Sweep started." : undefined, error: res.error ?? undefined },
      ),
    );
  });

  pages.post("/admin/sweeps", async (c) => {
    const form = await c.req.parseBody();
    const res = await c.get("api")("POST", "/v1/sweeps", { kind: String(form.kind) });
    if (!res.ok)
      return c.html(
        page("Refused", html`<p><a href="/admin/sweeps">Back</a></p>`, {
          csrf: c.get("session").csrf,
          error: res.error ?? "",
        }),
        res.status as 400,
      );
    return c.redirect("/admin/sweeps?flash=1", 303);
  });

  return pages;
}
