// A route's query, path and header schemas (checked by one middleware, src/openapi.ts): each bad
// part answers 400 validation_failed naming the part and the field, before the tenant's object is
// asked; good parts reach the route parsed, declared headers included.
import { describe, expect, it } from "vitest";
import { create, tenantWithNotes } from "./data-helpers";
import { call, json } from "./helpers";

describe("query, path and header schemas", () => {
  it("refuses a bad query value, a repeated one and a bad path parameter, naming each", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "a" });
    const cases: [string, string, string][] = [
      [`/v1/collections/notes/records/${r.id}?include_deleted=maybe`, "query", "include_deleted"],
      [`/v1/collections/notes/records/${r.id}?include_deleted=true&include_deleted=false`, "query", "include_deleted"],
      [`/v1/collections/Not-A-Name/records/${r.id}`, "param", "name"],
    ];
    for (const [path, target, field] of cases) {
      const res = await call(path, { token: t.ownerToken });
      const problem = await json(res);
      expect(res.status, path).toBe(400);
      expect(problem.code, path).toBe("validation_failed");
      expect(problem.field, path).toBe(field);
      expect(String(problem.detail), path).toContain(`${target} field '${field}'`);
    }
  });

  it("passes the parsed parts to the route: a query flag and a declared header take effect", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "a" });
    const path = `/v1/collections/notes/records/${r.id}`;
    const fresh = await call(path, { token: t.ownerToken, headers: { "If-None-Match": `"${r.version}"` } });
    expect(fresh.status).toBe(304);
    const stale = await call(path, { token: t.ownerToken, headers: { "If-None-Match": '"999"' } });
    expect(stale.status).toBe(200);
    expect((await call(path, { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    expect((await call(path, { token: t.ownerToken })).status).toBe(404);
    const kept = await call(`${path}?include_deleted=true`, { token: t.ownerToken });
    expect(kept.status).toBe(200);
    expect((await json(kept)).id).toBe(r.id);
  });
});
