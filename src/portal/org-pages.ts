// The portal's organisation page of a tenant: its children and grandchildren with status, tier
// and this period's usage, and the read-only aggregate query over them (POST /v1/admin/query
// with the descendants named), all through the API with the admin's token.
import { Hono } from "hono";
import { html } from "hono/html";
import { formatMetric } from "./format";
import { csrfField, page } from "./layout";
import type { PortalEnv } from "./portal";

interface Child {
  id: string;
  name: string;
  status: string;
  tier: string;
  parent: string | null;
}
type Api = PortalEnv["Variables"]["api"];

const SHOWN = ["requests", "records", "storageBytes"];
const MAX_SHOWN = 100;

/** Children, then each child's children (an organisation has at most three levels). */
async function descendants(api: Api, root: string): Promise<(Child & { depth: number })[]> {
  const page = async (parent: string) =>
    (await api<{ items: Child[] }>("GET", `/v1/tenants?parent=${parent}&limit=${MAX_SHOWN}`)).body?.items ?? [];
  const children = await page(root);
  const nested = await Promise.all(children.map((c) => page(c.id)));
  return children.flatMap((c, i) => [{ ...c, depth: 1 }, ...(nested[i] ?? []).map((g) => ({ ...g, depth: 2 }))]);
}

function queryForm(csrf: string, id: string, v: Record<string, string>) {
  return html`<form method="post" action="/admin/tenants/${id}/org/query">${csrfField(csrf)}
<label for="collection">Collection</label><input id="collection" name="collection" required pattern="[a-z][a-z0-9_]{0,62}" value="${v.collection ?? ""}">
<label for="aggregate">Aggregate</label><select id="aggregate" name="aggregate">${["count", "sum", "min", "max"].map((a) => html`<option ${v.aggregate === a ? "selected" : ""}>${a}</option>`)}</select>
<label for="field">Field (sum, min, max)</label><input id="field" name="field" pattern="[a-z][a-z0-9_]{0,62}" value="${v.field ?? ""}">
<label for="groupBy">Group by</label><input id="groupBy" name="groupBy" pattern="[a-z][a-z0-9_]{0,62}" value="${v.groupBy ?? ""}">
<button type="submit">Run over the descendants</button></form>`;
}

async function render(
  c: { var: PortalEnv["Variables"]; req: { param(n: "id"): string } },
  form: Record<string, string>,
) {
  const api = c.var.api;
  const id = c.req.param("id");
  const tenant = await api<{ id: string; name: string; parent: string | null }>("GET", `/v1/tenants/${id}`);
  if (!tenant.ok)
    return {
      status: tenant.status,
      body: page("Organisation", html`<h1>Organisation</h1>`, { error: tenant.error ?? "" }),
    };
  const tree = await descendants(api, id);
  const usage = await Promise.all(
    tree.map((t) => api<{ current: Record<string, number> }>("GET", `/v1/tenants/${t.id}/usage`)),
  );
  let results: { tenant: string; result?: unknown; error?: { code: string } }[] | null = null;
  let error: string | undefined;
  if (form.collection) {
    const body = {
      collection: form.collection,
      aggregate: form.aggregate || "count",
      field: form.field || null,
      groupBy: form.groupBy || null,
      tenants: tree.map((t) => t.id),
    };
    const answer = tree.length ? await api<string>("POST", "/v1/admin/query", body) : null;
    if (answer && !answer.ok) error = answer.error ?? "The query was refused.";
    else if (answer) {
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
      results = text
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    } else results = [];
  }
  const t = tenant.body;
  return {
    status: 200,
    body: page(
      `Organisation of ${t.name}`,
      html`<h1>Organisation of ${t.name} <span class="hint">(${t.id})</span></h1>
<p>${t.parent ? html`Belongs to <a href="/admin/tenants/${t.parent}/org">${t.parent}</a>. ` : ""}<a href="/admin/tenants/${t.id}">Back to the tenant</a></p>
<section aria-labelledby="children"><h2 id="children">Children</h2>
${
  tree.length
    ? html`<table><thead><tr><th scope="col">Tenant</th><th scope="col">Level</th><th scope="col">Status</th><th scope="col">Tier</th>${SHOWN.map((m) => html`<th scope="col" class="num">${m === "storageBytes" ? "Storage" : m === "records" ? "Records" : "Requests this month"}</th>`)}</tr></thead>
<tbody>${tree.map((d, i) => html`<tr><td><a href="/admin/tenants/${d.id}/org">${d.name}</a> <span class="hint">(${d.id})</span></td><td>${d.depth === 1 ? "child" : "grandchild"}</td><td>${d.status}</td><td>${d.tier}</td>${SHOWN.map((m) => html`<td class="num">${usage[i]?.ok ? formatMetric(m, usage[i]?.body.current[m] ?? 0) : "–"}</td>`)}</tr>`)}</tbody></table>`
    : html`<p class="hint">No children. Create one with <code>POST /v1/tenants</code> and <code>"parent":"${t.id}"</code>.</p>`
}
</section>
<section aria-labelledby="aggregate"><h2 id="aggregate">Aggregate over the descendants</h2>
${queryForm(c.var.session.csrf, t.id, form)}
${
  results
    ? html`<table><caption class="hint">${form.aggregate || "count"} of ${form.collection}${form.field ? `.${form.field}` : ""}</caption><thead><tr><th scope="col">Tenant</th><th scope="col">Result</th></tr></thead>
<tbody>${results.map((r) => html`<tr><td>${r.tenant}</td><td>${r.error ? html`<span class="error">${r.error.code}</span>` : JSON.stringify(r.result)}</td></tr>`)}</tbody></table>`
    : ""
}
</section>`,
      { csrf: c.var.session.csrf, error },
    ),
  };
}

export function orgPages() {
  const pages = new Hono<PortalEnv>();
  pages.get("/admin/tenants/:id/org", async (c) => {
    const { status, body } = await render(c, {});
    return c.html(body, status as 200);
  });
  pages.post("/admin/tenants/:id/org/query", async (c) => {
    const form = Object.fromEntries(Object.entries(await c.req.parseBody()).map(([k, v]) => [k, String(v)]));
    const { status, body } = await render(c, form);
    return c.html(body, status as 200);
  });
  return pages;
}
