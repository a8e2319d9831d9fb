// The portal's front page: the tenants that need an operator (GET /v1/fleet/alerts) and which
// schema the fleet is on (GET /v1/fleet/schema), with a button to roll migrations or reconcile.
import { Hono } from "hono";
import { html } from "hono/html";
import { formatCount, formatDateTime, formatMetric, formatPercent, metricLabel } from "./format";
import { csrfField, page } from "./layout";
import type { PortalEnv } from "./portal";

interface Alert {
  tenant: string;
  kind: string;
  metric: string | null;
  value: number;
  limit: number | null;
  since: string;
}

const KIND_LABELS: Record<string, string> = {
  near_limit: "Near a limit",
  errors: "Server errors in the last hour",
  sweep_failed: "Sweep failed",
  migration_failed: "Migration failed",
  config_behind: "Config not applied",
  provisioning_stuck: "Create never finished",
};

/** What the alert says in words, its numbers in their units. */
function detail(a: Alert): string {
  switch (a.kind) {
    case "near_limit": {
      // The limit is in the metric's own unit (bytes for storage).
      const metric = a.metric ?? "";
      const share = a.limit ? ` (${formatPercent(a.value / a.limit)})` : "";
      return `${metricLabel(metric)}: ${formatMetric(metric, a.value)} of ${formatMetric(metric, a.limit)}${share}`;
    }
    case "errors":
      return `${formatCount(a.value)} ${a.value === 1 ? "answer" : "answers"} with a 5xx status`;
    case "sweep_failed":
      return `in the last ${a.metric} sweep`;
    case "migration_failed":
      return `still on ${a.metric ?? "an unknown schema"}`;
    case "config_behind":
      return `applied version ${formatCount(a.value)} of ${formatCount(a.limit)}`;
    default:
      return "";
  }
}

export function fleetPages() {
  const pages = new Hono<PortalEnv>();

  pages.get("/admin/fleet", async (c) => {
    const api = c.get("api");
    const [alerts, schema] = await Promise.all([
      api<{ items: Alert[] }>("GET", "/v1/fleet/alerts?limit=200"),
      api<{ latest: string; tenants: Record<string, number>; failed: { tenant: string; error: string; at: string }[] }>(
        "GET",
        "/v1/fleet/schema",
      ),
    ]);
    const items = alerts.ok ? alerts.body.items : [];
    const csrf = c.get("session").csrf;
    const tags = schema.ok ? Object.entries(schema.body.tenants).sort(([a], [b]) => (a < b ? 1 : -1)) : [];
    return c.html(
      page(
        "Fleet",
        html`<h1>Fleet</h1>
<section aria-labelledby="alerts"><h2 id="alerts">Tenants needing care</h2>
${
  items.length === 0
    ? html`<p class="ok">No tenant needs attention.</p>`
    : html`<table><thead><tr><th scope="col">Tenant</th><th scope="col">Alert</th><th scope="col">Detail</th><th scope="col">Since</th></tr></thead>
<tbody>${items.map(
        (a) =>
          html`<tr><td><a href="/admin/tenants/${a.tenant}">${a.tenant}</a></td><td>${KIND_LABELS[a.kind] ?? a.kind}</td><td>${detail(a)}</td><td>${formatDateTime(a.since)}</td></tr>`,
      )}</tbody></table>`
}
</section>
<section aria-labelledby="schema"><h2 id="schema">Tenant schema</h2>
${
  schema.ok
    ? html`<p>Newest migration: <code>${schema.body.latest}</code></p>
<table class="counters"><thead><tr><th scope="col">Schema</th><th scope="col" class="num">Tenants</th></tr></thead>
<tbody>${tags.map(([tag, n]) => html`<tr><td><code>${tag}</code>${tag === schema.body.latest ? " (newest)" : ""}</td><td class="num">${formatCount(n)}</td></tr>`)}</tbody></table>`
    : ""
}
<form method="post" action="/admin/sweeps">${csrfField(csrf)}<input type="hidden" name="kind" value="migrate"><button type="submit">Migrate every tenant now</button></form>
<form method="post" action="/admin/sweeps">${csrfField(csrf)}<input type="hidden" name="kind" value="reconcile"><button class="secondary" type="submit">Reconcile now</button></form>
</section>`,
        { csrf, error: alerts.error ?? schema.error ?? undefined },
      ),
    );
  });

  return pages;
}
