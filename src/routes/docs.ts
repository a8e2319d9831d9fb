// The API reference at /docs, rendered on the server from the same OpenAPI document the Worker
// serves at /openapi.json: no client-side JavaScript and no external assets, so it works offline.
import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../context";
import { page } from "../portal/layout";

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown; example?: unknown }> };
  responses?: Record<string, { description?: string }>;
}

type Doc = {
  info: { title: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
};

export function docsRoutes(loadDoc: () => Doc) {
  const docs = new Hono<AppEnv>();
  docs.get("/docs", (c) => {
    const doc = loadDoc();
    const byTag = new Map<string, { method: string; path: string; op: Operation }[]>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const tag = op.tags?.[0] ?? "Other";
        byTag.set(tag, [...(byTag.get(tag) ?? []), { method: method.toUpperCase(), path, op }]);
      }
    }
    const schemaOf = (op: Operation) => {
      const body = op.requestBody?.content?.["application/json"];
      const ref = (body?.schema as { $ref?: string } | undefined)?.$ref?.split("/").at(-1);
      const example = ref ? (doc.components?.schemas?.[ref] as { example?: unknown } | undefined)?.example : undefined;
      return { ref, example };
    };
    return c.html(
      page(
        "API reference",
        html`<h1>${doc.info.title}</h1><p>${doc.info.description ?? ""}</p>
<p>The machine-readable document is at <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Send <code>Authorization: Bearer &lt;JWT or API key&gt;</code>; errors are <code>application/problem+json</code>.</p>
<nav aria-label="Sections"><ul>${[...byTag.keys()].map((tag) => html`<li><a href="#${tag.replace(/\W+/g, "-")}">${tag}</a></li>`)}</ul></nav>
${[...byTag].map(
  ([tag, ops]) => html`<section id="${tag.replace(/\W+/g, "-")}"><h2>${tag}</h2>
${ops.map(({ method, path, op }) => {
  const { ref, example } = schemaOf(op);
  return html`<article><h3><code>${method} ${path}</code></h3><p>${op.summary ?? ""}</p>
${op.parameters?.length ? html`<p>Parameters: ${op.parameters.map((p) => html`<code>${p.name}</code> (${p.in}${p.required ? ", required" : ""}) `)}</p>` : ""}
${ref ? html`<p>Body: <code>${ref}</code></p>` : ""}
${example ? html`<pre><code>${JSON.stringify(example, null, 2)}</code></pre>` : ""}
<p class="hint">Responses: ${Object.entries(op.responses ?? {})
    .map(([code, r]) => `${code} ${r.description ?? ""}`)
    .join(" · ")}</p></article>`;
})}</section>`,
)}`,
      ),
    );
  });
  return docs;
}
