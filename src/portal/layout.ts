// The portal's page frame: semantic HTML, no client-side JavaScript, readable contrast and
// visible focus. Every interpolated value is escaped by hono/html.
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { formatCount } from "./format";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const CSS = `
:root{--fg:#111;--muted:#444;--bg:#fff;--line:#ccc;--accent:#0b4f9c;--bad:#8a1111;--ok:#0d5c2f}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f0a500;outline-offset:2px}
header{display:flex;gap:1.5rem;align-items:center;padding:.75rem 1.5rem;border-bottom:1px solid var(--line);flex-wrap:wrap}
header nav a{margin-right:1rem}main{padding:1.5rem;max-width:70rem}h1{font-size:1.5rem;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
label{display:block;font-weight:600;margin-top:.75rem}input,select,textarea{font:inherit;padding:.35rem;border:1px solid #767676;border-radius:3px;min-width:16rem}
button{font:inherit;padding:.4rem .9rem;margin-top:.75rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:3px;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}.error{color:var(--bad);font-weight:600}.ok{color:var(--ok);font-weight:600}
.hint{color:var(--muted);font-size:.9rem}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1.5rem}
section{margin-bottom:2rem}.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
code{background:#f3f3f3;padding:0 .2rem}input:user-invalid{border:2px solid var(--bad)}fieldset{border:1px solid var(--line);margin-top:1rem}
input[type=checkbox]{min-width:0;margin:0 .5rem 0 0;vertical-align:middle}label:has(input[type=checkbox]){font-weight:400}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}table.limits,table.counters{max-width:40rem}
.bar{height:.75rem;max-width:24rem;background:#e4e4e4;border:1px solid #767676;border-radius:3px;overflow:hidden;margin:.3rem 0 .15rem}
.bar>span{display:block;height:100%;background:var(--accent)}.bar.warn>span{background:#9a5b00}.bar.critical>span{background:var(--bad)}
.level-warn{color:#7a4700}.level-critical{color:var(--bad)}
`;

export function page(title: string, body: Html, opts: { csrf?: string; flash?: string; error?: string } = {}) {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Silo admin</title><style>${raw(CSS)}</style></head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <strong>Silo admin</strong>
  ${
    opts.csrf
      ? html`<nav aria-label="Main"><a href="/admin/fleet">Fleet</a><a href="/admin/tenants">Tenants</a><a href="/admin/tenants/new">New tenant</a><a href="/admin/plans">Plans</a><a href="/admin/billing">Billing</a><a href="/admin/sweeps">Sweeps</a><a href="/docs">API reference</a></nav>
  <form method="post" action="/admin/sign-out"><input type="hidden" name="_csrf" value="${opts.csrf}"><button class="secondary" type="submit">Sign out</button></form>`
      : ""
  }
</header>
<main id="main">
${opts.flash ? html`<p class="ok" role="status">${opts.flash}</p>` : ""}
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ""}
${body}
</main>
</body></html>`;
}

export const csrfField = (csrf: string) => html`<input type="hidden" name="_csrf" value="${csrf}">`;

/**
 * A bar chart of one metric over periods, as inline SVG with a text alternative. The scale fits
 * the values; the limit is drawn as a dashed line only when it falls within that scale.
 */
export function barChart(title: string, points: { label: string; value: number }[], limit?: number) {
  const top = Math.max(1, ...points.map((p) => p.value));
  const showLimit = limit !== undefined && limit > 0 && limit <= top * 1.5;
  const max = showLimit ? Math.max(top, limit) : top;
  const width = 56 * Math.max(points.length, 1) + 20;
  const bars = points.map((p, i) => {
    const h = p.value > 0 ? Math.max(2, Math.round((p.value / max) * 100)) : 0;
    const x = 10 + i * 56;
    return html`<g><rect x="${x}" y="${120 - h}" width="40" height="${h}" fill="#0b4f9c"></rect><text x="${x + 20}" y="${114 - h}" font-size="10" text-anchor="middle">${formatCount(p.value)}</text><text x="${x + 20}" y="136" font-size="10" text-anchor="middle">${p.label}</text></g>`;
  });
  const y = showLimit ? 120 - Math.round((limit / max) * 100) : 0;
  const limitLine = showLimit
    ? html`<line x1="0" x2="${width}" y1="${y}" y2="${y}" stroke="#8a1111" stroke-dasharray="4"></line>`
    : "";
  const summary = points.map((p) => `${p.label}: ${formatCount(p.value)}`).join(", ");
  return html`<figure><svg role="img" aria-label="${title}: ${summary}" width="${width}" height="145" viewBox="0 0 ${width} 145">${bars}${limitLine}</svg><figcaption>${title}${limit ? ` (limit ${formatCount(limit)}${showLimit ? ", dashed" : ""})` : ""}</figcaption></figure>`;
}
