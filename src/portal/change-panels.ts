// The tenant page's change feed panels: the latest events of the change log and each webhook's
// latest deliveries. Read through the API as the signed-in admin acting inside the tenant (with
// the portal's reason, audited in the tenant's chain like every such read).
import { html } from "hono/html";
import type { ApiAnswer } from "./api-client";
import { formatCount, formatDateTime } from "./format";

export interface ChangeEvent {
  seq: number;
  at: string;
  type: string;
  collection: string | null;
  id: string | null;
  version: number | null;
  actor: string;
}
interface Webhook {
  id: string;
  url: string;
}
interface Delivery {
  seq: number;
  type: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
}
type Api = <T>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiAnswer<T>>;

const SHOWN = 15;

/** Loads both panels' data: the last events of the log's first page, every webhook's latest deliveries. */
export async function loadChangePanels(api: Api, headers: Record<string, string>) {
  const [changes, hooks] = await Promise.all([
    api<{ items: ChangeEvent[] }>("GET", "/v1/changes?since=0&limit=1000", undefined, headers),
    api<{ items: Webhook[] }>("GET", "/v1/webhooks", undefined, headers),
  ]);
  const deliveries = hooks.ok
    ? await Promise.all(
        hooks.body.items.map(async (h) => ({
          hook: h,
          items:
            (await api<{ items: Delivery[] }>("GET", `/v1/webhooks/${h.id}/deliveries?limit=5`, undefined, headers))
              .body?.items ?? [],
        })),
      )
    : null;
  return { events: changes.ok ? changes.body.items.slice(-SHOWN).reverse() : null, deliveries };
}

export function changePanels(data: Awaited<ReturnType<typeof loadChangePanels>> | null) {
  if (!data)
    return html`<section aria-labelledby="changes"><h2 id="changes">Recent changes</h2><p class="hint">Shown for active tenants.</p></section>`;
  return html`<section aria-labelledby="changes"><h2 id="changes">Recent changes</h2>
${
  data.events
    ? html`<table><thead><tr><th scope="col" class="num">Seq</th><th scope="col">At</th><th scope="col">Type</th><th scope="col">What</th><th scope="col">Actor</th></tr></thead>
<tbody>${data.events.map((e) => html`<tr><td class="num">${formatCount(e.seq)}</td><td>${formatDateTime(e.at)}</td><td>${e.type}</td><td>${e.collection ?? ""}${e.id ? `/${e.id}` : ""}${e.version ? ` v${e.version}` : ""}</td><td>${e.actor}</td></tr>`)}</tbody></table>`
    : html`<p class="hint">The change log is not available.</p>`
}
</section>
<section aria-labelledby="webhooks"><h2 id="webhooks">Webhook deliveries</h2>
${
  data.deliveries?.length
    ? data.deliveries.map(
        ({ hook, items }) => html`<h3><code>${hook.url}</code></h3>
<table><thead><tr><th scope="col" class="num">Seq</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Last answer</th><th scope="col">Queued</th></tr></thead>
<tbody>${items.map((d) => html`<tr><td class="num">${formatCount(d.seq)}</td><td>${d.type}</td><td>${d.status}</td><td class="num">${formatCount(d.attempts)}</td><td>${d.lastStatus ?? d.lastError ?? ""}</td><td>${formatDateTime(d.createdAt)}</td></tr>`)}</tbody></table>`,
      )
    : html`<p class="hint">No webhooks.</p>`
}
</section>`;
}
