import { expect, it } from "vitest";
import { create, list, tenantWithNotes } from "./data-helpers";
import { call, json } from "./helpers";

it("smoke", async () => {
  const t = await tenantWithNotes();
  const r = await create(t.ownerToken, { title: "Hello world", body: "first note", email: "ann@x.io", rank: 2 });
  expect(r.version).toBe(1);
  const l = await list(t.ownerToken, "rank=gte.1&sort=-rank");
  expect(l.items.length).toBe(1);
  const p = await call(`/v1/collections/notes/records/${r.id}`, {
    method: "PATCH",
    token: t.ownerToken,
    body: { title: "Changed" },
    headers: { "if-match": '"1"' },
  });
  expect(p.status, await p.clone().text()).toBe(200);
  const s = await json(await call("/v1/search?q=first", { token: t.ownerToken }));
  expect(JSON.stringify(s)).toContain(r.id);
  const b = await call("/v1/collections/notes/records:batch", {
    method: "POST",
    token: t.ownerToken,
    body: { operations: [{ op: "create", data: { title: "b" } }] },
  });
  expect(b.status, await b.clone().text()).toBe(200);
  const h = await json(await call(`/v1/collections/notes/records/${r.id}/history`, { token: t.ownerToken }));
  expect((h.items as unknown[]).length).toBe(2);
  const v = await json(await call("/v1/audit/verify", { token: t.ownerToken }));
  expect(v.ok).toBe(true);
  const asof = await list(t.ownerToken, `as_of=${encodeURIComponent(new Date().toISOString())}&title=eq.Changed`);
  expect(asof.items.length).toBe(1);
});
