// Portal pages for plans, billing statements and sweep runs.
import { Hono } from "hono";
import { html } from "hono/html";
import { csrfField, page } from "./layout";
import type { PortalEnv } from "./portal";

const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

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
<table><thead><tr><th scope="col">Tier</th><th scope="col">Base price</th>${keys.map((k) => html`<th scope="col">${k}</th>`)}</tr></thead>
<tbody>${plans.map((p) => html`<tr><td>${p.name} (${p.tier})</td><td>${dollars(p.prices.baseCents)}</td>${keys.map((k) => html`<td>${p.limits[k]}</td>`)}</tr>`)}</tbody></table>
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
      }[];
      totalCents: number;
    }>("GET", `/v1/billing/statements?period=${encodeURIComponent(period)}`);
    const lines = res.ok ? res.body.items : [];
    return c.html(
      page(
        "Billing",
        html`<h1>Billing statements</h1>
<form method="get" action="/admin/billing"><label for="period">Period (YYYY-MM)</label><input id="period" name="period" value="${period}" pattern="[0-9]{4}-[0-9]{2}"><button type="submit">Show</button></form>
<table><thead><tr><th scope="col">Tenant</th><th scope="col">Tier</th><th scope="col">Requests</th><th scope="col">Records</th><th scope="col">Base</th><th scope="col">Overage</th><th scope="col">Total</th></tr></thead>
<tbody>${lines.map(
          (l) =>
            html`<tr><td><a href="/admin/tenants/${l.tenant}">${l.tenant}</a></td><td>${l.tier}</td><td>${l.usage.requests}</td><td>${l.usage.records}</td><td>${dollars(l.amountCents.base)}</td><td>${dollars(l.amountCents.overage)}</td><td>${dollars(l.amountCents.total)}</td></tr>`,
        )}</tbody></table>
<p>Total: <strong>${dollars(res.ok ? res.body.totalCents : 0)}</strong> over ${lines.length} tenants.</p>`,
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
<label for="kind">Run a sweep now</label><select id="kind" name="kind"><option>retention</option><option>billing</option><option>backup</option></select>
<button type="submit">Start</button></form>
<table><thead><tr><th scope="col">Started</th><th scope="col">Kind</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Tenants</th><th scope="col">Failures</th><th scope="col">Counts</th></tr></thead>
<tbody>${(res.ok ? res.body.items : []).map(
          (r) =>
            html`<tr><td>${r.startedAt}</td><td>${r.kind}</td><td>${r.trigger}</td><td>${r.status}</td><td>${r.tenants}</td><td>${r.failures}</td><td>${Object.entries(
              r.counts,
            )
              .map(([k, v]) => `${k}: ${v}`)
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
