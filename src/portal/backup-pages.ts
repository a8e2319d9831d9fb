// Portal recovery: the tenant page's backups section (take one now; restore one, confirmed), and
// a restore's status page. Acts only through the API, like the rest of the portal.
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { formatBytes, formatCount, formatDateTime } from "./format";
import { csrfField, page } from "./layout";
import type { PortalEnv } from "./portal";

export interface Backup {
  id: string;
  at: string;
  status: string;
  records: number;
  files: number;
  bytes: number;
}

/** The tenant page's section: every backup with a Restore form (a checkbox confirms it). */
export function backupSection(tenant: string, backups: Backup[] | null, csrf: string, restoreId?: string) {
  return html`<section aria-labelledby="backups"><h2 id="backups">Backups</h2>
<form method="post" action="/admin/tenants/${tenant}/backups">${csrfField(csrf)}<button type="submit">Take a backup now</button></form>
${restoreId ? html`<p>Restore <code>${restoreId}</code> started. <a href="/admin/tenants/${tenant}/restores/${restoreId}">Follow it</a></p>` : ""}
${
  backups
    ? html`<table><thead><tr><th scope="col">Backup</th><th scope="col">Taken</th><th scope="col">Status</th><th scope="col" class="num">Records</th><th scope="col" class="num">Files</th><th scope="col" class="num">Size</th><th scope="col">Restore</th></tr></thead>
<tbody>${backups.map(
        (
          b,
        ) => html`<tr><td><code>${b.id}</code></td><td>${formatDateTime(b.at)}</td><td>${b.status}</td><td class="num">${formatCount(b.records)}</td><td class="num">${formatCount(b.files)}</td><td class="num">${formatBytes(b.bytes)}</td>
<td>${
          b.status === "completed"
            ? html`<form method="post" action="/admin/tenants/${tenant}/backups/${b.id}/restore">${csrfField(csrf)}<label><input type="checkbox" name="confirm" value="yes" required> Replace ${tenant}'s data with this backup</label><button type="submit">Restore</button></form>`
            : ""
        }</td></tr>`,
      )}</tbody></table>`
    : html`<p class="hint">Backups are not available.</p>`
}
</section>`;
}

/** A refused action: the API's reason, with the way back to the tenant. */
function refused(c: Context<PortalEnv>, id: string, error: string, status: number) {
  return c.html(
    page("Refused", html`<p><a href="/admin/tenants/${id}">Back</a></p>`, { csrf: c.get("session").csrf, error }),
    status as ContentfulStatusCode,
  );
}

export function backupPages() {
  const pages = new Hono<PortalEnv>();
  pages.post("/admin/tenants/:id/backups", async (c) => {
    const id = c.req.param("id");
    const res = await c.get("api")<{ id: string }>("POST", `/v1/tenants/${encodeURIComponent(id)}/backups`);
    if (!res.ok) return refused(c, id, res.error ?? "", res.status);
    return c.redirect(`/admin/tenants/${id}?flash=${encodeURIComponent(`backup ${res.body.id} started`)}`, 303);
  });

  pages.post("/admin/tenants/:id/backups/:backupId/restore", async (c) => {
    const { id, backupId } = c.req.param();
    const form = await c.req.parseBody();
    if (form.confirm !== "yes") return c.redirect(`/admin/tenants/${id}`, 303);
    const path = `/v1/tenants/${encodeURIComponent(id)}/backups/${encodeURIComponent(backupId)}/restore`;
    const res = await c.get("api")<{ id: string }>("POST", path);
    if (!res.ok) return refused(c, id, res.error ?? "", res.status);
    return c.redirect(`/admin/tenants/${id}/restores/${encodeURIComponent(res.body.id)}`, 303);
  });

  pages.get("/admin/tenants/:id/restores/:restoreId", async (c) => {
    const { id, restoreId } = c.req.param();
    const res = await c.get("api")<{ status: string; error: string | null; backupId?: string }>(
      "GET",
      `/v1/tenants/${encodeURIComponent(id)}/restores/${encodeURIComponent(restoreId)}`,
    );
    const csrf = c.get("session").csrf;
    if (!res.ok) return c.html(page("Restore", html`<h1>Restore</h1>`, { csrf, error: res.error ?? "" }), 404);
    const { status, error, backupId } = res.body;
    const done = status === "completed" || status === "failed";
    return c.html(
      page(
        "Restore",
        html`<h1>Restore <code>${restoreId}</code> of ${id}</h1>
<p>Backup <code>${backupId ?? "?"}</code>. Status: <strong>${status}</strong> ${done ? "" : html`<a href="">Refresh</a>`}</p>
${status === "failed" ? html`<p class="error">It failed and changed nothing: ${error}</p>` : ""}
${done ? "" : html`<p class="hint">Until it is done the tenant's API answers 503 with Retry-After.</p>`}
<p><a href="/admin/tenants/${id}">Back to ${id}</a></p>`,
        { csrf },
      ),
    );
  });

  return pages;
}
